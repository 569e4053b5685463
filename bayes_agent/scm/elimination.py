"""Variable elimination: the SCM's sums over the joint without enumerating it (paper §2.1, §2.2).

The joint of a model is the product of its mechanisms, P(v) = Π_X P(x | pa(X)) (§2.1); after
``do`` the intervened mechanisms are point masses (§2.2), so the same routine answers
interventional queries. A query fixes some variables (the event, the evidence) and sums the
product over the rest. Instead of enumerating every assignment (exponential in the number of
ancestors), variable elimination pushes each sum inside the product:

1. *barren nodes are pruned*: only the query's variables and their ancestors enter, since every
   other mechanism sums to one;
2. fixed variables are *reduced out* of each factor, which cuts the graph at the evidence;
3. what remains splits into *connected components*; a component without a kept variable is
   d-separated from it given the evidence, so it is eliminated on its own and contributes one
   number (only the normaliser needs it);
4. within a component, variables are summed out one at a time in a greedy order
   (:func:`elimination_order`; :func:`best_order` tries each heuristic of :data:`HEURISTICS`,
   and on large tables seeded min-fill restarts with random tie-breaking, and keeps the order
   whose tables are smallest, as :func:`bucket_steps` counts them).

This module holds the order heuristics, the steps an order makes and what they cost, and the dense
:class:`Factor` with its :func:`contract`; :mod:`.plans` compiles the steps above once per query
shape and runs them (each einsum step as :mod:`.contraction` says). Factors are dense
numpy arrays, one axis per variable; each bucket is one ``numpy.einsum`` (product and sum in one
pass, the result never larger than the bucket's clique). Floats are
float64 arrays. Exact models are made integral first: each mechanism is multiplied by the least
common denominator of its entries, the sums run on Python integers (no gcd per operation), and
the product of those denominators is divided out once at the end, so the answer is the same
Fraction enumeration gives. sympy entries run as object arrays.
"""

from __future__ import annotations

import math
import random
from typing import Any, Iterable, Mapping

import numpy as np

from ..errors import InvalidArgument
from .contraction import subscripts_of

__all__ = ["HEURISTICS", "MAX_RESTARTS", "RESTART_ENTRIES", "SMALL_TABLE", "UNHOLDABLE", "Factor", "best_order",
           "bucket_steps", "contract", "elimination_order"]



class Factor:
    """A dense table over ``scope``: ``values[i, j, ...]`` is the entry at the i-th value of the
    first variable's domain, the j-th of the second, and so on."""

    __slots__ = ("scope", "values")

    def __init__(self, scope: tuple[str, ...], values: np.ndarray) -> None:
        self.scope, self.values = scope, values

    def __repr__(self) -> str:
        return f"Factor({self.scope!r}, shape={self.values.shape})"

    def total(self) -> Any:
        """Σ of every entry."""
        return self.values.sum() if self.values.size else 0


def contract(factors: list[Factor], out: Iterable[str]) -> Factor:
    """Σ over every variable not in ``out`` of the product of ``factors``: one einsum."""
    out = tuple(out)
    if not factors:
        return Factor((), np.array(1, dtype=object))
    labels: dict[str, int] = {}
    args: list[Any] = []
    for f in factors:
        args += [f.values, [labels.setdefault(v, len(labels)) for v in f.scope]]
    if len(labels) > 52:  # numpy's einsum labels; a table over 53 variables could not be held anyway
        raise InvalidArgument(
            f"this query needs one table over {len(labels)} variables (the graph is too densely "
            f"connected for exact elimination)"
        )
    args.append([labels[v] for v in out])
    result = np.einsum(*args)
    if not isinstance(result, np.ndarray):  # a full sum comes back as a bare scalar: keep its kind
        dtype = object if any(f.values.dtype == object for f in factors) else np.float64
        result = np.array(result, dtype=dtype)
    return Factor(out, result)


#: The greedy elimination heuristics (Koller & Friedman §9.4.3.3); a query plan tries each and
#: keeps the order whose tables are smallest in total.
HEURISTICS = ("weighted-min-fill", "min-fill", "min-weight", "min-neighbors")


def elimination_order(scopes: Iterable[tuple[str, ...]], keep: Iterable[str] = (),
                      sizes: Mapping[str, int] | None = None, heuristic: str = "weighted-min-fill",
                      rng: random.Random | None = None) -> list[str]:
    """A greedy order for summing out every variable of ``scopes`` not in ``keep``.

    Repeatedly eliminate the cheapest variable. ``"weighted-min-fill"`` (default): the fewest new
    edges its neighbours need to become a clique, an edge u–w weighing |dom u|·|dom w|
    (``sizes``; 1 each when not given, which is plain min-fill), ties by the size of the table the
    step builds; ``"min-fill"``: unweighted fill edges, ties by neighbours; ``"min-weight"``: the
    size of the table the step builds; ``"min-neighbors"``: the fewest neighbours. Remaining ties
    go to the variable seen first, so the order is deterministic. With ``rng`` every tie on the
    heuristic's first key is broken at random instead (one draw of a randomised restart; a seeded
    ``rng`` keeps it reproducible).
    """
    if heuristic not in HEURISTICS:
        raise InvalidArgument(f"heuristic must be one of {HEURISTICS}, got {heuristic!r}")
    keep = set(keep)
    adj: dict[str, set[str]] = {}
    for scope in scopes:
        for v in scope:
            adj.setdefault(v, set()).update(u for u in scope if u != v)
    rank = {v: i for i, v in enumerate(adj)}
    size = (lambda v: 1) if sizes is None else sizes.__getitem__
    unit = heuristic == "min-fill"
    order: list[str] = []

    def cost(v: str) -> tuple[int, int, int, str]:
        nb = list(adj[v])
        weight = math.prod(map(size, nb)) * size(v)
        if heuristic == "min-weight":
            return (weight, rng.random() if rng else len(nb), rank[v], v)
        if heuristic == "min-neighbors":
            return (len(nb), rng.random() if rng else weight, rank[v], v)
        fill = sum(1 if unit else size(a) * size(b)
                   for i, a in enumerate(nb) for b in nb[i + 1:] if b not in adj[a])
        if rng is not None:
            return (fill, rng.random(), rank[v], v)
        return (fill, len(nb) if unit else weight, rank[v], v)

    costs = {v: cost(v) for v in adj if v not in keep}
    while costs:
        v = min(costs.values())[3]
        del costs[v]
        nb = adj.pop(v)
        for a in nb:
            adj[a].discard(v)
            adj[a].update(u for u in nb if u != a)
        order.append(v)
        # only vertices next to v, or next to one of its neighbours, see their fill change
        touched = set(nb)
        for a in nb:
            touched |= adj[a]
        # in first-seen order, not set order: a randomised restart draws its tie-breaks in this
        # order, and set order changes with the interpreter's string hashing (PYTHONHASHSEED)
        for u in sorted(touched, key=rank.__getitem__):
            if u in costs:
                costs[u] = cost(u)
    return order


#: No machine holds a table this large; refused whatever max_table_size says.
UNHOLDABLE = 1 << 52

#: An order whose largest table is at most this many entries is taken without trying the others.
SMALL_TABLE = 1 << 10

#: Above this many table entries in total, the greedy orders are followed by randomised restarts
#: (min-fill with ties broken at random, seeded): one restart per this many entries, at most
#: :data:`MAX_RESTARTS`. Compiling then costs more, once per query shape; every later run gains.
RESTART_ENTRIES = 1 << 15
MAX_RESTARTS = 8


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
