"""Chat and tool-use data: messages → gated transcripts → interventional labels.

Roles become gates (assistant turns, tool calls and legacy function calls: the agent; user turns
and tool or function results: the world; system text and what a template injects before the
first turn: context); the HF/TRL collator turns the same masks into ``labels`` for a Trainer.
Modules: :mod:`.provenance` (who wrote what), :mod:`.alignment` (where the template put it),
:mod:`.example` (the typed rendering and its labels), :mod:`.templates`, :mod:`.collator`;
:mod:`.messages` keeps the earlier import path.
"""

from .provenance import (DEFAULT_ROLES, MessagePiece, Provenance, conversation_pieces, message_provenance,
                         transcript_from_messages)
from .templates import (CALL_SPEAKER, CALL_SPEAKER_PREFIXES, CHAT_TEMPLATES, END_OF_TURN_MARKERS, EOT_POLICIES,
                        build_chat_tokenizer)
from .example import ChatExample, ChatRendering, mask_chat, render_chat
from .collator import ChatCollator

__all__ = sorted([
    "CALL_SPEAKER", "CALL_SPEAKER_PREFIXES", "CHAT_TEMPLATES", "DEFAULT_ROLES", "END_OF_TURN_MARKERS",
    "EOT_POLICIES", "ChatCollator", "ChatExample", "ChatRendering", "MessagePiece", "Provenance",
    "build_chat_tokenizer", "conversation_pieces", "mask_chat", "message_provenance", "render_chat",
    "transcript_from_messages",
])
