"""Seeds: every seed the library accepts is a non-negative int, checked in one place.

Python's ``random.Random(-s)`` draws exactly what ``random.Random(s)`` draws, and torch wraps a
negative seed onto another one, so a negative seed would silently repeat another run's data.
"""

from __future__ import annotations

import random
from typing import Any

from ._checks import integer_or_none
from .errors import InvalidArgument

__all__ = ["check_seed", "seeded_random"]

#: why a negative seed is refused, shared by the library's and the command line's message
NEGATIVE_SEED_REASON = "a negative seed would repeat another seed's data"


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` as an int if it is an integer ≥ 0 (an int or a numpy integer; not bool, float or
    text); otherwise :class:`InvalidArgument` naming ``name``."""
    n = integer_or_none(seed)
    if n is None:
        raise InvalidArgument(f"{name} must be an int ≥ 0, got {seed!r}")
    if n < 0:
        raise InvalidArgument(f"{name} must be ≥ 0, got {n} ({NEGATIVE_SEED_REASON})")
    return n


def seeded_random(seed: int | random.Random, name: str = "seed") -> random.Random:
    """A ``random.Random`` for a checked int seed (a generator passed in is used as it is)."""
    if isinstance(seed, random.Random):
        return seed
    return random.Random(check_seed(seed, name))
