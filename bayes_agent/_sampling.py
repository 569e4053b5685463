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
    against exact cumulative sums), so a seed gives the same draw in every arithmetic. A weight
    that is an irrational number (sqrt(2)/2, pi/4) is compared as sympy compares numbers, exactly."""
    exact = {}
    for k, w in weights.items():
        if is_symbolic(w) and w.free_symbols:
            raise InvalidArgument(f"cannot sample {what} from symbolic weights ({w})")
        if arithmetic == FLOAT:
            exact[k] = convert(w, FLOAT)
        else:  # a sympy number that is not rational stays as it is: comparing it with u is exact
            exact[k] = w if is_symbolic(w) and not w.is_Rational else convert(w, EXACT)
    u = Fraction(rng.getrandbits(53), 1 << 53)
    total, last = 0, None
    for k, w in exact.items():
        if w > 0:
            total += Fraction(w) if isinstance(w, float) else w
            last = k
            if bool(total > u):
                return k
    return last  # float rounding at the top end
