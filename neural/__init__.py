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

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'neural' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
