"""neural: the paper's gate sequence as label masks for supervised fine-tuning of a causal LM.

Exports are resolved lazily so that ``import neural`` (and the ``bayes-agent`` command) stays
cheap; torch and transformers load on first use of a name that needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {}
# chat messages / tool traces -> gated transcripts -> labels; the collator (issue 6)
_EXPORTS.update({name: "chat" for name in (
    "CHAT_TEMPLATES", "DEFAULT_ROLES", "ChatExample", "ChatRendering", "Provenance",
    "build_chat_tokenizer", "mask_chat", "message_provenance", "render_chat",
    "transcript_from_messages",
)})
_EXPORTS["ChatCollator"] = "collator"
# passive learning of active causal strategies (issue 7)
_EXPORTS.update({name: "passive_learner" for name in (
    "BCConfig", "BCPolicy", "PassiveLearner", "train_passive_learner",
)})
_EXPORTS["run_causal_report"] = "causal_report"
# the invariant suite's neural regimes and the exact bridge (issue 4)
_EXPORTS.update({"TorchMixture": "mixture_torch", "evidence_mask": "mixture_torch"})
_EXPORTS.update({name: "regimes" for name in (
    "TorchMixtureRegime", "TransformerCase", "TransformerRegime", "micro_transformer_case", "neural_regimes",
)})
_EXPORTS.update({name: "assertions" for name in ("assert_agent_tokens_inert", "assert_step_inert")})
# the §5 experiment: facts -> dialogues -> masks -> paired training -> probes -> report (issue 3)
_EXPORTS.update({"FACTS": "facts", "HELD_OUT": "facts", "Fact": "facts"})
_EXPORTS.update({"Dialogue": "dialogues", "make_dialogues": "dialogues"})
_EXPORTS.update({"TinyModelConfig": "models", "build_tiny_model": "models",
                 "load_pretrained": "models", "train_tokenizer": "models"})
_EXPORTS.update({"TrainConfig": "train", "train_pair": "train", "load_checkpoint": "train"})
_EXPORTS.update({"question_margin": "probes", "probe_facts": "probes", "classify_reply": "probes"})
_EXPORTS.update({"PRESETS": "presets", "Preset": "presets", "get_preset": "presets"})
_EXPORTS.update({"run_experiment": "experiment", "run_seeds": "experiment"})

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'neural' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
