"""Argument checks every command shares (not a command: the leading underscore hides it).

One validator per rule, used by every subcommand, so a rule cannot hold in one command and not
in another: a seed is a non-negative integer everywhere (a negative seed would silently repeat
another seed's data); an error from a check names the option the value came from.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, TypeVar

from ..errors import BayesAgentError
from ..seeds import NEGATIVE_SEED_REASON

__all__ = ["named_option", "nonnegative_int", "positive_int", "zero_or_more"]

T = TypeVar("T")


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def zero_or_more(text: str, reason: str = "") -> int:
    """An argparse ``type=`` for counts that may be 0: an integer ≥ 0, else a one-line error naming
    the value (and ``reason``, when given)."""
    value = _integer(text, "an integer ≥ 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {value}" + (f" ({reason})" if reason else ""))
    return value


def nonnegative_int(text: str) -> int:
    """An argparse ``type=`` for seeds: :func:`zero_or_more`, saying why a seed cannot be negative."""
    return zero_or_more(text, NEGATIVE_SEED_REASON)


def positive_int(text: str) -> int:
    """An argparse ``type=`` for counts and sizes: an integer ≥ 1, else a one-line error."""
    value = _integer(text, "an integer ≥ 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def named_option(option: str, check: Callable[[Any], T], value: Any) -> T:
    """Run ``check(value)``; an error names the command-line option the value came from."""
    try:
        return check(value)
    except BayesAgentError as exc:
        raise type(exc)(f"{option}: {exc}") from None
