"""Seeds: every seed the library accepts is a non-negative int, checked in one place.

Python's ``random.Random(-s)`` draws exactly what ``random.Random(s)`` draws, and torch wraps a
negative seed onto another one, so a negative seed would silently repeat another run's data.
"""

from __future__ import annotations

import random
from typing import Any

from .errors import InvalidArgument

__all__ = ["check_seed", "seeded_random"]

#: why a negative seed is refused, shared by the library's and the command line's message
NEGATIVE_SEED_REASON = "a negative seed would repeat another seed's data"


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` itself if it is an int ≥ 0; otherwise :class:`InvalidArgument` naming ``name``."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidArgument(f"{name} must be an int ≥ 0, got {seed!r}")
    if seed < 0:
        raise InvalidArgument(f"{name} must be ≥ 0, got {seed} ({NEGATIVE_SEED_REASON})")
    return seed


def seeded_random(seed: int | random.Random, name: str = "seed") -> random.Random:
    """A ``random.Random`` for a checked int seed (a generator passed in is used as it is)."""
    if isinstance(seed, random.Random):
        return seed
    return random.Random(check_seed(seed, name))
