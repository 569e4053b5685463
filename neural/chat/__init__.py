"""Chat and tool-use data: messages → gated transcripts → interventional labels.

Roles become gates (assistant turns, tool calls and legacy function calls: the agent; user turns
and tool or function results: the world; system text and what a template injects before the
first turn: context); the HF/TRL collator turns the same masks into ``labels`` for a Trainer.
"""

from .messages import (CALL_SPEAKER_PREFIXES, CHAT_TEMPLATES, DEFAULT_ROLES, END_OF_TURN_MARKERS, EOT_POLICIES,
                       ChatExample, ChatRendering, Provenance, build_chat_tokenizer, mask_chat,
                       message_provenance, render_chat, transcript_from_messages)
from .collator import ChatCollator

__all__ = sorted([
    "CALL_SPEAKER_PREFIXES", "CHAT_TEMPLATES", "DEFAULT_ROLES", "END_OF_TURN_MARKERS", "EOT_POLICIES", "ChatCollator",
    "ChatExample", "ChatRendering", "Provenance", "build_chat_tokenizer", "mask_chat",
    "message_provenance", "render_chat", "transcript_from_messages",
])
