"""neural: the paper's gate sequence as label masks for supervised fine-tuning of a causal LM.

Exports are resolved lazily so that ``import neural`` (and the ``bayes-agent`` command) stays
cheap; torch and transformers load on first use of a name that needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {}
# masking: the one label rule (gates + offsets -> -100)
_EXPORTS.update({name: "masking" for name in (
    "IGNORE_INDEX", "LabelMode", "MaskAccounting", "MaskedExample", "Origin", "labels_from_offsets",
    "labels_from_origins", "mask_rendering", "mask_transcript", "supervised", "token_origins", "trains_nothing",
)})
# chat/: chat messages / tool traces -> gated transcripts -> labels; the collator
_EXPORTS.update({name: "chat.provenance" for name in (
    "DEFAULT_ROLES", "MessagePiece", "Provenance", "conversation_pieces", "message_provenance",
    "transcript_from_messages",
)})
_EXPORTS.update({name: "chat.example" for name in ("ChatExample", "ChatRendering", "mask_chat", "render_chat")})
_EXPORTS.update({name: "chat.templates" for name in (
    "CALL_SPEAKER", "CALL_SPEAKER_PREFIXES", "CHAT_TEMPLATES", "END_OF_TURN_MARKERS", "EOT_POLICIES",
    "build_chat_tokenizer",
)})
_EXPORTS["ChatCollator"] = "chat.collator"
# dag/: passive learning of active causal strategies
_EXPORTS.update({name: "dag.passive_learner" for name in (
    "BCConfig", "BCPolicy", "PassiveLearner", "train_passive_learner",
)})
_EXPORTS["run_causal_report"] = "dag.report"
# regimes/: the invariant suite's neural regimes and the exact bridge
_EXPORTS.update({"TorchMixture": "regimes.mixture_torch", "evidence_mask": "regimes.mixture_torch"})
_EXPORTS.update({name: "regimes.adapters" for name in (
    "TorchMixtureRegime", "TransformerCase", "TransformerRegime", "micro_transformer_case", "neural_regimes",
)})
_EXPORTS.update({name: "regimes.assertions" for name in ("assert_agent_tokens_inert", "assert_step_inert")})
# sft/: the §5 experiment: facts -> dialogues -> masks -> paired training -> probes -> report
_EXPORTS.update({"FACTS": "sft.facts", "HELD_OUT": "sft.facts", "Fact": "sft.facts"})
_EXPORTS.update({"Dialogue": "sft.dialogues", "make_dialogues": "sft.dialogues"})
_EXPORTS.update({"TinyModelConfig": "models", "build_tiny_model": "models",
                 "load_pretrained": "models", "train_tokenizer": "models"})
_EXPORTS.update({name: "sft.train" for name in (
    "ARMS", "DEFAULT_ARMS", "PairResult", "SavedArms", "TrainConfig", "load_checkpoint", "train_lockstep",
    "train_pair", "train_sequential",
)})
_EXPORTS.update({"ALL_ARMS": "sft.arms", "Arm": "sft.arms", "select_lr": "sft.validation"})
# devices: where a run trains, in what precision, and the record of its environment
_EXPORTS.update({name: "devices" for name in (
    "check_threads", "environment_record", "resolve_device", "resolve_precision",
)})
_EXPORTS.update({"question_margin": "sft.probes", "probe_facts": "sft.probes", "classify_reply": "sft.probes"})
_EXPORTS.update({"PRESETS": "sft.presets", "Preset": "sft.presets", "get_preset": "sft.presets"})
_EXPORTS.update({"run_experiment": "sft.experiment", "run_seeds": "sft.experiment"})
_EXPORTS.update({"load_facts": "sft.facts", "BaseConfig": "sft.base", "build_base": "sft.base",
                 "base_corpus": "sft.corpus", "whole_word_share": "sft.corpus", "run_sweep": "sft.sweep"})
_EXPORTS.update({name: "sft.stats" for name in ("ci95", "paired_ci95", "slope_ci95")})

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'neural' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
