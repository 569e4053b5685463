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
"""

from __future__ import annotations

import math
import random
from string import ascii_letters
from typing import Any, Iterable, Mapping

import numpy as np

from .._numbers import SYMBOLIC
from ..errors import InvalidArgument, TableTooLarge
from .elimination import HEURISTICS, elimination_order
from .factors import FactorView

__all__ = ["FOLD", "MAX_OPERANDS", "MAX_PLANS", "MAX_TABLE_SIZE", "Block", "RatioPlan", "TablePlan", "FLOAT_FLOOR", "IN_RANGE", "best_order", "bucket_steps", "check_size", "contraction_path",
           "dtype_of", "fold_einsum", "fold_einsum_scaled", "mechanism_factors", "optimal_path", "own_size", "path_cost", "ratio_plan", "reduce_factors", "remember", "subscripts_of",
           "table_plan"]

#: Default bound on the entries of any table a query builds, by number kind (``max_table_size=None``):
#: 2**27 float64 entries is 1 GiB; an exact entry (a Python integer behind a pointer) takes about
#: eight times the memory and far more time, so exact and symbolic queries stop at 2**24.
MAX_TABLE_SIZE = {"float": 2 ** 27, "exact": 2 ** 24, "symbolic": 2 ** 24}

#: How many compiled query shapes a model keeps (oldest forgotten first).
MAX_PLANS = 4096

#: No machine holds a table this large; refused whatever max_table_size says.
UNHOLDABLE = 1 << 52

#: Buckets of at most this many factors get the cheapest pairwise path (:func:`optimal_path`, an
#: exhaustive search paid once per plan); larger ones numpy's greedy path.
MAX_OPTIMAL_PATH = 8

#: A bucket of more operands than this (an event over many independent variables fixes each
#: one's mechanism into a scalar) is contracted pairwise: einsum's single C loop takes at most 64.
MAX_OPERANDS = 32

#: The path of a step with more than :data:`MAX_OPERANDS` operands: :func:`fold_einsum`.
FOLD = "fold"

#: An order whose largest table is at most this many entries is taken without trying the others.
SMALL_TABLE = 1 << 10

#: Above this many table entries in total, the greedy orders are followed by randomised restarts
#: (min-fill with ties broken at random, seeded): one restart per this many entries, at most
#: :data:`MAX_RESTARTS`. Compiling then costs more, once per query shape; every later run gains.
RESTART_ENTRIES = 1 << 15
MAX_RESTARTS = 8


class Block:
    """Mechanisms summed together: the fixed axes to index, the einsum steps, the kept axes.

    ``run(pos)`` returns the array over ``keep`` (in that order) of Σ over every other variable of
    the product of the block's mechanisms with the fixed variables at the positions ``pos``.
    """

    __slots__ = ("names", "factors", "steps", "keep", "dtype", "largest", "width", "own", "scale", "known",
                 "all_positive", "support")

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
        """``(values, exp)``: the sum is ``values · 2**exp``. ``exp`` is 0 but for float
        probabilities whose sum came out near float64's subnormals: those are summed again with
        every table kept in range (:func:`in_range`), so a tiny likelihood gives no false zero."""
        if self.known is not None:
            return self.known, 0
        if not self.factors:  # an empty product
            return np.array(1 if self.dtype is object else 1.0, dtype=self.dtype), 0
        out, exp = self._contract(reduce_factors(self.factors, pos), scaled=False)
        # entries are sums of non-negative products: an underflow anywhere shows in the result as
        # an entry below the floor (an exact 0.0 too: maybe true, maybe not; the rerun tells)
        if self.dtype is np.float64 and not self.support and out.size and float(out.min()) < 2.0 ** -FLOAT_FLOOR:
            return self._contract(reduce_factors(self.factors, pos), scaled=True)
        return out, exp

    def _contract(self, slots: list[np.ndarray], scaled: bool) -> tuple[np.ndarray, int]:
        exp, tops = 0, []
        if scaled:
            for k, reduced in enumerate(slots):
                slots[k], e, top = _scaled(reduced)
                exp, _ = exp + e, tops.append(top)
        for ids, subscripts, path in self.steps:
            ops = [slots[i] for i in ids]
            if scaled and sum(tops[i] for i in ids) < -FLOAT_FLOOR:
                # a product of the operands' smallest entries could leave float64: pair by pair,
                # each partial product kept in range
                out, e = fold_einsum_scaled(subscripts, ops, self.dtype)
                exp += e
            elif path is FOLD:
                out = fold_einsum(subscripts, ops, self.dtype)
            else:
                out = np.einsum(subscripts, *ops, optimize=path)
            if not isinstance(out, np.ndarray):  # a full sum is a bare scalar: keep it an array
                out = np.array(out, dtype=self.dtype)
            if scaled:
                out, e, top = _scaled(out)
                exp, _ = exp + e, tops.append(top)
            slots.append(out)
        return slots[-1], exp

    def positive(self, pos: Mapping[str, int]) -> bool:
        """Is every entry of every reduced mechanism positive (so the block's sum surely is)?"""
        return self.all_positive or all((reduced > 0).all() for reduced in reduce_factors(self.factors, pos))


#: A float table whose largest entry is below 2**-IN_RANGE is rescaled (:func:`in_range`): a step
#: multiplies a handful of tables, so their product stays far above float64's subnormal range.
IN_RANGE = 64


#: A float sum with an entry below 2**-FLOAT_FLOOR is summed again kept in range; there, a step whose
#: operands' smallest positive entries multiply to less than that is contracted pair by pair, each
#: partial product kept in range (float64's normal range ends at 2**-1022).
FLOAT_FLOOR = 900


def in_range(table: np.ndarray) -> tuple[np.ndarray, int]:
    """A float table of non-negative entries with a tiny largest entry, divided by the power of two
    that brings that entry into [1/2, 1), and the exponent: ``table == out · 2**exp``. Scaling by a
    power of two rounds nothing, so probabilities multiplied through many tiny likelihoods neither
    underflow to a false 0.0 nor lose bits among the subnormals; tables in range are left alone."""
    return _scaled(table)[:2]


def _scaled(table: np.ndarray) -> tuple[np.ndarray, int, int]:
    """:func:`in_range`, and the binary exponent of the result's smallest positive entry (0 if
    none is > 0): how far a product with this table can push an entry towards underflow."""
    top = float(table.max()) if table.size else 0.0
    if not top > 0.0:
        return table, 0, 0
    low = math.frexp(float(np.min(table, where=table > 0, initial=top)))[1]
    e = math.frexp(top)[1]
    if top >= 2.0 ** -IN_RANGE:
        return table, 0, low
    return np.ldexp(table, -e), e, low - e


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


def contraction_path(subscripts: str, shapes: list[tuple[int, ...]]) -> Any:
    """numpy's greedy pairwise path, fixed at compile time, for a bucket of two or more factors
    whose clique is large (pairwise products through BLAS-backed tensordot; einsum's one C loop
    over a large clique strides badly when the operands' axes disagree); ``False`` (one C loop,
    no path search per call) otherwise."""
    letters: dict[str, int] = {}
    for term, shape in zip(subscripts.split("->")[0].split(","), shapes):
        letters.update(zip(term, shape))
    if len(shapes) > MAX_OPERANDS:
        return FOLD
    if len(shapes) < 2 or math.prod(letters.values()) <= 1 << 12:
        return False
    if len(shapes) <= MAX_OPTIMAL_PATH:
        # the cheapest pairwise order can need half the products of numpy's greedy one in a
        # many-factor bucket (what an exact query pays for, one Python integer at a time)
        return optimal_path(subscripts, shapes)
    return np.einsum_path(subscripts, *(np.empty(sh, dtype=np.int8) for sh in shapes), optimize="greedy")[0]


def fold_einsum(subscripts: str, operands: list[np.ndarray], dtype: Any) -> np.ndarray:
    """The einsum of many operands two at a time, left to right, each letter summed as soon as no
    later operand needs it (numpy's single loop takes at most 64 operands). In a bucket every
    partial product is over part of the bucket's clique, so no intermediate is larger than it."""
    return _fold(subscripts, operands, dtype, rescale=False)[0]


def fold_einsum_scaled(subscripts: str, operands: list[np.ndarray], dtype: Any) -> tuple[np.ndarray, int]:
    """:func:`fold_einsum` with each partial product kept in float64's range (:func:`in_range`):
    ``(out, exp)``, the result being ``out · 2**exp``."""
    return _fold(subscripts, operands, dtype, rescale=True)


def _fold(subscripts: str, operands: list[np.ndarray], dtype: Any, rescale: bool) -> tuple[np.ndarray, int]:
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    acc, held, exp = operands[0], terms[0], 0
    for k in range(1, len(terms)):
        needed = set(output).union(*terms[k + 1:])
        merged = "".join(c for c in dict.fromkeys(held + terms[k]) if c in needed)
        acc = np.einsum(f"{held},{terms[k]}->{merged}", acc, operands[k])
        if not isinstance(acc, np.ndarray):
            acc = np.array(acc, dtype=dtype)
        if rescale:
            acc, e = in_range(acc)
            exp += e
        held = merged
    return (acc if held == output else np.einsum(f"{held}->{output}", acc)), exp


def optimal_path(subscripts: str, shapes: list[tuple[int, ...]]) -> list:
    """The pairwise order (numpy's path format) with the fewest scalar products
    (:func:`path_cost`), by dynamic programming over subsets of operands: O(3**n), for small n."""
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    n = len(terms)
    size = {c: k for term, shape in zip(terms, shapes) for c, k in zip(term, shape)}
    full = (1 << n) - 1
    letters = [set(t) for t in terms]

    def union(mask: int) -> set:
        return set().union(*(letters[i] for i in range(n) if mask >> i & 1))

    # what a subset's result carries: its labels needed by the output or by another operand (an
    # operand itself carries all of its labels until it is contracted)
    carried = {m: union(m) & (set(output) | union(full ^ m)) for m in range(1, full + 1)}
    carried.update({1 << i: letters[i] for i in range(n)})
    best: dict[int, tuple[int, Any]] = {1 << i: (0, i) for i in range(n)}
    for m in range(1, full + 1):
        if m in best:
            continue
        choice = None
        sub = (m - 1) & m
        while sub:
            other = m ^ sub
            if sub < other:  # each split once
                cost = best[sub][0] + best[other][0] + math.prod(size[c] for c in carried[sub] | carried[other])
                if choice is None or cost < choice[0]:
                    choice = (cost, (best[sub][1], best[other][1]))
            sub = (sub - 1) & m
        best[m] = choice
    # the contraction tree in post-order, as numpy's list of positions in a shrinking operand list
    path: list = ["einsum_path"]
    current: list[Any] = list(range(n))

    def emit(tree: Any) -> None:
        if isinstance(tree, int):
            return
        emit(tree[0])
        emit(tree[1])
        i, j = sorted((current.index(tree[0]), current.index(tree[1])))
        path.append((i, j))
        current.pop(j)
        current.pop(i)
        current.append(tree)

    emit(best[full][1])
    return path


def path_cost(subscripts: str, shapes: list[tuple[int, ...]], path: list) -> int:
    """Scalar products a pairwise ``path`` (numpy's format) needs: per contraction, the entries
    of the table over every label its operands carry."""
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    size = {c: n for term, shape in zip(terms, shapes) for c, n in zip(term, shape)}
    cost = 0
    for ids in path[1:]:
        taken = [terms[i] for i in ids]
        for i in sorted(ids, reverse=True):
            terms.pop(i)
        letters = set("".join(taken))
        cost += math.prod(size[c] for c in letters)
        needed = set(output).union(*terms)
        terms.append("".join(c for c in dict.fromkeys("".join(taken)) if c in needed))
    return cost


def best_order(scopes: list[tuple[str, ...]], sizes: Mapping[str, int], keep: tuple[str, ...]) -> list[str]:
    """The order, among the greedy heuristics' and (for large tables) seeded randomised min-fill
    restarts', whose tables are smallest in total."""
    best = None
    for heuristic in HEURISTICS if len(scopes) > 2 else HEURISTICS[:1]:
        order = elimination_order(scopes, keep, sizes, heuristic)
        total, _, largest, _ = bucket_steps(scopes, sizes, keep, order, subscripts=False)
        if best is None or total < best[0]:
            best = (total, order)
        if largest <= SMALL_TABLE:  # small tables already: another order cannot gain much
            return best[1]
    if best[0] > UNHOLDABLE:  # refused anyway
        return best[1]
    rng = random.Random(0)  # fixed seed: the same model and shape always get the same plan
    for _ in range(min(MAX_RESTARTS, best[0] // RESTART_ENTRIES)):
        order = elimination_order(scopes, keep, sizes, "min-fill", rng=rng)
        total = bucket_steps(scopes, sizes, keep, order, subscripts=False)[0]
        if total < best[0]:
            best = (total, order)
    return best[1]


def bucket_steps(scopes: list[tuple[str, ...]], sizes: Mapping[str, int], keep: tuple[str, ...],
             order: list[str], subscripts: bool = True) -> tuple[int, list, int, int]:
    """The einsum steps of eliminating in ``order``: (total table entries, steps, largest, width)."""
    pool = dict(enumerate(scopes))
    holding: dict[str, set[int]] = {}
    for k, scope in pool.items():
        for v in scope:
            holding.setdefault(v, set()).add(k)
    steps: list[tuple[tuple[int, ...], str]] = []
    total, largest, width = 0, 1, 0
    next_id = len(pool)
    for v in order:
        ids = tuple(sorted(holding.pop(v)))
        bucket = [pool.pop(k) for k in ids]
        clique = tuple(dict.fromkeys(u for s in bucket for u in s))
        out = tuple(u for u in clique if u != v)
        entries = math.prod(sizes[u] for u in clique)
        total, largest, width = total + entries * len(bucket), max(largest, entries), max(width, len(clique) - 1)
        for u in out:
            holding[u].difference_update(ids)
            holding[u].add(next_id)
        steps.append((ids, bucket, out))
        pool[next_id] = out
        next_id += 1
    ids = tuple(pool)
    rest = [pool[k] for k in ids]
    clique = tuple(dict.fromkeys(u for s in rest for u in s))
    entries = math.prod(sizes[u] for u in clique)
    total, largest, width = total + entries * len(rest), max(largest, entries), max(width, len(clique) - 1)
    if ids and not (len(ids) == 1 and rest[0] == keep and ids[0] == next_id - 1):
        steps.append((ids, rest, keep))
    if not subscripts or largest > UNHOLDABLE:  # refused by check_size: do not write subscripts
        return total, [], largest, width
    return total, [(ids, subscripts_of(bucket, out), [tuple(sizes[u] for u in s) for s in bucket])
                   for ids, bucket, out in steps], largest, width


def subscripts_of(scopes: list[tuple[str, ...]], out: tuple[str, ...]) -> str:
    """The einsum subscripts ("ab,bc->ac") for operands over ``scopes`` summed onto ``out``."""
    letters: dict[str, str] = {}
    for scope in (*scopes, out):
        for v in scope:
            if v not in letters:
                if len(letters) == len(ascii_letters):
                    raise InvalidArgument(
                        f"this query needs one table over more than {len(ascii_letters)} variables "
                        f"(the graph is too densely connected for exact elimination)"
                    )
                letters[v] = ascii_letters[len(letters)]
    return ",".join("".join(letters[v] for v in s) for s in scopes) + "->" + "".join(letters[v] for v in out)


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

    def run(self, pos: Mapping[str, int], *, scale_sign_only: bool = False) -> tuple[np.ndarray, Any, Any]:
        """``(values, scale, denominator)`` (:meth:`run_scaled` with its power of two multiplied back in)."""
        values, scale, denominator, exp = self.run_scaled(pos, scale_sign_only=scale_sign_only)
        return (np.ldexp(values, exp) if exp else values), scale, denominator

    def run_scaled(self, pos: Mapping[str, int], *, scale_sign_only: bool = False) -> tuple[np.ndarray, Any, Any, int]:
        """``(values, scale, denominator, exp)``: the sum at each assignment of ``keep`` is
        ``values[...] * scale * 2**exp / denominator`` (``exp`` is 0 but for floats kept in range,
        :func:`in_range`). With ``scale_sign_only`` a d-separated component whose entries are all
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
        return math.ldexp(float(num[()]), num_exp - den_exp), den[()], True  # the ratio is in range


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
