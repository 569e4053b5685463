"""The factor view of a model: what variable elimination reads of an SCM (paper §2.1, §2.2).

The joint of a model is the product of its mechanisms, P(v) = Π_X P(x | pa(X)). A
:class:`FactorView` holds that product as data: the graph (parents, a topological order), the
domains, and each mechanism as a dense array with one axis per variable (the variable first,
then its parents), built once per number kind and shared by every model ``do`` makes from the
same tables. The elimination engine and the query plans read models only through this view.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Hashable, Iterable, Mapping

import numpy as np

from .._numbers import EXACT, FLOAT, SYMBOLIC, float_of, kind_of
from ..errors import FloatUnderflow

__all__ = ["FactorView", "combine_kinds"]

_RANK = {EXACT: 0, FLOAT: 1, SYMBOLIC: 2}


def combine_kinds(kinds: Iterable[str]) -> str:
    """The arithmetic a set of mechanisms calls for together: symbolic > float > exact."""
    return max(kinds, key=_RANK.__getitem__, default=EXACT)


class FactorView:
    """A model's mechanisms as dense factors, with the graph and domains elimination needs.

    ``tables[name]`` maps each parent assignment (in parent-product order) to the row of
    probabilities in domain order. ``mechanism(name, kind, support)`` is that table as an array
    ``values[x, pa_1, pa_2, ...]`` with its integer scale (exact kind: entries times the least
    common denominator of the mechanism; otherwise 1); ``support=True`` gives 1 where the entry is
    positive, 0 elsewhere. Arrays are cached by table identity in a dict that a model shares with
    every model ``do`` makes from it, so surgery rebuilds only the intervened mechanisms.
    """

    __slots__ = ("order", "parents", "domains", "tables", "index", "plans", "_dense", "_kinds", "model_kind")

    def __init__(self, order: tuple[str, ...], parents: Mapping[str, tuple[str, ...]],
                 domains: Mapping[str, tuple], tables: Mapping[str, Mapping[tuple, tuple]],
                 dense_cache: dict | None = None, model_kind: str | None = None) -> None:
        self.order = order
        self.parents = dict(parents)
        self.domains = dict(domains)
        self.tables = tables
        #: value -> position in the domain, per variable
        self.index = {n: {v: i for i, v in enumerate(d)} for n, d in self.domains.items()}
        #: compiled query plans of this view (:mod:`.plans`), keyed by the query's shape
        self.plans: dict = {}
        self._dense = {} if dense_cache is None else dense_cache
        self._kinds: dict[str, str] = {}
        #: the number kind every answer of the model comes in (its own, decided by the SCM); by
        #: default that of all the tables
        self.model_kind = model_kind or combine_kinds(self._kind(n) for n in order)

    def size(self, name: str) -> int:
        return len(self.domains[name])

    def kind(self, names: Iterable[str]) -> str:
        """How a query over these mechanisms holds its numbers: FLOAT, EXACT or SYMBOLIC. An empty
        product (every variable asked about is intervened on) is in the model's own kind."""
        names = list(names)
        if not names:
            return self.model_kind
        return combine_kinds(map(self._kind, names))

    def _kind(self, name: str) -> str:
        k = self._kinds.get(name)
        if k is None:
            k = self._kinds[name] = kind_of(x for row in self.tables[name].values() for x in row)
        return k

    def ancestral_set(self, names: Iterable[str], cut: Iterable[str] = ()) -> tuple[str, ...]:
        """``names`` and their ancestors in topological order; arrows into ``cut`` do not count
        (surgery: an intervened variable has no parents). Every other mechanism sums to one."""
        cut = set(cut)
        seen: set[str] = set()
        stack = list(names)
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            if n not in cut:
                stack.extend(self.parents[n])
        return tuple(n for n in self.order if n in seen)

    def mechanism(self, name: str, kind: str, support: bool = False) -> tuple[np.ndarray, int]:
        """P(name | parents) as an array over (name, *parents), and its integer scale."""
        table = self.tables[name]
        key = (name, kind, support)
        hit = self._dense.get(key)
        if hit is None or hit[0] is not table:
            hit = self._dense[key] = (table, *self._build(name, kind, support))
        return hit[1], hit[2]

    def _build(self, name: str, kind: str, support: bool) -> tuple[np.ndarray, int]:
        entries = list(self.tables[name].values())  # rows in parent-product order
        scale = 1
        if support:
            flat = [[1.0 if x != 0 else 0.0 for x in row] for row in entries]
            dtype: Any = np.float64
        elif kind == FLOAT:
            try:
                flat, dtype = [[float_of(x) for x in row] for row in entries], np.float64
            except FloatUnderflow as e:  # an exact entry beside floats, below float64's range
                raise FloatUnderflow(f"the mechanism of {name!r}: {e}") from None
        elif kind == EXACT:
            scale = math.lcm(*(Fraction(x).denominator for row in entries for x in row))
            flat, dtype = [[int(Fraction(x) * scale) for x in row] for row in entries], object
        else:
            flat, dtype = [list(row) for row in entries], object
        shape = [len(self.domains[p]) for p in self.parents[name]] + [len(self.domains[name])]
        values = np.empty(len(flat) * len(self.domains[name]), dtype=dtype)
        values[:] = [x for row in flat for x in row]
        return np.ascontiguousarray(np.moveaxis(values.reshape(shape), -1, 0)), scale

    def positions(self, assignment: Mapping[str, Hashable]) -> dict[str, int]:
        """Each assigned value's position in its variable's domain."""
        return {n: self.index[n][v] for n, v in assignment.items()}
