"""Chat and tool-use data: messages → gated transcripts → interventional labels.

Roles become gates (assistant turns and tool calls: the agent; user, system and tool results:
the world); the HF/TRL collator turns the same masks into ``labels`` for a Trainer.
"""

from .messages import (CHAT_TEMPLATES, DEFAULT_ROLES, ChatExample, ChatRendering, Provenance,
                       build_chat_tokenizer, mask_chat, message_provenance, render_chat,
                       transcript_from_messages)
from .collator import ChatCollator

__all__ = sorted([
    "CHAT_TEMPLATES", "DEFAULT_ROLES", "ChatCollator", "ChatExample", "ChatRendering", "Provenance",
    "build_chat_tokenizer", "mask_chat", "message_provenance", "render_chat",
    "transcript_from_messages",
])
