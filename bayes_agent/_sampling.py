"""Seeded draws for the engine's samplers (posterior sampling, §3.4), shared by its modules."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any, Hashable, Mapping

from ._numbers import EXACT, FLOAT, convert, is_symbolic
from .errors import InvalidArgument

__all__ = ["draw"]


def draw(weights: Mapping[Hashable, Any], rng: random.Random, what: str, arithmetic: str) -> Hashable:
    """One key drawn with probability proportional to its weight, exactly (53 random bits compared
    against exact cumulative sums), so a seed gives the same draw in every arithmetic."""
    exact = {}
    for k, w in weights.items():
        if is_symbolic(w) and w.free_symbols:
            raise InvalidArgument(f"cannot sample {what} from symbolic weights ({w})")
        exact[k] = convert(w, FLOAT) if arithmetic == FLOAT else convert(w, EXACT)
    u = Fraction(rng.getrandbits(53), 1 << 53)
    total, last = 0, None
    for k, w in exact.items():
        if w > 0:
            total += Fraction(w) if isinstance(w, float) else w
            last = k
            if u < total:
                return k
    return last  # float rounding at the top end
