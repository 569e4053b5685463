"""Chat messages and tool traces as gated transcripts, masked through a tokenizer's chat template.

The module is split at its seams; this name keeps every earlier import working:

* :mod:`neural.chat.provenance`: who wrote each message, the transcript, the typed pieces;
* :mod:`neural.chat.alignment`: where the template puts each message (sentinels, learned transformations);
* :mod:`neural.chat.example`: the rendering with each character's (part, gate), and its labels;
* :mod:`neural.chat.templates`: this project's chat templates and a locally built tokenizer.
"""

from __future__ import annotations

from .example import ChatExample, ChatRendering, mask_chat, render_chat
from .provenance import DEFAULT_ROLES, Provenance, message_provenance, transcript_from_messages
from .templates import (CALL_SPEAKER_PREFIXES, CHAT_TEMPLATES, END_OF_TURN_MARKERS, EOT_POLICIES,
                        build_chat_tokenizer)

__all__ = [
    "CALL_SPEAKER_PREFIXES",
    "CHAT_TEMPLATES",
    "DEFAULT_ROLES",
    "END_OF_TURN_MARKERS",
    "EOT_POLICIES",
    "ChatExample",
    "ChatRendering",
    "Provenance",
    "build_chat_tokenizer",
    "mask_chat",
    "message_provenance",
    "render_chat",
    "transcript_from_messages",
]
