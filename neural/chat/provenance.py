"""Who wrote each message of a conversation, and the conversation as a gated transcript.

Provenance comes from roles (paper §3.1): the assistant's words *and its tool calls* are agent
actions (γ = 1); user turns and tool outputs are world evidence (γ = 0); the system prompt is the
context c, predicted by neither arm. A message may override its role's provenance with a
``"gate"`` or ``"provenance"`` key, so a teacher's demonstration is evidence (§3.3).

:func:`conversation_pieces` walks the conversation once and gives both the transcript and, for
each message text and each tool call, its typed (part, gate) and slot: :func:`transcript_from_messages`
and :func:`neural.chat.example.render_chat` both take their slots from it, so they cannot disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping, Sequence

from bayes_agent.errors import InvalidArgument
from bayes_agent.transcript import Channel, Gate, Part, Slot, Transcript

__all__ = [
    "DEFAULT_ROLES",
    "MessagePiece",
    "Provenance",
    "UnknownRole",
    "check_unicode",
    "conversation_pieces",
    "is_agent_role",
    "message_calls",
    "message_provenance",
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


def check_unicode(where: str, what: str, text: str) -> str:
    """``text`` unchanged, or :class:`InvalidArgument` naming ``where`` when it is not valid Unicode.

    A lone surrogate (``"\\ud800"`` in JSON) is a str to Python and json, but no tokenizer can
    encode it; it is refused here, with its position, before any template or tokenizer sees it.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(
            f"{where}: {what} is not valid Unicode text (a lone surrogate U+{ord(text[exc.start]):04X} "
            f"at character {exc.start}); fix or drop the broken escape"
        ) from None
    return text


def _check_call(where: str, what: str, fn: Any) -> None:
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise InvalidArgument(
            f"{where}: {what} needs a function name "
            f'(OpenAI form {{"type": "function", "function": {{"name": ..., "arguments": ...}}}})'
        )
    check_unicode(where, f"{what} name", fn["name"])
    if "arguments" not in fn:  # a template would print it as an undefined value (or fail to render)
        raise InvalidArgument(f"{where}: {what} has no 'arguments' key; give an object or a JSON string "
                              f"(\"{{}}\" for a call without arguments)")
    args = fn["arguments"]
    if not isinstance(args, (str, dict)):
        raise InvalidArgument(
            f"{where}: {what} arguments must be a JSON string or an object, got {type(args).__name__}"
        )
    if isinstance(args, str):  # templates print a string as it is: broken JSON would train as text
        try:
            json.loads(args)
        except ValueError as exc:
            raise InvalidArgument(f"{where}: {what} arguments are not valid JSON ({exc}): {args[:40]!r}; "
                                  f"give an object or a JSON string (\"{{}}\" for none)") from None
    check_unicode(where, f"{what} arguments",
                  args if isinstance(args, str) else json.dumps(args, ensure_ascii=False))


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
        kind = "missing" if "content" not in message else "null" if content is None else type(content).__name__
        raise InvalidArgument(
            f"{_where(index, message)}: content must be a string, got {kind}"
            + (" (join the text parts into one string first)" if isinstance(content, list) else "")
        )
    return check_unicode(_where(index, message), "content", content)


class UnknownRole(InvalidArgument):
    """A message whose role no entry of the roles table maps: ``where`` (the message), ``role``,
    ``known`` (the roles the table has), so a command line can word its own fix (``--role``)."""

    def __init__(self, where: str, role: str, known: tuple[str, ...]) -> None:
        self.where, self.role, self.known = where, role, known
        super().__init__(f"{where}: unknown role {role!r}; map it with roles={{{role!r}: 'agent' | 'world' | "
                         f"'context'}} (known roles: {', '.join(known)})")


def _own_provenance(index: int, message: dict, key: str) -> Provenance:
    """The message's own ``gate`` or ``provenance`` key, an error naming the message if it is bad."""
    try:
        return Provenance.of(message[key])
    except InvalidArgument as exc:
        raise InvalidArgument(f"{_where(index, message)}: bad {key!r}: {exc}") from None


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
        check_unicode(f"message {i}", "role", role)
        _content(i, m)
        _check_tool_calls(i, m)
        own = [_own_provenance(i, m, k) for k in ("gate", "provenance") if k in m]
        if len(set(own)) > 1:
            raise InvalidArgument(
                f"{_where(i, m)}: 'gate' and 'provenance' disagree ({m['gate']!r} vs {m['provenance']!r})"
            )
        if own:
            out.append(own[0])
        elif role in table:
            out.append(table[role])
        else:
            raise UnknownRole(_where(i, m), role, tuple(sorted(table)))
    if all(p is Provenance.CONTEXT for p in out):
        raise InvalidArgument("the conversation has only context (system) messages: nothing to learn")
    return out



def _call_text(call: dict) -> str:
    fn = call.get("function", call)
    args = fn.get("arguments", {})
    if not isinstance(args, str):
        args = json.dumps(args, ensure_ascii=False, sort_keys=True)
    return f"{fn['name']}({args})"


def message_calls(index: int, message: dict) -> list[dict]:
    """The message's calls in order (its ``tool_calls``, then a legacy ``function_call``), validated."""
    return _check_tool_calls(index, message)


@dataclass(frozen=True)
class MessagePiece:
    """One stretch a message contributes: its text (``call is None``) or its ``call``-th tool call.

    ``part`` and ``gate`` are what every character of the stretch carries: context for system
    text, content with the message's gate otherwise; ``slot`` is its transcript slot (None for context).
    """

    message: int
    call: int | None
    part: Part
    gate: Gate | None
    slot: int | None


def conversation_pieces(
    messages: Sequence[Mapping[str, Any]], roles: Mapping[str, Any] | None = None
) -> tuple[list[Provenance], list[MessagePiece], Transcript]:
    """Provenance of each message, the pieces it contributes, and the transcript, in one pass.

    An assistant message gives one slot for its text (when non-empty, or when it has no calls)
    and one per tool call, all with the message's gate, as in the paper's six-slot invoice
    dialogue. A message whose role is an agent role but whose provenance is world (a
    demonstration) keeps the ACTION channel. System text is context: a piece, not a slot.
    """
    prov = message_provenance(messages, roles)
    table = _role_map(roles)
    context: list[str] = []
    slots: list[Slot] = []
    pieces: list[MessagePiece] = []
    for i, (m, p) in enumerate(zip(messages, prov)):
        text, calls = _content(i, m), _check_tool_calls(i, m)
        if p is Provenance.CONTEXT:
            context.append(text)
            pieces.append(MessagePiece(i, None, Part.CONTEXT, None, None))
            continue
        gate = p.gate
        acting = table.get(m["role"]) is Provenance.AGENT
        channel = Channel.ACTION if acting else Channel.default_for(gate)
        if text or not calls:
            pieces.append(MessagePiece(i, None, Part.CONTENT, gate, len(slots)))
            slots.append(Slot(text, gate, channel, m["role"]))
        else:  # an empty text beside calls renders nothing of its own: no slot, still a piece
            pieces.append(MessagePiece(i, None, Part.CONTENT, gate, None))
        for j, call in enumerate(calls):
            pieces.append(MessagePiece(i, j, Part.CONTENT, gate, len(slots)))
            slots.append(Slot(_call_text(call), gate, Channel.ACTION, f"{m['role']} tool call"))
    return prov, pieces, Transcript(tuple(slots), "\n\n".join(context) if context else None)


def transcript_from_messages(
    messages: Sequence[Mapping[str, Any]], roles: Mapping[str, Any] | None = None
) -> Transcript:
    """The conversation as a :class:`Transcript`: context from system text, one slot per turn
    and per tool call (see :func:`conversation_pieces`)."""
    return conversation_pieces(messages, roles)[2]


def is_agent_role(role: str, roles: Mapping[str, Any] | None) -> bool:
    """Whether ``role`` is an acting role (its messages are the agent's unless overridden)."""
    return _role_map(roles).get(role) is Provenance.AGENT
