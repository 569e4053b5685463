"""A conversation rendered by its chat template, with each character's (part, gate), and its labels.

:func:`render_chat` renders through the tokenizer's own ``apply_chat_template``, asks
:mod:`neural.chat.alignment` where the template put each message and call, and gives every
stretch the (part, gate) and slot that :func:`neural.chat.provenance.conversation_pieces` assigned
it, in one pass over the same pieces the transcript is built from. Around them:

* **the frame**: all template text before the first agent or world text (BOS, system turns, a
  default system prompt or date header the template injects, the first header) is context;
* **tool definitions** (``tools=``) are context; when a template spreads them over several
  places, the text from the first to the last changed character is context, message text inside
  it keeping its own part;
* **end of turn**: under ``eot="agent"`` (the default) the marker right after an assistant
  message (``<|im_end|>``, ``<|eot_id|>``, the tokenizer's EOS, ...) carries that message's gate,
  since the agent emits it at inference; ``eot="protocol"`` leaves it protocol;
* **everything else is protocol**: role headers, world turns' end markers, separators, a call
  speaker. Protocol is supervised in the observational and interventional arms alike (paper
  §5.3) and not at all in the assistant-only arm.

Labels come from :func:`neural.masking.mask_rendering` (the one masking rule).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from bayes_agent.errors import InvalidArgument
from bayes_agent.transcript import Gate, Part, Rendering, Span, Transcript

from ..masking import IGNORE_INDEX, LabelMode, MaskedExample, mask_rendering
from .alignment import apply_template, clean_messages, inserted_region, locate_contents, locate_tool_calls
from .provenance import Provenance, check_unicode, conversation_pieces, is_agent_role
from .templates import check_eot, eot_markers

__all__ = ["ChatExample", "ChatRendering", "mask_chat", "render_chat"]


@dataclass(frozen=True)
class ChatRendering:
    """A conversation rendered by a chat template, with spans saying who wrote each character.

    ``span_messages[k]`` is the message index of ``rendering.spans[k]`` (``None`` for protocol and
    tool definitions); ``provenance[i]`` is message ``i``'s provenance; ``dropped_content`` lists
    the assistant messages whose text the template left out (their calls are still there).
    """

    messages: tuple[dict, ...]
    provenance: tuple[Provenance, ...]
    transcript: Transcript
    rendering: Rendering
    span_messages: tuple[int | None, ...]
    aligned_by: str  # "probe", "sentinel" or "search" (neural.chat.alignment, step 1)
    notes: tuple[str, ...] = ()  # what a reader should know: empty turns, ignored tools, dropped text
    eot: str = "agent"  # the end-of-turn policy the spans were made with
    dropped_content: tuple[int, ...] = ()


def render_chat(
    messages: Sequence[Mapping[str, Any]],
    tokenizer: Any,
    *,
    roles: Mapping[str, Any] | None = None,
    tools: Sequence[Any] | None = None,
    chat_template: str | None = None,
    eot: str = "agent",
) -> ChatRendering:
    """Render ``messages`` with the tokenizer's chat template and type who wrote each character.

    See the module docstring. Raises :class:`InvalidArgument` naming the message when the
    rendering cannot be aligned with the messages. When the template drops an assistant's text
    beside its tool calls, the calls are still masked, the text is listed in ``dropped_content``,
    and a warning says so.
    """
    check_eot(eot)
    prov, message_pieces, transcript = conversation_pieces(messages, roles)
    clean = clean_messages(messages)
    text = apply_template(tokenizer, clean, tools, chat_template)
    # messages were checked one by one; what else reaches the text (tool definitions, the template's own)
    check_unicode("the rendered conversation", "text (from the tool definitions or the template)", text)
    agent = [is_agent_role(m["role"], roles) for m in clean]
    contents = locate_contents(tokenizer, clean, text, tools, chat_template, agent,
                               [p is Provenance.CONTEXT for p in prov])
    calls = locate_tool_calls(tokenizer, clean, text, tools, chat_template,
                              {i: e for i, (_, e, _) in contents.where.items()})
    notes: list[str] = []
    for i in contents.dropped:
        note = (f"message {i} ({clean[i]['role']}): the template drops its text "
                f"({len(clean[i]['content'])} characters) beside its tool calls; the calls are still masked")
        notes.append(note)
        warnings.warn(note, stacklevel=2)
    notes += [f"message {i} ({clean[i]['role']}): the template leaves this context out" for i in contents.dropped_context]
    for note in _special_token_text(tokenizer, clean):
        notes.append(note)
        warnings.warn(note, stacklevel=2)

    # (start, end, part, message, slot, gate): one per located piece, typed where it was made
    pieces: list[tuple[int, int, Part, int | None, int | None, Gate | None]] = []
    for pc in message_pieces:
        if pc.call is not None:
            s, e = calls[pc.message][pc.call]
        elif pc.message in contents.where:
            s, e, _ = contents.where[pc.message]
        else:
            continue
        pieces.append((s, e, pc.part, pc.message, pc.slot, pc.gate))
    for i, m in enumerate(clean):
        if agent[i] and not m["content"] and i not in calls:
            try:
                gone = apply_template(tokenizer, clean[:i] + clean[i + 1:], tools, chat_template) == text
            except InvalidArgument:  # the template cannot render the conversation without it
                gone = False
            notes.append(f"message {i} ({m['role']}): empty turn"
                         + (", and the template renders nothing for it" if gone else ""))
    tools_at = (0, 0)
    if tools:
        tools_at = inserted_region(apply_template(tokenizer, clean, None, chat_template), text)
        if tools_at[1] <= tools_at[0]:
            notes.append(f"the chat template ignores tools= ({len(tools)} tool definitions not rendered)")
    pieces.sort(key=lambda x: (x[0], x[1]))
    if eot == "agent":
        pieces = _end_of_turn_pieces(pieces, agent, text, eot_markers(tokenizer))
    # the frame: template text before the first agent or world text is context (default system
    # prompts, date headers, BOS, the first header); neither arm predicts the frame
    frame_end = next((s for s, _, part, *_ in pieces if part is Part.CONTENT), 0)
    spans: list[Span] = []
    owners: list[int | None] = []

    def scaffold(a: int, b: int) -> None:
        # template text between messages: protocol, except the frame and the tool definitions
        cuts = sorted({a, b, *(min(max(x, a), b) for x in (frame_end, *tools_at))})
        for lo, hi in zip(cuts, cuts[1:]):
            context = hi <= frame_end or tools_at[0] <= lo and hi <= tools_at[1]
            spans.append(Span(lo, hi, Part.CONTEXT if context else Part.PROTOCOL))
            owners.append(None)

    pos = 0
    for s, e, part, msg, sl, gate in pieces:
        if s < pos:
            raise InvalidArgument(
                f"cannot align the chat template's rendering: message {msg} ({clean[msg]['role']}) "
                f"overlaps the text placed before it (characters {s}..{pos})"
            )
        scaffold(pos, s)
        if e > s:
            spans.append(Span(s, e, part, sl, gate))
            owners.append(msg)
        pos = e
    scaffold(pos, len(text))
    return ChatRendering(
        tuple(clean), tuple(prov), transcript, Rendering(text, tuple(spans)), tuple(owners),
        contents.aligned_by, tuple(notes), eot, contents.dropped,
    )


def _special_token_text(tokenizer: Any, messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """A note for each message whose text spells one of the tokenizer's special tokens: it is encoded
    as that token, not as text, so the data can inject a turn boundary (``<|im_end|>`` in a user's
    text) that the conversation did not have. Masking still follows the message the text is in."""
    specials = set(getattr(tokenizer, "all_special_tokens", None) or [])
    specials |= {t.content for t in (getattr(tokenizer, "added_tokens_decoder", None) or {}).values()
                 if getattr(t, "special", False)}
    notes = []
    for i, m in enumerate(messages):
        found = sorted(t for t in specials if t and t in (m.get("content") or ""))
        if found:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            notes.append(f"message {i} ({m['role']}): its text contains {found[0]!r}{more}, which the tokenizer "
                         f"encodes as its special token, not as text (a turn boundary the data did not have); "
                         f"its labels still follow this message")
    return notes


def _end_of_turn_pieces(pieces: list, agent: list[bool], text: str, markers: list[str]) -> list:
    """``pieces`` plus, after each assistant message's last piece, its end-of-turn marker.

    The marker must follow the message's text directly (whitespace allowed between, which stays
    protocol); it carries that message's part, slot and gate, so a demonstration's marker is
    world-written like the demonstration itself.
    """
    out = list(pieces)
    for k, (s, e, part, msg, sl, gate) in enumerate(pieces):
        last_of_message = k + 1 == len(pieces) or pieces[k + 1][3] != msg
        if part is not Part.CONTENT or not last_of_message or not agent[msg]:
            continue
        limit = pieces[k + 1][0] if k + 1 < len(pieces) else len(text)
        at = e
        while at < limit and text[at].isspace():
            at += 1
        marker = next((x for x in markers if text.startswith(x, at) and at + len(x) <= limit), None)
        if marker:
            out.append((at, at + len(marker), part, msg, sl, gate))
    out.sort(key=lambda x: (x[0], x[1]))
    return out


# ---------------------------------------------------------------------------------------------
# masking
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatExample:
    """A masked conversation: the rendering, the tokens, and the labels of every mode."""

    chat: ChatRendering
    masked: MaskedExample

    @property
    def input_ids(self) -> list[int]:
        return self.masked.input_ids

    def labels(self, mode: LabelMode | str) -> list[int]:
        """Labels for ``mode`` (observational, interventional or assistant_only); -100 = no loss."""
        return self.masked.labels[LabelMode.of(mode)]

    def features(self, mode: LabelMode | str, *, with_mode: bool = False) -> dict[str, Any]:
        """``{"input_ids", "labels", "attention_mask"}`` for one mode: a collator/Trainer feature,
        as before, so any collator takes it. ``with_mode=True`` adds ``"label_mode"`` (the mode's
        name), which lets :class:`~neural.chat.collator.ChatCollator` refuse labels made for another
        mode than its own (a string field other collators cannot pad: use it with ours)."""
        out: dict[str, Any] = {
            "input_ids": list(self.input_ids),
            "labels": list(self.labels(mode)),
            "attention_mask": [1] * len(self.input_ids),
        }
        if with_mode:
            out["label_mode"] = LabelMode.of(mode).value
        return out

    def _first_spans(self) -> list[tuple[Span | None, int | None]]:
        """For each token, the span and message index of its first character."""
        owner: list[tuple[Span | None, int | None]] = [(None, None)] * len(self.chat.rendering.text)
        for sp, msg in zip(self.chat.rendering.spans, self.chat.span_messages):
            for c in range(sp.start, sp.end):
                owner[c] = (sp, msg)
        return [owner[s] if e > s else (None, None) for s, e in self.masked.offsets]

    def token_messages(self) -> list[int | None]:
        """For each token, the message whose text holds its first character (None: template text)."""
        return [msg for _, msg in self._first_spans()]

    def message_table(self) -> list[dict[str, Any]]:
        """One row per message, then the template's own text: tokens supervised in each mode.

        Template text is split into protocol (headers, separators, end-of-turn markers under
        ``eot="protocol"``; role ``(template)``) and context (role ``(context)``: the frame before
        the first turn, such as a default system prompt or a date header, and tool definitions).
        """
        def row(message: int | None, role: str, provenance: str) -> dict[str, Any]:
            return {"message": message, "role": role, "provenance": provenance, "tokens": 0,
                    **{mode.value: 0 for mode in LabelMode}}

        rows = [row(i, m["role"], p.value)
                for i, (m, p) in enumerate(zip(self.chat.messages, self.chat.provenance))]
        scaffold, tools = row(None, "(template)", "protocol"), row(None, "(context)", "context")
        for t, (span, msg) in enumerate(self._first_spans()):
            if msg is not None:
                target = rows[msg]
            else:
                target = tools if span is not None and span.part is Part.CONTEXT else scaffold
            target["tokens"] += 1
            for mode in LabelMode:
                target[mode.value] += self.masked.labels[mode][t] != IGNORE_INDEX
        return rows + [scaffold] + ([tools] if tools["tokens"] else [])


def mask_chat(
    messages: Sequence[Mapping[str, Any]],
    tokenizer: Any,
    *,
    roles: Mapping[str, Any] | None = None,
    tools: Sequence[Any] | None = None,
    chat_template: str | None = None,
    max_length: int | None = None,
    eot: str = "agent",
) -> ChatExample:
    """Render, tokenize once, and label every token in every mode (see :func:`render_chat`).

    With ``max_length`` the tokens are cut at the end and the labels with them (alignment kept);
    ``example.masked.truncated_tokens`` says how many were dropped. ``eot`` is the end-of-turn
    policy of :func:`render_chat`.
    """
    chat = render_chat(messages, tokenizer, roles=roles, tools=tools, chat_template=chat_template, eot=eot)
    return ChatExample(chat, mask_rendering(chat.rendering, tokenizer, max_length=max_length))


# ---------------------------------------------------------------------------------------------
# templates and a locally built tokenizer (offline default, tests, examples)
# ---------------------------------------------------------------------------------------------
