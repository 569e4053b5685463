"""Compiled query plans: variable elimination decided once per query shape, then only arithmetic.

A query's *shape* is which variables are intervened on, which are fixed (evidence, and the event
asked about) and which are kept as table axes, not their values. Everything elimination decides
depends only on the shape: the ancestral set (barren mechanisms sum to one and drop out), the
surgery (an intervened variable loses its mechanism and its arrows, §2.2), the connected
components left once the fixed variables are indexed out, the weighted-min-fill elimination order
(:func:`.elimination.elimination_order`), and every einsum's subscripts. A :class:`Block` holds
those decisions for one group of mechanisms; running it indexes the fixed values into the cached
mechanism arrays and runs the einsums, nothing else. Plans are cached on the model's
:class:`~.factors.FactorView`, so asking the same kind of question again (other values, other
evidence values) skips all of the bookkeeping.

Before any arithmetic a plan knows the largest table elimination will build; above
``max_table_size`` entries the query is refused with :class:`~bayes_agent.errors.TableTooLarge`,
which names the estimated size and the induced width, instead of running for minutes.

The order and what it costs are :mod:`.elimination`'s (:func:`~.elimination.best_order`,
:func:`~.elimination.bucket_steps`); how one einsum step runs is :mod:`.contraction`'s.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .._numbers import EXACT, SYMBOLIC
from ..errors import FloatUnderflow, TableTooLarge
from .contraction import FOLD, contraction_path, fold_einsum
from .elimination import UNHOLDABLE, best_order, bucket_steps
from .factors import FactorView

__all__ = ["FLOAT_FLOOR", "MAX_PLANS", "MAX_TABLE_SIZE", "Block", "RatioPlan", "TablePlan", "check_size", "dtype_of",
           "mechanism_factors", "own_size", "ratio_plan", "reduce_factors", "remember", "smallest_term_exponent",
           "table_plan"]

#: Names this module exported before the split into .elimination and .contraction: still
#: importable from here, with a DeprecationWarning naming their home.
_MOVED = {name: "elimination" for name in ("best_order", "bucket_steps", "SMALL_TABLE", "RESTART_ENTRIES",
                                             "MAX_RESTARTS", "UNHOLDABLE")}
_MOVED.update({name: "contraction" for name in ("contraction_path", "fold_einsum", "optimal_path", "path_cost",
                                                  "subscripts_of", "FOLD", "MAX_OPERANDS", "MAX_OPTIMAL_PATH")})
#: Removed with the power-of-two rescaling: float sums that may lose bits are redone exactly.
_REMOVED = ("in_range", "fold_einsum_scaled", "IN_RANGE")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib
        import warnings

        home = f"bayes_agent.scm.{_MOVED[name]}"
        warnings.warn(f"bayes_agent.scm.plans.{name} moved to {home}.{name}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(home), name)
    if name in _REMOVED:
        raise AttributeError(f"bayes_agent.scm.plans.{name} was removed: a float sum that may have lost bits to "
                             f"float64's range is now redone in exact arithmetic (Block.exactly)")
    raise AttributeError(f"module 'bayes_agent.scm.plans' has no attribute {name!r}")


#: Default bound on the entries of any table a query builds, by number kind (``max_table_size=None``):
#: 2**27 float64 entries is 1 GiB; an exact entry (a Python integer behind a pointer) takes about
#: eight times the memory and far more time, so exact and symbolic queries stop at 2**24.
MAX_TABLE_SIZE = {"float": 2 ** 27, "exact": 2 ** 24, "symbolic": 2 ** 24}

#: How many compiled query shapes a model keeps (oldest forgotten first).
MAX_PLANS = 4096



class Block:
    """Mechanisms summed together: the fixed axes to index, the einsum steps, the kept axes.

    ``run(pos)`` returns the array over ``keep`` (in that order) of Σ over every other variable of
    the product of the block's mechanisms with the fixed variables at the positions ``pos``.
    """

    __slots__ = ("names", "factors", "steps", "keep", "dtype", "largest", "width", "own", "scale", "known",
                 "all_positive", "support", "in_float_range", "exact_twin")

    def __init__(self, view: FactorView, names: tuple[str, ...], fixed: frozenset[str],
                 keep: tuple[str, ...], kind: str, support: bool) -> None:
        self.names, self.keep, self.support = names, keep, support
        self.dtype = dtype_of(kind, support)
        self.factors, scopes, self.scale = mechanism_factors(view, names, fixed, kind, support)
        #: the entries of the largest mechanism once the fixed variables are indexed out
        self.own = own_size(view, scopes)
        numeric = kind != SYMBOLIC and not support
        #: every entry of every mechanism positive: so is any sum of their products, whatever is fixed
        self.all_positive = numeric and all((values > 0).all() for values, _, _ in self.factors)
        #: floats whose products cannot leave float64's range: a term of the sum multiplies one entry
        #: of each mechanism, so a positive term (and every partial product on the way) is at least the
        #: product of each mechanism's smallest positive entry (capped at 1). Above 2**-FLOAT_FLOOR a
        #: 0.0 in the result is a true zero and no entry has lost bits.
        self.in_float_range = (self.dtype is np.float64 and not support
                               and smallest_term_exponent(v for v, _, _ in self.factors) > -FLOAT_FLOOR)
        #: the same block in exact arithmetic over the floats' exact binary values, built the first
        #: time a float sum here could have left float64's range (:meth:`run_scaled`)
        self.exact_twin: Callable[[], Block] | Block | None = None
        if self.dtype is np.float64 and not support and not self.in_float_range:
            self.exact_twin = lambda: Block(view, names, fixed, keep, EXACT, False)
        #: the total, known without arithmetic when nothing is kept and no mechanism's own variable
        #: is fixed: Σ over all the variables of Π P(x | pa) is 1 (times the integer scale)
        self.known = None
        if numeric and not keep and not any(n in fixed for n in names):
            self.known = np.array(self.scale if self.dtype is object else 1.0, dtype=self.dtype)
        self._schedule(scopes, {v: view.size(v) for s in scopes for v in s}, keep)

    def _schedule(self, scopes: list[tuple[str, ...]], sizes: Mapping[str, int], keep: tuple[str, ...]) -> None:
        """Bucket elimination, symbolically: which slots each einsum reads and what it writes.
        Each greedy heuristic proposes an order; the one whose tables are smallest in total wins."""
        _, steps, self.largest, self.width = bucket_steps(scopes, sizes, keep, best_order(scopes, sizes, keep))
        # a bucket of three or more factors contracts pairwise along numpy's greedy path, fixed now
        self.steps = []
        for ids, subscripts, shapes in steps:
            self.steps.append((ids, subscripts, contraction_path(subscripts, shapes)))

    def run(self, pos: Mapping[str, int]) -> np.ndarray:
        """The sum over ``keep`` (:meth:`run_scaled` with its power of two multiplied back in)."""
        values, exp = self.run_scaled(pos)
        return np.ldexp(values, exp) if exp else values

    def run_scaled(self, pos: Mapping[str, int]) -> tuple[np.ndarray, int]:
        """``(values, exp)``: the sum is ``values · 2**exp``. ``exp`` is 0 but where a float sum
        could have left float64's range (an entry below 2**-FLOAT_FLOOR, or 0.0, where the
        mechanisms' smallest entries do not rule that out): that sum is done again in exact
        arithmetic over the floats' exact values and rounded once (:meth:`exactly`), so a tiny
        likelihood gives neither a false zero nor a value that lost its bits among the subnormals."""
        if self.known is not None:
            return self.known, 0
        if not self.factors:  # an empty product
            return np.array(1 if self.dtype is object else 1.0, dtype=self.dtype), 0
        out = self._contract(reduce_factors(self.factors, pos))
        # entries are sums of non-negative products of entries ≤ 1: a product that went below the
        # normal range stays there, so it shows in the result as an entry below the floor (or 0.0)
        if self.exact_twin is not None and out.size and float(out.min()) < 2.0 ** -FLOAT_FLOOR:
            return self.exactly(pos)
        return out, 0

    def exactly(self, pos: Mapping[str, int]) -> tuple[np.ndarray, int]:
        """A float block's sum in exact arithmetic (the mechanisms' floats read as the rationals
        they are), rounded once to ``(values, exp)`` with the largest value in [1/2, 1): every
        entry correctly rounded relative to the largest, zeros exactly where the sum is 0."""
        if self.largest > MAX_TABLE_SIZE[EXACT]:
            raise FloatUnderflow(
                f"this float query's products leave float64's range, and summing them exactly instead "
                f"needs a table of about {self.largest:.3g} entries, above the exact bound "
                f"{MAX_TABLE_SIZE[EXACT]:.3g}; convert the model with to_exact() and fix more variables")
        if callable(self.exact_twin):
            self.exact_twin = self.exact_twin()
        ints, _ = self.exact_twin.run_scaled(pos)
        scale = self.exact_twin.scale  # the exact sum is ints / scale
        flat = ints.ravel().tolist()
        top = max(flat, default=0)
        if top == 0:
            return np.zeros(ints.shape), 0
        exp = top.bit_length() - scale.bit_length() + (top << scale.bit_length() >= scale << top.bit_length())
        den, shift = (scale << exp, 0) if exp >= 0 else (scale, -exp)
        return np.array([(x << shift) / den for x in flat], dtype=np.float64).reshape(ints.shape), exp

    def _contract(self, slots: list[np.ndarray]) -> np.ndarray:
        for ids, subscripts, path in self.steps:
            ops = [slots[i] for i in ids]
            if path is FOLD:
                out = fold_einsum(subscripts, ops, self.dtype)
            else:
                out = np.einsum(subscripts, *ops, optimize=path)
            if not isinstance(out, np.ndarray):  # a full sum is a bare scalar: keep it an array
                out = np.array(out, dtype=self.dtype)
            slots.append(out)
        return slots[-1]

    def positive(self, pos: Mapping[str, int]) -> bool:
        """Is every entry of every reduced mechanism positive (so the block's sum surely is)?"""
        return self.all_positive or all((reduced > 0).all() for reduced in reduce_factors(self.factors, pos))



#: A float sum with an entry below 2**-FLOAT_FLOOR (or 0.0) may have lost bits to float64's range
#: (its normal range ends at 2**-1022; the margin covers sums that grow an entry back up): unless
#: the mechanisms rule that out, it is done again in exact arithmetic (:meth:`Block.exactly`).
FLOAT_FLOOR = 900


def smallest_term_exponent(arrays: Iterable[np.ndarray]) -> float:
    """log2 of a floor under every positive product of at most one entry from each array: the
    product of each array's smallest positive entry, capped at 1 (-inf never: an array with no
    positive entry adds nothing, its products being 0). A sum of such products that comes out
    below this floor has lost bits to float64's range; one that is 0.0 above it is a true zero."""
    return sum(math.log2(min(1.0, float(np.min(a, where=a > 0, initial=1.0)))) for a in arrays)


def dtype_of(kind: str, support: bool = False) -> Any:
    """float64 for floats and 0/1 support counts; object arrays for exact integers and sympy."""
    return np.float64 if support or kind not in ("exact", SYMBOLIC) else object


def mechanism_factors(view: FactorView, names: Iterable[str], fixed: frozenset[str], kind: str,
                      support: bool = False) -> tuple[list, list[tuple[str, ...]], int]:
    """Each mechanism as (array, index template, fixed axes), the scopes left once the fixed
    variables are indexed out, and the product of the mechanisms' integer scales."""
    factors, scopes, total = [], [], 1
    for n in names:
        values, scale = view.mechanism(n, kind, support)
        total *= scale
        scope = (n, *view.parents[n])
        axes = tuple((i, v) for i, v in enumerate(scope) if v in fixed)
        template = tuple(0 if v in fixed else slice(None) for v in scope) + (Ellipsis,) if axes else None
        factors.append((values, template, axes))
        scopes.append(tuple(v for v in scope if v not in fixed))
    return factors, scopes, total


def reduce_factors(factors: list, pos: Mapping[str, int]) -> list[np.ndarray]:
    """Index the fixed values (positions ``pos``) out of each mechanism array."""
    out = []
    for values, template, axes in factors:
        if template is None:
            out.append(values)
        else:
            index = list(template)
            for i, v in axes:
                index[i] = pos[v]
            out.append(values[tuple(index)])
    return out


def _components(view: FactorView, names: tuple[str, ...], fixed: frozenset[str]) -> list[tuple[str, ...]]:
    """Group mechanisms whose unfixed variables meet, transitively (union-find); a mechanism with
    every variable fixed is a group of its own."""
    parent: dict[str, str] = {}

    def find(v: str) -> str:
        while parent.setdefault(v, v) != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    free = {}
    for n in names:
        scope = [v for v in (n, *view.parents[n]) if v not in fixed]
        free[n] = scope
        for v in scope[1:]:
            a, b = find(scope[0]), find(v)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[Any, list[str]] = {}
    for n in names:
        groups.setdefault(find(free[n][0]) if free[n] else ("fixed", n), []).append(n)
    return [tuple(g) for g in groups.values()]


def own_size(view: FactorView, scopes: Iterable[tuple[str, ...]]) -> int:
    """The entries of the largest of the mechanisms over ``scopes`` (their unfixed variables)."""
    return max((math.prod(view.size(v) for v in s) for s in scopes), default=1)


def check_size(blocks: Iterable[Any], max_table_size: float | None, kind: str) -> None:
    """Refuse (:class:`TableTooLarge`) a plan whose largest table exceeds the bound; ``None`` is
    the default bound of the plan's number kind (:data:`MAX_TABLE_SIZE`). The message blames the
    graph's density only when elimination itself grows a table past every mechanism's own size."""
    if max_table_size is None:
        max_table_size = MAX_TABLE_SIZE[kind]
    blocks = list(blocks)
    largest = max((b.largest for b in blocks), default=1)
    if largest > max_table_size or largest > UNHOLDABLE:
        width = max(b.width for b in blocks)
        if largest > max(b.own for b in blocks):
            why = ("the graph is too densely connected for exact elimination here "
                   "(fix more variables, or raise max_table_size on the model)")
        else:
            why = "a mechanism's own table is that large (raise max_table_size on the model)"
        raise TableTooLarge(
            f"this query would build a table of about {largest:.3g} entries (elimination width "
            f"{width}, i.e. a table over {width + 1} variable{'' if width == 0 else 's'}), above "
            f"max_table_size={max_table_size:.3g}; {why}", size=largest, width=width)


class TablePlan:
    """Σ of the product of the mechanisms, as a table over ``keep`` with the fixed variables set.

    ``main`` holds the components that touch a kept variable; every other component is
    d-separated from them given the fixed values and contributes one number, its total (``rest``).
    """

    __slots__ = ("kind", "main", "rest", "denominator", "names")

    def __init__(self, view: FactorView, names: tuple[str, ...], fixed: frozenset[str],
                 keep: tuple[str, ...], kind: str, support: bool, max_table_size: float | None) -> None:
        self.kind, self.names = kind, names
        keep_set = set(keep)
        main: list[str] = []
        rest: list[Block] = []
        for group in _components(view, names, fixed):
            if any(v in keep_set for n in group for v in (n, *view.parents[n]) if v not in fixed):
                main.extend(group)
            else:
                rest.append(Block(view, group, fixed, (), kind, support))
        self.main = Block(view, tuple(main), fixed, keep, kind, support)
        self.rest = rest
        check_size([self.main, *rest], max_table_size, "float" if support else kind)
        self.denominator = 1 if support or kind != "exact" else math.prod(b.scale for b in [self.main, *rest])

    @property
    def in_float_range(self) -> bool:
        """A float plan whose every block is in float range (:attr:`Block.in_float_range`): a 0.0 in
        its table is a true zero."""
        return all(b.in_float_range for b in (self.main, *self.rest))

    def run(self, pos: Mapping[str, int], *, scale_sign_only: bool = False) -> tuple[np.ndarray, Any, Any]:
        """``(values, scale, denominator)`` (:meth:`run_scaled` with its power of two multiplied back in)."""
        values, scale, denominator, exp = self.run_scaled(pos, scale_sign_only=scale_sign_only)
        return (np.ldexp(values, exp) if exp else values), scale, denominator

    def run_scaled(self, pos: Mapping[str, int], *, scale_sign_only: bool = False) -> tuple[np.ndarray, Any, Any, int]:
        """``(values, scale, denominator, exp)``: the sum at each assignment of ``keep`` is
        ``values[...] * scale * 2**exp / denominator`` (``exp`` is 0 but for float sums redone exactly,
        :meth:`Block.exactly`). With ``scale_sign_only`` a d-separated component whose entries are all
        positive is not summed and counts as 1 (only the sign of ``scale`` then means anything)."""
        scale: Any = 1
        exp = 0
        for block in self.rest:
            if scale_sign_only and self.kind != SYMBOLIC and block.positive(pos):
                continue
            total, e = block.run_scaled(pos)
            scale, exp = scale * total[()], exp + e
            if isinstance(scale, (float, np.floating)) and scale:
                scale, e = math.frexp(scale)  # many small totals: keep their product in range too
                exp += e
        values, e = self.main.run_scaled(pos)
        if self.main.dtype is np.float64:
            return values, float(scale), 1, exp + e
        return values, scale, self.denominator, exp + e


class RatioPlan:
    """P(event | evidence) as one ratio: Σ with the event fixed over Σ with it free.

    The event's variables are *fixed*, never carried as table axes, so the cost does not grow
    with the number of event variables. Components (of the evidence-only graph) without an event
    variable appear identically above and below the bar and cancel; only their sign is checked
    (the evidence must be possible). Mechanism scales cancel too, so an exact ratio is a ratio of
    integers.
    """

    __slots__ = ("kind", "numerator", "denominator", "cancel")

    def __init__(self, view: FactorView, names: tuple[str, ...], given: frozenset[str],
                 event: frozenset[str], kind: str, max_table_size: float | None) -> None:
        self.kind = kind
        both = given | event
        inside: list[str] = []
        self.cancel: list[Block] = []
        for group in _components(view, names, given):
            if any(v in event for n in group for v in (n, *view.parents[n])):
                inside.extend(group)
            else:
                self.cancel.append(Block(view, group, given, (), kind, False))
        self.numerator = Block(view, tuple(inside), both, (), kind, False)
        self.denominator = Block(view, tuple(inside), given, (), kind, False)
        check_size([self.numerator, self.denominator, *self.cancel], max_table_size, kind)

    def run(self, pos: Mapping[str, int]) -> tuple[Any, Any, bool]:
        """``(numerator, denominator, evidence_possible)`` in the plan's kind (exact: integers)."""
        for block in self.cancel:
            if self.kind != SYMBOLIC and block.positive(pos):
                continue
            if block.run_scaled(pos)[0][()] == 0:  # a scaled total is 0 only when it truly is
                return 0, 0, False
        den, den_exp = self.denominator.run_scaled(pos)
        if den[()] == 0:
            return 0, den[()], False
        num, num_exp = self.numerator.run_scaled(pos)
        if num_exp == den_exp:
            return num[()], den[()], True
        # divide first: either side alone may be far outside float64's range, their ratio is not
        return math.ldexp(float(num[()]) / float(den[()]), num_exp - den_exp), 1.0, True


def table_plan(view: FactorView, keep: tuple[str, ...], fixed: Iterable[str], do: Iterable[str] = (),
               *, support: bool = False, max_table_size: float | None = None) -> TablePlan:
    """The cached plan for Σ over everything but ``keep`` with ``fixed`` set and ``do`` cut."""
    fixed, do = frozenset(fixed) | frozenset(do), frozenset(do)
    key = ("table", keep, fixed, do, support, max_table_size)
    plan = view.plans.get(key)
    if plan is None:
        names = tuple(n for n in view.ancestral_set([*keep, *fixed], cut=do) if n not in do)
        plan = remember(view, key, TablePlan(view, names, fixed, keep, view.kind(names), support,
                                             max_table_size))
    return plan


def ratio_plan(view: FactorView, event: Iterable[str], given: Iterable[str], do: Iterable[str] = (),
               *, max_table_size: float | None = None) -> RatioPlan:
    """The cached plan for P(event | given) after surgery on ``do``."""
    event, do = frozenset(event), frozenset(do)
    given = frozenset(given) | do
    key = ("ratio", event, given, do, max_table_size)
    plan = view.plans.get(key)
    if plan is None:
        names = tuple(n for n in view.ancestral_set([*event, *given], cut=do) if n not in do)
        plan = remember(view, key, RatioPlan(view, names, given, event, view.kind(names), max_table_size))
    return plan


def remember(view: FactorView, key: Any, plan: Any) -> Any:
    """Cache ``plan`` on the view; past :data:`MAX_PLANS` shapes the oldest is forgotten."""
    if len(view.plans) >= MAX_PLANS:
        del view.plans[next(iter(view.plans))]
    view.plans[key] = plan
    return plan
