"""Chat messages and tool traces as gated transcripts, masked through a tokenizer's chat template.

Provenance comes from roles (paper §3.1): the assistant's words *and its tool calls* are agent
actions (γ = 1); user turns and tool outputs are world evidence (γ = 0); the system prompt is the
context c, predicted by neither arm. A message may override its role's provenance with a
``"gate"`` or ``"provenance"`` key, so a teacher's demonstration is evidence (§3.3).

Rendering goes through the tokenizer's own ``apply_chat_template``; the character spans of each
message are recovered from the rendered text, and labels come from
:func:`neural.masking.labels_from_offsets` (the one masking rule). How spans are recovered:

1. **Contents.** The conversation is rendered a second time with every non-empty content replaced
   by a unique placeholder. If substituting the real contents back into that rendering gives the
   real rendering exactly, the placeholders' positions are the contents' positions. Otherwise the
   scaffolding between placeholders is matched in the real rendering in order, and each gap must
   be the content or the content with its surrounding whitespace stripped (templates that
   ``trim``). Failing both (a template that inspects content), each content is searched for in
   the real rendering in message order, forward from the end of the previous one, verbatim and
   then stripped. A template that drops a message, renders messages out of order, or rewrites a
   content beyond recognition raises an error naming the message.
2. **Tool calls.** An assistant message's tool calls (then a legacy ``function_call``, the same
   act in OpenAI's older form) are located by rendering the conversation with that message's
   first ``j - 1`` and first ``j`` calls: the text the template adds for call ``j``, without the
   whitespace around it (separators are protocol), is the call's content and carries the
   message's gate; wrappers such as ``<tool_call>`` are included, since at generation time the
   agent emits them, but a speaker prefix no one emits (:data:`CALL_SPEAKER_PREFIXES`, the plain
   format's ``Agent tool call: ``) is protocol. A call the template does not render is an error,
   never dropped silently.
3. **Tool definitions** (``tools=``) are located the same way (rendering with and without them)
   and are context: they frame the dialogue like a system prompt. When a template spreads them
   over several places (say a system line and the first user turn), the template text from the
   first to the last changed character is context, message text inside it keeping its own part.
   So is **the frame**: all template text before the first agent or world text (BOS, system
   turns, a default system prompt or a date header the template injects, the first header).
4. **End of turn.** Under ``eot="agent"`` (the default) the end-of-turn marker right after an
   assistant message (``<|im_end|>``, ``<|eot_id|>``, the tokenizer's EOS, ...) carries that
   message's gate: the agent emits it at inference. ``eot="protocol"`` leaves it protocol.
5. **Everything else is protocol**: role headers, end-of-turn markers of world turns, separators.
   Protocol is supervised in the observational and interventional arms alike (paper §5.3,
   "role-aware tokenization") and not at all in the assistant-only arm.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterable, Mapping, Sequence

from bayes_agent.errors import InvalidArgument
from bayes_agent.transcript import Channel, Gate, Part, Rendering, Slot, Span, Transcript

from ..masking import IGNORE_INDEX, LabelMode, MaskedExample, mask_rendering

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


class Provenance(str, Enum):
    """Who wrote a message: the agent (γ = 1), the world (γ = 0), or the framing context."""

    AGENT = "agent"
    WORLD = "world"
    CONTEXT = "context"

    @property
    def gate(self) -> Gate | None:
        """The slot gate, or ``None`` for context (which is not a slot)."""
        return {Provenance.AGENT: Gate.AGENT, Provenance.WORLD: Gate.WORLD}.get(self)

    @classmethod
    def of(cls, value: Any) -> "Provenance":
        """Accept ``"agent"``/``"world"``/``"context"``, a :class:`Gate`, or 0/1."""
        if isinstance(value, Provenance):
            return value
        if isinstance(value, str) and value.strip().lower() == "context":
            return cls.CONTEXT
        try:
            gate = Gate.of(value)
        except InvalidArgument:
            raise InvalidArgument(
                f"provenance must be 'agent' (1), 'world' (0) or 'context', got {value!r}"
            ) from None
        return cls.AGENT if gate is Gate.AGENT else cls.WORLD


DEFAULT_ROLES: dict[str, Provenance] = {
    "assistant": Provenance.AGENT,
    "user": Provenance.WORLD,
    "tool": Provenance.WORLD,
    "function": Provenance.WORLD,
    "ipython": Provenance.WORLD,
    "environment": Provenance.WORLD,
    "system": Provenance.CONTEXT,
    "developer": Provenance.CONTEXT,
}
"""Role → provenance. Override any entry (or add roles) with the ``roles=`` argument."""


def _role_map(roles: Mapping[str, Any] | None) -> dict[str, Provenance]:
    table = dict(DEFAULT_ROLES)
    for role, value in (roles or {}).items():
        table[str(role)] = Provenance.of(value)
    return table


def _where(index: int, message: Any) -> str:
    role = message.get("role") if isinstance(message, dict) else None
    return f"message {index}" + (f" ({role})" if isinstance(role, str) else "")


def _check_call(where: str, what: str, fn: Any) -> None:
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise InvalidArgument(
            f"{where}: {what} needs a function name "
            f'(OpenAI form {{"type": "function", "function": {{"name": ..., "arguments": ...}}}})'
        )
    args = fn.get("arguments", {})
    if not isinstance(args, (str, dict)):
        raise InvalidArgument(
            f"{where}: {what} arguments must be a JSON string or an object, got {type(args).__name__}"
        )


def _check_tool_calls(index: int, message: dict) -> list[dict]:
    """The message's calls in order: its ``tool_calls``, then a legacy ``function_call``.

    The legacy OpenAI form (``{"function_call": {"name", "arguments"}}`` answered by a
    ``"function"`` role message) is the same act as a tool call, so it is one more call here.
    """
    calls = message.get("tool_calls")
    legacy = message.get("function_call")
    if calls is None and legacy is None:
        return []
    where = _where(index, message)
    if calls is not None and not isinstance(calls, list):
        raise InvalidArgument(f"{where}: tool_calls must be a list, got {type(calls).__name__}")
    for j, call in enumerate(calls or []):
        _check_call(where, f"tool call {j}", call.get("function", call) if isinstance(call, dict) else None)
    out = list(calls or [])
    if legacy is not None:
        _check_call(where, "function_call", legacy)
        out.append({"type": "function", "function": legacy})
    return out


def _content(index: int, message: dict) -> str:
    """The message's text; ``None`` is allowed (as ``""``) only beside tool calls or a function_call."""
    content = message.get("content")
    if content is None and (message.get("tool_calls") or message.get("function_call")):
        return ""
    if not isinstance(content, str):
        kind = "missing" if content is None else type(content).__name__
        raise InvalidArgument(
            f"{_where(index, message)}: content must be a string, got {kind}"
            + (" (join the text parts into one string first)" if isinstance(content, list) else "")
        )
    return content


def message_provenance(
    messages: Sequence[Mapping[str, Any]], roles: Mapping[str, Any] | None = None
) -> list[Provenance]:
    """Validate a conversation and say who wrote each message.

    The role decides (see :data:`DEFAULT_ROLES`, overridable with ``roles``), unless the message
    carries its own ``"gate"`` (0/1/"agent"/"world") or ``"provenance"`` key; an unknown role is
    an error unless mapped. A conversation must have at least one agent or world message.
    """
    if not isinstance(messages, (list, tuple)):
        raise InvalidArgument(f"a conversation is a list of messages, got {type(messages).__name__}")
    if not messages:
        raise InvalidArgument("empty conversation: there are no messages")
    table = _role_map(roles)
    out: list[Provenance] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise InvalidArgument(f"message {i} must be an object, got {type(m).__name__}")
        role = m.get("role")
        if not isinstance(role, str):
            raise InvalidArgument(f"message {i} has no string 'role' (got {role!r})")
        _content(i, m)
        _check_tool_calls(i, m)
        own = [Provenance.of(m[k]) for k in ("gate", "provenance") if k in m]
        if len(set(own)) > 1:
            raise InvalidArgument(
                f"{_where(i, m)}: 'gate' and 'provenance' disagree ({m['gate']!r} vs {m['provenance']!r})"
            )
        if own:
            out.append(own[0])
        elif role in table:
            out.append(table[role])
        else:
            raise InvalidArgument(
                f"{_where(i, m)}: unknown role {role!r}; map it with roles={{{role!r}: 'agent' | "
                f"'world' | 'context'}} (known roles: {', '.join(sorted(table))})"
            )
    if all(p is Provenance.CONTEXT for p in out):
        raise InvalidArgument("the conversation has only context (system) messages: nothing to learn")
    return out


def _call_text(call: dict) -> str:
    fn = call.get("function", call)
    args = fn.get("arguments", {})
    if not isinstance(args, str):
        args = json.dumps(args, ensure_ascii=False, sort_keys=True)
    return f"{fn['name']}({args})"


def _action_role(role: str, roles: Mapping[str, Any] | None) -> bool:
    return _role_map(roles).get(role) is Provenance.AGENT


def transcript_from_messages(
    messages: Sequence[Mapping[str, Any]], roles: Mapping[str, Any] | None = None
) -> Transcript:
    """The conversation as a :class:`Transcript`: context from system text, one slot per turn.

    An assistant message gives one slot for its text (when non-empty) and one per tool call, all
    with the message's gate, as in the paper's six-slot invoice dialogue. A message whose role is
    an agent role but whose provenance is world (a demonstration) keeps the ACTION channel.
    """
    prov = message_provenance(messages, roles)
    context = [_content(i, m) for i, (m, p) in enumerate(zip(messages, prov)) if p is Provenance.CONTEXT]
    slots: list[Slot] = []
    for i, (m, p) in enumerate(zip(messages, prov)):
        if p is Provenance.CONTEXT:
            continue
        gate = p.gate
        channel = Channel.ACTION if _action_role(m["role"], roles) else Channel.default_for(gate)
        text = _content(i, m)
        calls = _check_tool_calls(i, m)
        if text or not calls:
            slots.append(Slot(text, gate, channel, m["role"]))
        for call in calls:
            slots.append(Slot(_call_text(call), gate, Channel.ACTION, f"{m['role']} tool call"))
    return Transcript(tuple(slots), "\n\n".join(context) if context else None)


# ---------------------------------------------------------------------------------------------
# rendering through a chat template
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatRendering:
    """A conversation rendered by a chat template, with spans saying who wrote each character.

    ``span_messages[k]`` is the message index of ``rendering.spans[k]`` (``None`` for protocol and
    tool definitions); ``provenance[i]`` is message ``i``'s provenance.
    """

    messages: tuple[dict, ...]
    provenance: tuple[Provenance, ...]
    transcript: Transcript
    rendering: Rendering
    span_messages: tuple[int | None, ...]
    aligned_by: str  # "placeholders", "scaffold" or "search" (module docstring, step 1)
    notes: tuple[str, ...] = ()  # what a reader should know: empty turns, ignored tools
    eot: str = "agent"  # the end-of-turn policy the spans were made with


def _clean(messages: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Copies for the template: our own keys removed, ``content: None`` passed as ``""``."""
    out = []
    for m in messages:
        d = {k: v for k, v in m.items() if k not in ("gate", "provenance")}
        if d.get("content") is None:
            d["content"] = ""
        out.append(d)
    return out


def _apply(tokenizer: Any, messages: list[dict], tools: Any, chat_template: str | None) -> str:
    if chat_template is None and not getattr(tokenizer, "chat_template", None):
        raise InvalidArgument(
            "the tokenizer has no chat template; pass chat_template= (e.g. one of "
            f"{sorted(CHAT_TEMPLATES)} from neural.chat.messages.CHAT_TEMPLATES)"
        )
    kwargs: dict[str, Any] = {"tokenize": False}
    if tools:
        kwargs["tools"] = tools
    if chat_template is not None:
        kwargs["chat_template"] = chat_template
    try:
        text = tokenizer.apply_chat_template(messages, **kwargs)
    except InvalidArgument:
        raise
    except Exception as exc:  # jinja errors, template exceptions raised by the template itself
        raise InvalidArgument(
            f"the chat template failed to render the conversation ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(text, str):
        raise InvalidArgument(f"apply_chat_template(tokenize=False) returned {type(text).__name__}, not text")
    return text


def _inserted(short: str, long: str, lo: int = 0) -> tuple[int, int]:
    """The region of ``long`` that is not shared with ``short``.

    When ``long`` is ``short`` with text inserted and the insertion point is ambiguous (the
    inserted text begins or ends like its neighbours), the earliest point at or after ``lo`` wins.
    """
    limit = min(len(short), len(long))
    p = 0
    while p < limit and short[p] == long[p]:
        p += 1
    s = 0
    while s < limit and short[len(short) - 1 - s] == long[len(long) - 1 - s]:
        s += 1
    grow = len(long) - len(short)
    first = len(short) - s  # earliest insertion point consistent with the common suffix
    if grow > 0 and first <= p:  # a pure insertion at any point in [first, p]
        k = min(max(first, lo), p)
        return k, k + grow
    s = min(s, limit - p)  # a replacement: everything between the shared ends
    return p, len(long) - s


_PLACEHOLDER = "\ue000{}\ue001"


def _locate_by_placeholders(
    tokenizer: Any, clean: list[dict], text: str, tools: Any, chat_template: str | None
) -> tuple[dict[int, tuple[int, int]], str] | None:
    """Contents' positions from a rendering with placeholders, or None when that cannot work.

    Exact first: the scaffolding between placeholders plus the real contents must give ``text``.
    Else the scaffolding pieces are matched in ``text`` in order, and the text between two of
    them must be the content or the content with its surrounding whitespace stripped (``trim``).
    """
    marked = [dict(m) for m in clean]
    order = [i for i, m in enumerate(clean) if m["content"]]
    for i in order:
        marked[i]["content"] = _PLACEHOLDER.format(i)
    try:
        ph_text = _apply(tokenizer, marked, tools, chat_template)
    except InvalidArgument:
        return None
    scaffold: list[str] = []
    cursor, previous = 0, None
    for i in order:
        mark = _PLACEHOLDER.format(i)
        if mark not in ph_text:
            raise InvalidArgument(
                f"cannot align the chat template's rendering with message {i} ({clean[i]['role']}): "
                f"the template does not render its content at all"
            )
        at = ph_text.find(mark, cursor)
        if at < 0 and ph_text.count(mark) == 1:
            raise InvalidArgument(
                f"cannot align the chat template's rendering with message {i} ({clean[i]['role']}): "
                f"the template renders it before message {previous}"
            )
        if at < 0 or ph_text.count(mark) != 1:
            return None
        previous = i
        scaffold.append(ph_text[cursor:at])
        cursor = at + len(mark)
    scaffold.append(ph_text[cursor:])
    # exact reconstruction
    where: dict[int, tuple[int, int]] = {}
    pieces, pos = [scaffold[0]], len(scaffold[0])
    for k, i in enumerate(order):
        content = clean[i]["content"]
        where[i] = (pos, pos + len(content))
        pieces += [content, scaffold[k + 1]]
        pos += len(content) + len(scaffold[k + 1])
    if "".join(pieces) == text:
        return where, "placeholders"
    # scaffolding matched in order; each gap must be the (possibly trimmed) content
    if not text.startswith(scaffold[0]) or not text.endswith(scaffold[-1]):
        return None
    where, pos = {}, len(scaffold[0])
    for k, i in enumerate(order):
        last = k + 1 == len(order)
        nxt = len(text) - len(scaffold[-1]) if last else text.find(scaffold[k + 1], pos)
        if nxt < pos or not scaffold[k + 1] and not last:
            return None
        content = clean[i]["content"]
        gap = text[pos:nxt]
        if gap not in (content, content.strip()):
            return None
        where[i] = (pos, nxt)
        pos = nxt + len(scaffold[k + 1])
    return where, "scaffold"


def _locate_by_search(clean: list[dict], text: str) -> dict[int, tuple[int, int]]:
    where: dict[int, tuple[int, int]] = {}
    cursor = 0
    for i, m in enumerate(clean):
        content = m["content"]
        if not content:
            continue
        for needle in (content, content.strip()):
            at = text.find(needle, cursor) if needle else -1
            if at >= 0:
                where[i] = (at, at + len(needle))
                cursor = at + len(needle)
                break
        else:
            preview = content if len(content) <= 40 else content[:37] + "..."
            raise InvalidArgument(
                f"cannot align the chat template's rendering with message {i} ({m['role']}): its "
                f"content {preview!r} does not occur in the rendered text after character {cursor} "
                f"(the template drops, reorders or rewrites it)"
            )
    return where


def _with_calls(message: dict, k: int) -> dict:
    """A copy of ``message`` keeping only its first ``k`` calls (tool_calls first, then function_call)."""
    out = dict(message)
    n_tool = len(message.get("tool_calls") or [])
    if min(k, n_tool):
        out["tool_calls"] = list(message["tool_calls"][: min(k, n_tool)])
    else:
        out.pop("tool_calls", None)
    if k <= n_tool:
        out.pop("function_call", None)
    return out


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without surrounding whitespace: separators are protocol, not the call."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _locate_tool_calls(
    tokenizer: Any,
    clean: list[dict],
    text: str,
    tools: Any,
    chat_template: str | None,
    contents: dict[int, tuple[int, int]],
) -> dict[int, list[tuple[int, int]]]:
    regions: dict[int, list[tuple[int, int]]] = {}
    for i, m in enumerate(clean):
        n = len(_check_tool_calls(i, m))
        if not n:
            continue
        renders = []
        for j in range(n + 1):
            variant = [dict(x) for x in clean]
            variant[i] = _with_calls(m, j)
            renders.append(_apply(tokenizer, variant, tools, chat_template))
        found: list[tuple[int, int]] = []
        for j in range(1, n + 1):
            what = "the function_call" if j > len(m.get("tool_calls") or []) else f"tool call {j - 1}"
            lo = found[-1][1] if found else contents.get(i, (0, 0))[1]
            if renders[j] == renders[j - 1]:
                raise InvalidArgument(
                    f"cannot align {what} of message {i} ({m['role']}): the template does not "
                    f"render it at all (it would be dropped from training silently)"
                )
            start, end = _inserted(renders[j - 1], renders[j], lo)
            if end <= start or not text.startswith(renders[j][:end]):
                raise InvalidArgument(
                    f"cannot align {what} of message {i} ({m['role']}): the template does not "
                    f"render it as text added after the earlier calls"
                )
            found.append(_without_speaker_prefix(renders[j], *_strip(renders[j], start, end)))
        regions[i] = found
    return regions


CALL_SPEAKER_PREFIXES = ("Agent tool call: ",)
"""Speaker prefixes a template writes before a tool call (the paper's plain format, §3.1).

Protocol, like ``Agent:`` before a message (paper §5.3): no speaker emits them at inference, and
:func:`bayes_agent.transcript.render` treats the same prefix as protocol. The agent's action is the
call after it, ``name(arguments)``. Wrappers that the agent does emit, such as ChatML's
``<tool_call>``, are not prefixes of this kind and stay with the call.
"""


def _without_speaker_prefix(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without a leading :data:`CALL_SPEAKER_PREFIXES` entry (left to protocol)."""
    for prefix in CALL_SPEAKER_PREFIXES:
        if text.startswith(prefix, start) and start + len(prefix) < end:
            return _strip(text, start + len(prefix), end)
    return start, end


EOT_POLICIES = ("agent", "protocol")
"""Who owns the end-of-turn marker closing an assistant message (see :func:`render_chat`)."""

END_OF_TURN_MARKERS = ("<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<end_of_turn>", "</s>")
"""Marker strings that close a turn in widely used templates; the tokenizer's EOS token is added."""


def _eot_markers(tokenizer: Any) -> list[str]:
    eos = getattr(tokenizer, "eos_token", None)
    markers = list(END_OF_TURN_MARKERS) + ([eos] if isinstance(eos, str) and eos.strip() else [])
    return sorted(set(markers), key=len, reverse=True)


def _check_eot(eot: str) -> str:
    if eot not in EOT_POLICIES:
        raise InvalidArgument(f"eot must be one of {list(EOT_POLICIES)}, got {eot!r}")
    return eot


def render_chat(
    messages: Sequence[Mapping[str, Any]],
    tokenizer: Any,
    *,
    roles: Mapping[str, Any] | None = None,
    tools: Sequence[Any] | None = None,
    chat_template: str | None = None,
    eot: str = "agent",
) -> ChatRendering:
    """Render ``messages`` with the tokenizer's chat template and recover who wrote each character.

    See the module docstring for the rule. ``eot="agent"`` (default) gives the end-of-turn marker
    that closes an assistant message (``<|im_end|>``, ``<|eot_id|>``, the EOS token) that
    message's gate, since the agent emits it at inference like its ``<tool_call>`` wrappers;
    ``eot="protocol"`` leaves it protocol. Raises :class:`InvalidArgument` naming the message
    when the rendering cannot be aligned with the messages.
    """
    _check_eot(eot)
    prov = message_provenance(messages, roles)
    transcript = transcript_from_messages(messages, roles)
    clean = _clean(messages)
    text = _apply(tokenizer, clean, tools, chat_template)
    found = _locate_by_placeholders(tokenizer, clean, text, tools, chat_template)
    if found is not None:
        where, aligned_by = found
    else:
        where, aligned_by = _locate_by_search(clean, text), "search"
    calls = _locate_tool_calls(tokenizer, clean, text, tools, chat_template, where)
    notes: list[str] = []

    # (start, end, part, message, slot, gate)
    pieces: list[tuple[int, int, Part, int | None, int | None, Gate | None]] = []
    slot = 0
    for i, (m, p) in enumerate(zip(clean, prov)):
        part = Part.CONTEXT if p is Provenance.CONTEXT else Part.CONTENT
        own_calls = calls.get(i, [])
        if i in where:
            s, e = where[i]
            pieces.append((s, e, part, i, None if part is Part.CONTEXT else slot, p.gate))
        if part is Part.CONTENT and (m["content"] or not own_calls):
            slot += 1
        for s, e in own_calls:
            pieces.append((s, e, part, i, None if part is Part.CONTEXT else slot, p.gate))
            if part is Part.CONTENT:
                slot += 1
        if _action_role(m["role"], roles) and not m["content"] and not own_calls:
            try:
                gone = _apply(tokenizer, clean[:i] + clean[i + 1:], tools, chat_template) == text
            except InvalidArgument:  # the template cannot render the conversation without it
                gone = False
            notes.append(f"message {i} ({m['role']}): empty turn"
                         + (", and the template renders nothing for it" if gone else ""))
    tools_at = (0, 0)
    if tools:
        tools_at = _inserted(_apply(tokenizer, clean, None, chat_template), text)
        if tools_at[1] <= tools_at[0]:
            notes.append(f"the chat template ignores tools= ({len(tools)} tool definitions not rendered)")
    pieces.sort(key=lambda x: (x[0], x[1]))
    if eot == "agent":
        pieces = _end_of_turn_pieces(pieces, clean, roles, text, _eot_markers(tokenizer))
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
        tuple(clean), tuple(prov), transcript, Rendering(text, tuple(spans)), tuple(owners), aligned_by,
        tuple(notes), eot,
    )


def _end_of_turn_pieces(pieces: list, clean: list[dict], roles: Mapping[str, Any] | None, text: str,
                        markers: list[str]) -> list:
    """``pieces`` plus, after each assistant message's last piece, its end-of-turn marker.

    The marker must follow the message's text directly (whitespace allowed between, which stays
    protocol); it carries that message's part, slot and gate, so a demonstration's marker is
    world-written like the demonstration itself.
    """
    out = list(pieces)
    for k, (s, e, part, msg, sl, gate) in enumerate(pieces):
        last_of_message = k + 1 == len(pieces) or pieces[k + 1][3] != msg
        if part is not Part.CONTENT or not last_of_message or not _action_role(clean[msg]["role"], roles):
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

    def features(self, mode: LabelMode | str) -> dict[str, list[int]]:
        """``{"input_ids", "labels", "attention_mask"}`` for one mode: a collator/Trainer feature."""
        return {
            "input_ids": list(self.input_ids),
            "labels": list(self.labels(mode)),
            "attention_mask": [1] * len(self.input_ids),
        }

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

_NL = "{{ '\\n' }}"  # newlines as expressions: HF renders templates with trim_blocks/lstrip_blocks

# tool calls, then a legacy OpenAI function_call (rendered the same way: it is the same act)
_CALLS = "(message.tool_calls or []) + ([message.function_call] if message.function_call else [])"

_TOOL_CALL_JSON = (
    "{% set fn = call.function if call.function is defined else call %}"
    '{"name": "{{ fn.name }}", "arguments": '
    "{% if fn.arguments is string %}{{ fn.arguments }}{% else %}{{ fn.arguments | tojson }}{% endif %}}"
)

CHAT_TEMPLATES: dict[str, str] = {
    # the paper's format: context paragraph, then "User: ..." / "Agent: ..." turns
    "plain": (
        "{% for message in messages %}"
        "{% if message.role == 'system' %}{{ message.content }}" + _NL * 2 + ""
        "{% elif message.role == 'assistant' %}"
        "{% if message.content %}Agent: {{ message.content }}" + _NL * 2 + "{% endif %}"
        "{% for call in " + _CALLS + " %}"
        "{% set fn = call.function if call.function is defined else call %}"
        + CALL_SPEAKER_PREFIXES[0] + "{{ fn.name }}("
        "{% if fn.arguments is string %}{{ fn.arguments }}{% else %}{{ fn.arguments | tojson }}{% endif %})"
        + _NL * 2 + "{% endfor %}"
        "{% elif message.role == 'user' %}User: {{ message.content }}" + _NL * 2 + ""
        "{% else %}Tool: {{ message.content }}" + _NL * 2 + ""
        "{% endif %}"
        "{% endfor %}"
    ),
    # ChatML, as used by Qwen: <|im_start|>role\n ... <|im_end|>\n
    "chatml": (
        "{% if tools %}<|im_start|>system" + _NL + "# Tools"
        "{% for tool in tools %}" + _NL + "{{ tool | tojson }}{% endfor %}<|im_end|>" + _NL + "{% endif %}"
        "{% for message in messages %}"
        "<|im_start|>{{ message.role }}" + _NL + "{{ message.content }}"
        "{% for call in " + _CALLS + " %}" + _NL + "<tool_call>" + _NL + _TOOL_CALL_JSON
        + _NL + "</tool_call>{% endfor %}"
        "<|im_end|>" + _NL + ""
        "{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant" + _NL + "{% endif %}"
    ),
    # Llama-3 style: BOS, header ids, trimmed content, <|eot_id|>
    "llama3": (
        "{{ bos_token }}"
        "{% for message in messages %}"
        "<|start_header_id|>{{ message.role }}<|end_header_id|>" + _NL * 2 + "{{ message.content | trim }}"
        "{% for call in " + _CALLS + " %}" + _TOOL_CALL_JSON + "{% endfor %}"
        "<|eot_id|>"
        "{% endfor %}"
        "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>" + _NL * 2 + "{% endif %}"
    ),
}
"""Chat templates written for this project (jinja, rendered by ``apply_chat_template``)."""

_SPECIALS: dict[str, dict[str, Any]] = {
    "plain": {"specials": ["<|endoftext|>"], "eos": "<|endoftext|>", "bos": None},
    "chatml": {"specials": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], "eos": "<|im_end|>", "bos": None},
    "llama3": {
        "specials": ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
        "eos": "<|eot_id|>",
        "bos": "<|begin_of_text|>",
    },
}

_BUILTIN_CORPUS = (
    "User: My invoice has two charges for April. Please fix it.\n\n"
    "Agent: I will inspect the invoice and payment records.\n\n"
    'Agent tool call: lookup_invoice({"invoice_id": "INV-042"})\n\n'
    "Tool: two April charges found; one is duplicate.\n\n"
    'Agent tool call: refund_duplicate_charge({"invoice_id": "INV-042"})\n\n'
    "Tool: refund queued; confirmation code R-91.\n\n"
    "User: Thanks -- please send me the confirmation.\n\n"
    "system user assistant tool The the a an is of to and in that it you I we for on with as"
)


def build_chat_tokenizer(
    template: str = "plain", corpus: Iterable[str] | None = None, vocab_size: int = 400
) -> Any:
    """A small byte-level BPE tokenizer trained locally, with a chat template and its special tokens.

    ``template`` names one of :data:`CHAT_TEMPLATES`. Byte-level, so it encodes any text; offsets are
    not trimmed, so tokens tile the text (what the masking rule needs). Deterministic for the same
    corpus, and trained on a built-in paragraph when ``corpus`` is None: no download anywhere.
    """
    if template not in CHAT_TEMPLATES:
        raise InvalidArgument(f"unknown chat template {template!r}; choose one of {sorted(CHAT_TEMPLATES)}")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    spec = _SPECIALS[template]
    texts = [t for t in (corpus if corpus is not None else [_BUILTIN_CORPUS]) if t]
    if not texts:
        raise InvalidArgument("cannot train a tokenizer on an empty corpus")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(spec["specials"]),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    kwargs: dict[str, Any] = {"eos_token": spec["eos"], "pad_token": spec["specials"][0]}
    if spec["bos"]:
        kwargs["bos_token"] = spec["bos"]
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)
    fast.chat_template = CHAT_TEMPLATES[template]
    return fast
