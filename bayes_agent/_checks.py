"""Argument checks shared by the public entry points: a wrong type becomes one named
:class:`~bayes_agent.errors.InvalidArgument` line instead of a TypeError deep inside."""

from __future__ import annotations

import operator
import os
from typing import TYPE_CHECKING, Any

from .errors import InvalidArgument

if TYPE_CHECKING:
    from .transcript import Transcript

__all__ = ["expect", "expect_count", "expect_history", "expect_index", "expect_path", "expect_slot", "integer_or_none"]


def expect(value: Any, kind: type | tuple[type, ...], what: str, hint: str = "") -> Any:
    """``value`` itself if it is an instance of ``kind``; otherwise InvalidArgument naming ``what``."""
    if not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        names = " or ".join("None" if k is type(None) else k.__name__ for k in kinds)
        raise InvalidArgument(f"{what} must be {names}, got {type(value).__name__}{hint}")
    return value


def expect_history(value: Any, what: str = "a history") -> "Transcript":
    """``value`` itself if it is a :class:`~bayes_agent.transcript.Transcript` (the one check every
    engine entry point makes of its history); otherwise InvalidArgument naming ``what``."""
    if not isinstance(value, _transcript.Transcript):
        raise InvalidArgument(f"{what} must be a Transcript, got {type(value).__name__}")
    return value


def integer_or_none(value: Any) -> int | None:
    """``value`` as a Python int if it is an integer (an int or a numpy integer, anything with
    ``__index__``), else None; bool is not an integer here (True is no count, seed or position)."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def expect_index(value: Any, what: str) -> int:
    """An integer position (ints and numpy integers; not bool, float or text)."""
    i = integer_or_none(value)
    if i is None:
        got = "bool" if isinstance(value, bool) else f"{type(value).__name__} {value!r}"
        raise InvalidArgument(f"{what} must be an int, got {got}")
    return i


def expect_slot(history: Any, i: Any, what: str) -> tuple["Transcript", int]:
    """A transcript and a position in it (negative counts from the end), checked: ``(history,
    index ≥ 0)``; InvalidArgument naming ``what`` for a bad index or one outside the transcript."""
    history = expect_history(history)
    i = expect_index(i, what)
    if not -len(history) <= i < len(history):
        raise InvalidArgument(f"{what} {i} is outside this transcript of {len(history)} slots")
    return history, i + len(history) if i < 0 else i


def expect_count(value: Any, what: str, least: int = 1, most: int | None = None) -> int:
    """A count, size or seed: an integer (int or numpy integer; not bool, float or text) from
    ``least`` to ``most`` (no upper bound when None), returned as a Python int."""
    n = integer_or_none(value)
    if n is None or n < least or (most is not None and n > most):
        kind = (f"an int from {least} to {most}" if most is not None else
                "a positive int" if least == 1 else "a non-negative int" if least == 0 else f"an int ≥ {least}")
        raise InvalidArgument(f"{what} must be {kind}, got {repr(value) if n is None else n}")
    return n


def expect_path(value: Any, what: str) -> Any:
    """A file path (str or os.PathLike), checked before any work is done for it."""
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidArgument(f"{what} must be a file path (str or os.PathLike), got {type(value).__name__}")
    return value


# Last, not at the top: transcript.py imports the checks above, and the module object (not the
# class) is bound so that either module may be imported first; the class is looked up per call.
from . import transcript as _transcript  # noqa: E402
