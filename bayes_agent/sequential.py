"""The sequential posterior w_1, ..., w_T kept exactly without a gcd per slot (§3.3).

Exact weights are integers over one implicit common denominator: a world slot multiplies
program p's integer by ν_p(z_i | h_<i, c) brought to the slot's common denominator, and every
common factor cancels when the weights are normalised, w_t(p) = u_p / Σ_q u_q. Nothing is reduced
until a weight is read. The numbers themselves must grow (an exact weight after t slots has O(t)
digits), so :class:`PosteriorTrace` stores the small per-slot multipliers, O(T·P) in all, and
multiplies and reduces only the entries that are read.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, Iterator

from .errors import InvalidArgument

__all__ = ["PosteriorTrace", "common_numerators", "tree_product"]

#: Slots per block whose multipliers are multiplied together when a trace is built.
BLOCK = 64


def common_numerators(values: Sequence[Fraction | int]) -> tuple[int, ...]:
    """The smallest integers u with u_p / Σ u = v_p / Σ v (the rationals over their least common
    denominator, then divided by the numerators' common factor)."""
    d = math.lcm(*(v.denominator for v in values))
    u = [v.numerator * (d // v.denominator) for v in values]
    g = math.gcd(*u) or 1
    return tuple(x // g for x in u)


def tree_product(values: Sequence[int]) -> int:
    """Π values, multiplied pairwise in a balanced tree.

    ``math.prod`` multiplies left to right, so a product of n small factors costs O(n²) digit
    operations; the tree keeps the big multiplications few and of equal size.
    """
    level = list(values)
    if not level:
        return 1
    while len(level) > 1:
        level = [level[i] * level[i + 1] if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return level[0]


def normalised(names: Sequence[str], numerators: Sequence[int]) -> dict[str, Fraction]:
    """w(p) = u_p / Σ_q u_q as reduced fractions (the one gcd per program is taken here)."""
    total = sum(numerators)
    return {n: Fraction(u, total) for n, u in zip(names, numerators)}


class PosteriorTrace(Sequence):
    """The posterior after each slot of a history, one ``{program: weight}`` dict per slot (§3.3).

    What :meth:`~bayes_agent.Updater.trace` returns: a read-only sequence that behaves like the
    list it replaced (indexing, slicing to a list, iteration, ``==`` with a list of dicts,
    ``list + trace`` and ``trace + list`` giving lists, ``json.dumps(list(trace))``). Float and symbolic traces hold their entries. An
    exact trace holds each slot's integer multipliers and, per block of slots, their products, so
    building it costs O(T·P) however long the numbers grow; an entry is multiplied out (a balanced
    product over the blocks) and reduced when it is read. Reading all T entries is Θ(T²) digits of
    output, inherently: an exact weight after t slots has O(t) digits.
    """

    def __init__(self, names: Sequence[str], entries: Sequence[dict[str, Any]]) -> None:
        for arg, what in ((names, "names"), (entries, "entries")):
            if isinstance(arg, (str, bytes)) or not isinstance(arg, Iterable):
                raise InvalidArgument(f"PosteriorTrace's {what} must be a sequence, got {type(arg).__name__}")
        self.names: tuple[str, ...] = tuple(names)
        self._entries: list[dict[str, Any]] | None = list(entries)

    @classmethod
    def exact(cls, names: Sequence[str], start: Sequence[int],
              steps: Sequence[tuple[int, ...] | None]) -> "PosteriorTrace":
        """A lazy exact trace: integer weights ``start`` before the first slot, then each slot's
        multipliers (``None`` for a slot that leaves the weights as they are: an intervention)."""
        out = cls(names, ())
        out._entries = None
        out._start, out._steps = tuple(start), list(steps)
        ones = (1,) * len(out._start)
        out._blocks = [common_numerators([tree_product(column) for column in
                                          zip(*(s for s in out._steps[k:k + BLOCK] if s is not None), ones)])
                       for k in range(0, len(out._steps) - BLOCK + 1, BLOCK)]
        out._cursor = (0, out._start)
        return out

    def numerators(self, n: int) -> tuple[int, ...]:
        """The integer weights after the first ``n`` slots (exact traces; any common factor left in)."""
        if self._entries is not None:
            raise TypeError("only an exact trace keeps integer weights")
        if not 0 <= n <= len(self._steps):
            raise IndexError(f"{n} slots asked of a trace of {len(self._steps)}")
        pos, u = self._cursor
        if not pos <= n <= pos + 2 * BLOCK:  # jump: whole blocks by a balanced product
            k = n // BLOCK
            u = tuple(s * tree_product(column) for s, column in
                      zip(self._start, zip(*self._blocks[:k], (1,) * len(self._start))))
            pos = k * BLOCK
        for step in self._steps[pos:n]:
            if step is not None:
                u = tuple(a * b for a, b in zip(u, step))
        self._cursor = (n, u)
        return u

    def __len__(self) -> int:
        return len(self._entries) if self._entries is not None else len(self._steps)

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not isinstance(i, int):
            try:  # numpy integers and other __index__ types index as in a list
                i = operator.index(i)
            except TypeError:
                raise TypeError(f"trace indices must be integers or slices, not {type(i).__name__}") from None
        n = len(self)
        if not -n <= i < n:  # one message whatever the arithmetic
            raise IndexError(f"trace index {i} out of range for {n} slots")
        if self._entries is not None:
            return self._entries[i]
        return normalised(self.names, self.numerators((i + n if i < 0 else i) + 1))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    # The list it replaced: ``list + trace``, ``trace + list`` and ``trace * k`` give plain lists,
    # as ``Updater.trace`` results did before they became traces.
    def __add__(self, other: object) -> list:
        if isinstance(other, (list, PosteriorTrace)):
            return list(self) + list(other)
        return NotImplemented

    def __radd__(self, other: object) -> list:
        if isinstance(other, list):
            return other + list(self)
        return NotImplemented

    def __mul__(self, k: object) -> list:
        if isinstance(k, int) and not isinstance(k, bool):
            return list(self) * k
        return NotImplemented

    __rmul__ = __mul__

    def copy(self) -> list:
        """A plain list of the entries (``list.copy``'s result)."""
        return list(self)

    def __repr__(self) -> str:
        kind = "exact" if self._entries is None else "held"
        return f"PosteriorTrace({len(self)} slots, programs {list(self.names)}, {kind})"
