"""Argument checks shared by the public entry points: a wrong type becomes one named
:class:`~bayes_agent.errors.InvalidArgument` line instead of a TypeError deep inside."""

from __future__ import annotations

import operator
import os
from typing import TYPE_CHECKING, Any

from .errors import InvalidArgument

if TYPE_CHECKING:
    from .transcript import Transcript

__all__ = ["expect", "expect_history", "expect_index", "expect_path"]


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


def expect_index(value: Any, what: str) -> int:
    """An integer position (ints and numpy integers; not bool, float or text)."""
    if isinstance(value, bool):
        raise InvalidArgument(f"{what} must be an int, got bool")
    try:
        return operator.index(value)
    except TypeError:
        raise InvalidArgument(f"{what} must be an int, got {type(value).__name__} {value!r}") from None


def expect_path(value: Any, what: str) -> Any:
    """A file path (str or os.PathLike), checked before any work is done for it."""
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidArgument(f"{what} must be a file path (str or os.PathLike), got {type(value).__name__}")
    return value


# Last, not at the top: transcript.py imports the checks above, and the module object (not the
# class) is bound so that either module may be imported first; the class is looked up per call.
from . import transcript as _transcript  # noqa: E402
