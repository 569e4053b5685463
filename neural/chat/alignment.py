"""Where a chat template puts each message: alignment through the template itself, with sentinels.

A chat template is a program we cannot read for meaning, so we watch what it does:

1. **Contents.** The conversation is rendered once more with every non-empty content replaced by
   a *probe*: a unique sentinel holding a quote, a newline, a backslash, ``<&'`` and a non-ASCII
   letter, with a space on each side. Each probe comes out of the template changed by what the
   template does to that message (``tojson``, ``trim``, HTML escaping, or nothing); the change is
   learned per message by finding which of :data:`TRANSFORMS` turns the probe into the text the
   template wrote. The real rendering must then be the probe rendering with each probe's output
   replaced by the same transformation of the real content, and the spans are read off that
   reconstruction. So a tool output rendered as a JSON string keeps its span, and the quotes the
   template adds around it belong to it (they are its rendering, supervised like it).
   If the template branches on the probe's odd characters, a bare sentinel is tried; failing both,
   each message's *transformed* content is searched in the real rendering in template order.
2. **Dropped content.** An assistant message with tool calls whose text the template does not
   render at all (Llama 3.1, Mistral v0.3, Hermes drop it) is reported in ``dropped``; its calls
   are still located and masked. A system message the template leaves out is reported too (the
   model never sees it, and context is never supervised). Any other dropped message is an error.
3. **Tool calls** are located by rendering with the message's first ``j - 1`` and first ``j``
   calls: the text added for call ``j`` (without surrounding whitespace) is the call. A template
   may write a speaker before each call through the variable ``call_speaker`` (the ``plain``
   template does); it is rendered as a sentinel of the same length, and the text it covers is
   protocol, never matched as a literal string.
4. **Tool definitions** are located by rendering with and without ``tools=``.

The result is positions only; :func:`neural.chat.example.render_chat` gives them their (part, gate).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

import markupsafe

from bayes_agent.errors import InvalidArgument

from .provenance import message_calls
from .templates import CALL_SPEAKER

__all__ = [
    "TRANSFORMS",
    "ContentAlignment",
    "apply_template",
    "clean_messages",
    "inserted_region",
    "locate_contents",
    "locate_tool_calls",
]


def _tojson_html(x: str) -> str:  # jinja's own tojson (outside transformers): ASCII, HTML-safe
    return (json.dumps(x).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("'", "\\u0027"))


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "verbatim": lambda x: x,
    "trim": str.strip,
    "tojson": lambda x: json.dumps(x, ensure_ascii=False),
    "tojson_ascii": json.dumps,
    "tojson_html": _tojson_html,
    "trim_tojson": lambda x: json.dumps(x.strip(), ensure_ascii=False),
    "escape": lambda x: str(markupsafe.escape(x)),
    "trim_escape": lambda x: str(markupsafe.escape(x.strip())),
}
"""What a template may do to a message's text, by name: each message's is learned from a probe."""

_PROBE = " \ue000{}\"\n\\é<&'\ue001 "  # odd characters make each transformation leave its own trace
_BARE = "\ue000{}\ue001"
_SPEAKER_MARK = "\ue002"


@dataclass(frozen=True)
class ContentAlignment:
    """Contents' character ranges in the real rendering, how each was found, and what was dropped.

    ``where[i] = (start, end, transform)``; ``dropped`` lists assistant messages with calls whose
    text the template does not render, ``dropped_context`` system messages it leaves out; ``aligned_by`` is "probe", "sentinel" or "search".
    """

    where: dict[int, tuple[int, int, str]]
    dropped: tuple[int, ...]
    aligned_by: str
    dropped_context: tuple[int, ...] = ()


def clean_messages(messages: Any) -> list[dict]:
    """Copies for the template: our own keys removed, ``content: None`` passed as ``""``."""
    out = []
    for m in messages:
        d = {k: v for k, v in m.items() if k not in ("gate", "provenance")}
        if d.get("content") is None:
            d["content"] = ""
        out.append(d)
    return out


def apply_template(tokenizer: Any, messages: list[dict], tools: Any, chat_template: str | None,
                   **variables: Any) -> str:
    """``apply_chat_template(..., tokenize=False)`` with every failure as one :class:`InvalidArgument`."""
    if chat_template is None and not getattr(tokenizer, "chat_template", None):
        raise InvalidArgument(
            "the tokenizer has no chat template; pass chat_template= (e.g. one of the names in "
            "neural.chat.CHAT_TEMPLATES)"
        )
    kwargs: dict[str, Any] = {"tokenize": False, **variables}
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


def _name(clean: list[dict], i: int) -> str:
    return f"message {i} ({clean[i]['role']})"


def _learned(rendered: str, probe: str) -> list[tuple[str, int]]:
    """The transformations that turn ``probe`` into text the template wrote, with where: most
    specific (longest output) first. Several may give the same output (a bare sentinel is its own
    trim); each stays a candidate, and the real content decides between them."""
    found = [(name, f(probe)) for name, f in TRANSFORMS.items()]
    found = [(name, out, rendered.find(out)) for name, out in found]
    ordered = sorted((x for x in found if x[2] >= 0), key=lambda x: -len(x[1]))  # stable: TRANSFORMS order
    return [(name, at) for name, _, at in ordered]


def _walk(text: str, probed: str, probes: dict[int, str], learned: dict[int, list[tuple[str, int]]],
          clean: list[dict]) -> dict[int, tuple[int, int, str]] | None:
    """Rebuild ``text`` from the probe rendering, one message at a time in template order.

    For each message the most specific learned transformation is tried first; the template text
    before it must match the real rendering, then the transformed real content must follow.
    """
    order = sorted(learned, key=lambda i: learned[i][0][1])
    where: dict[int, tuple[int, int, str]] = {}
    src = pos = 0  # positions in the probe rendering and in the real one
    for i in order:
        content = clean[i]["content"]
        for name, at in learned[i]:
            between = probed[src:at]
            if at < src or not text.startswith(between, pos):
                continue
            piece = TRANSFORMS[name](content)
            start = pos + len(between)
            if text.startswith(piece, start):
                where[i] = (start, start + len(piece), name)
                pos, src = start + len(piece), at + len(TRANSFORMS[name](probes[i]))
                break
        else:
            return None
    return where if probed[src:] == text[pos:] else None


def _search(text: str, learned: dict[int, list[tuple[str, int]]], clean: list[dict]
            ) -> dict[int, tuple[int, int, str]]:
    """Last resort: each content, as the template was seen to transform it, found in template order."""
    where: dict[int, tuple[int, int, str]] = {}
    cursor = 0
    for i in sorted(learned, key=lambda i: learned[i][0][1]):
        for name, _ in learned[i]:
            piece = TRANSFORMS[name](clean[i]["content"])
            at = text.find(piece, cursor) if piece else -1
            if at >= 0:
                where[i] = (at, at + len(piece), name)
                cursor = at + len(piece)
                break
        else:
            content = clean[i]["content"]
            preview = content if len(content) <= 40 else content[:37] + "..."
            raise InvalidArgument(
                f"cannot align the chat template's rendering with {_name(clean, i)}: its content "
                f"{preview!r}, transformed as the template was seen to ({learned[i][0][0]}), does not "
                f"occur in the rendered text after character {cursor} (the template rewrites it)"
            )
    return where


def locate_contents(tokenizer: Any, clean: list[dict], text: str, tools: Any,
                    chat_template: str | None, agent: list[bool], context: list[bool]) -> ContentAlignment:
    """Each non-empty content's range in ``text`` (module docstring, steps 1 and 2).

    ``agent[i]`` says whether message ``i`` is the agent's: only such a message with tool calls
    may have its text dropped by the template; ``context[i]`` whether it is context, which a
    template may leave out too (Mistral's drops the system prompt unless a user turn is last).
    """
    order = [i for i, m in enumerate(clean) if m["content"]]
    if not order:
        return ContentAlignment({}, (), "probe", ())
    failure: InvalidArgument | None = None
    fallback: tuple[dict[int, list[tuple[str, int]]], tuple[int, ...], tuple[int, ...]] | None = None
    for style, fmt in (("probe", _PROBE), ("sentinel", _BARE)):
        probes = {i: fmt.format(i) for i in order}
        marked = [dict(m) for m in clean]
        for i in order:
            marked[i]["content"] = probes[i]
        try:
            probed = apply_template(tokenizer, marked, tools, chat_template)
        except InvalidArgument as exc:  # the template refuses the probe; try the bare sentinel
            failure = exc
            continue
        learned: dict[int, list[tuple[str, int]]] = {}
        dropped: list[int] = []
        unseen: list[int] = []
        for i in order:
            found = _learned(probed, probes[i])
            if found:
                learned[i] = found
            elif re.search(f"\ue000{i}(?![0-9])", probed):
                failure = InvalidArgument(
                    f"cannot align the chat template's rendering with {_name(clean, i)}: the template "
                    f"transforms its content in a way not among {sorted(TRANSFORMS)}"
                )
                break
            elif agent[i] and message_calls(i, clean[i]):
                dropped.append(i)
            elif context[i]:
                unseen.append(i)
            else:  # perhaps only the probe's odd characters put it off: the bare sentinel decides
                failure = InvalidArgument(
                    f"cannot align the chat template's rendering with {_name(clean, i)}: the template "
                    f"does not render its content at all"
                )
                break
        else:
            where = _walk(text, probed, probes, learned, clean)
            if where is not None:
                return ContentAlignment(where, tuple(dropped), style, tuple(unseen))
            fallback = fallback or (learned, tuple(dropped), tuple(unseen))
    if fallback is not None:
        return ContentAlignment(_search(text, fallback[0], clean), fallback[1], "search", fallback[2])
    assert failure is not None
    raise failure


def inserted_region(short: str, long: str, lo: int = 0) -> tuple[int, int]:
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


def locate_tool_calls(tokenizer: Any, clean: list[dict], text: str, tools: Any, chat_template: str | None,
                      after: dict[int, int]) -> dict[int, list[tuple[int, int]]]:
    """Each message's calls' ranges in ``text`` (module docstring, step 3); ``after[i]`` is where
    message ``i``'s text ends, so an ambiguous insertion point is taken after it."""
    speaker = _SPEAKER_MARK * len(CALL_SPEAKER)  # same length: positions agree with the real text
    regions: dict[int, list[tuple[int, int]]] = {}
    for i, m in enumerate(clean):
        n = len(message_calls(i, m))
        if not n:
            continue
        renders = []
        for j in range(n + 1):
            variant = [dict(x) for x in clean]
            variant[i] = _with_calls(m, j)
            renders.append(apply_template(tokenizer, variant, tools, chat_template, call_speaker=speaker))
        found: list[tuple[int, int]] = []
        for j in range(1, n + 1):
            what = "the function_call" if j > len(m.get("tool_calls") or []) else f"tool call {j - 1}"
            lo = found[-1][1] if found else after.get(i, 0)
            if renders[j] == renders[j - 1]:
                raise InvalidArgument(
                    f"cannot align {what} of {_name(clean, i)}: the template does not "
                    f"render it at all (it would be dropped from training silently)"
                )
            start, end = _strip(renders[j], *inserted_region(renders[j - 1], renders[j], lo))
            if end <= start or not text.startswith(renders[j][:end].replace(speaker, CALL_SPEAKER)):
                raise InvalidArgument(
                    f"cannot align {what} of {_name(clean, i)}: the template does not "
                    f"render it as text added after the earlier calls"
                )
            if renders[j].startswith(speaker, start):  # the template's speaker: protocol
                start, end = _strip(renders[j], start + len(speaker), end)
            found.append((start, end))
        regions[i] = found
    return regions
