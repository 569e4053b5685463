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
4. within a component, variables are summed out one at a time in *min-fill* order (ties by
   fewest neighbours, then by name, so the order is deterministic).

Factors are dense numpy arrays, one axis per variable; each bucket is one ``numpy.einsum``
(product and sum in one pass, the result never larger than the bucket's clique). Floats are
float64 arrays. Exact models are made integral first: each mechanism is multiplied by the least
common denominator of its entries, the sums run on Python integers (no gcd per operation), and
the product of those denominators is divided out once at the end, so the answer is the same
Fraction enumeration gives. sympy entries run as object arrays.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Hashable, Iterable, Mapping

import numpy as np

from .._numbers import EXACT, FLOAT, SYMBOLIC, kind_of
from ..errors import InvalidArgument

if TYPE_CHECKING:
    from .model import SCM

__all__ = ["Factor", "contract", "elimination_order", "eliminate"]



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


def _kind(model: "SCM", names: Iterable[str]) -> str:
    """How a query's numbers are held: float64 (FLOAT), scaled Python ints (EXACT) or sympy objects."""
    return kind_of(x for n in names for row in model._tables[n].values() for x in row)


def _mechanism_factor(model: "SCM", name: str, fixed: Mapping[str, Hashable], kind: str,
                      support: bool) -> tuple[Factor, int]:
    """P(name | parents) as a factor with the fixed variables indexed out, and its scale.

    In the exact kind every entry is multiplied by the least common denominator of the
    mechanism (returned as the scale); ``support`` turns entries into 1 (positive) or 0.
    """
    var = model._vars[name]
    scope = (name, *var.parents)
    # one cache shared by a model and every model do() makes from it, checked by table identity
    cache = model.__dict__.setdefault("_dense", {})
    key, table = (name, kind, support), model._tables[name]
    hit = cache.get(key)
    if hit is None or hit[0] is not table:
        hit = cache[key] = (table, *_dense_mechanism(model, name, kind, support))
    _, values, scale = hit
    index = tuple(model._vars[v].domain.index(fixed[v]) if v in fixed else slice(None) for v in scope)
    reduced = np.asarray(values[index], dtype=values.dtype)  # a full index gives a bare scalar
    return Factor(tuple(v for v in scope if v not in fixed), reduced), scale


def _dense_mechanism(model: "SCM", name: str, kind: str, support: bool) -> tuple[np.ndarray, int]:
    var = model._vars[name]
    entries = list(model._tables[name].values())  # rows in parent-product order
    scale = 1
    if support:
        flat = [[1.0 if x != 0 else 0.0 for x in row] for row in entries]
        dtype: Any = np.float64
    elif kind == FLOAT:
        flat, dtype = [[float(x) for x in row] for row in entries], np.float64
    elif kind == EXACT:
        scale = math.lcm(*(Fraction(x).denominator for row in entries for x in row))
        flat, dtype = [[int(Fraction(x) * scale) for x in row] for row in entries], object
    else:
        flat, dtype = [list(row) for row in entries], object
    shape = [len(model._vars[p].domain) for p in var.parents] + [len(var.domain)]
    values = np.empty(len(flat) * len(var.domain), dtype=dtype)
    values[:] = [x for row in flat for x in row]
    return np.moveaxis(values.reshape(shape), -1, 0), scale


def _components(factors: list[Factor]) -> list[list[Factor]]:
    """Group factors that share variables, transitively (union-find over the scopes)."""
    parent: dict[str, str] = {}

    def find(v: str) -> str:
        while parent.setdefault(v, v) != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for f in factors:
        for v in f.scope[1:]:
            a, b = find(f.scope[0]), find(v)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[Any, list[Factor]] = {}
    for k, f in enumerate(factors):
        groups.setdefault(find(f.scope[0]) if f.scope else ("scalar", k), []).append(f)
    return list(groups.values())


def elimination_order(scopes: Iterable[tuple[str, ...]], keep: Iterable[str] = ()) -> list[str]:
    """A min-fill order for summing out every variable of ``scopes`` not in ``keep``.

    Greedy: repeatedly eliminate the variable whose neighbours need the fewest new edges to become
    a clique (ties: fewest neighbours, then first seen), as in Koller & Friedman §9.4.3.
    """
    keep = set(keep)
    adj: dict[str, set[str]] = {}
    for scope in scopes:
        for v in scope:
            adj.setdefault(v, set()).update(u for u in scope if u != v)
    rank = {v: i for i, v in enumerate(adj)}
    order: list[str] = []

    def cost(v: str) -> tuple[int, int, int, str]:
        nb = list(adj[v])
        fill = sum(1 for i, a in enumerate(nb) for b in nb[i + 1:] if b not in adj[a])
        return (fill, len(nb), rank[v], v)

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
        for u in touched:
            if u in costs:
                costs[u] = cost(u)
    return order


def _eliminate_component(factors: list[Factor], keep: tuple[str, ...]) -> Factor:
    """Sum every variable outside ``keep`` out of the product of ``factors``, bucket by bucket."""
    pool = dict(enumerate(factors))
    holding: dict[str, set[int]] = {}
    for k, f in pool.items():
        for v in f.scope:
            holding.setdefault(v, set()).add(k)
    next_id = len(pool)
    for v in elimination_order((f.scope for f in factors), keep):
        ids = sorted(holding.pop(v))
        bucket = [pool.pop(k) for k in ids]
        scope = tuple(dict.fromkeys(u for f in bucket for u in f.scope if u != v))
        for u in scope:
            holding[u] -= set(ids)
            holding[u].add(next_id)
        pool[next_id] = contract(bucket, scope)
        next_id += 1
    return contract(list(pool.values()), keep)


def eliminate(model: "SCM", keep: tuple[str, ...], fixed: Mapping[str, Hashable], *,
              support: bool = False, scale_sign_only: bool = False) -> tuple[np.ndarray, Any, Any]:
    """Σ over every other variable of Π mechanisms with ``fixed`` imposed, as an array over ``keep``.

    Returns ``(values, scale, denominator)``: the sum at each assignment of ``keep`` is
    ``values[...] * scale / denominator``. ``values`` comes from the components holding a kept
    variable; ``scale`` is the product of the totals of the components d-separated from ``keep``
    given ``fixed`` (a conditional only needs it to be non-zero); ``denominator`` is the product of
    the mechanisms' integer scales (1 unless the model is exact). ``support=True`` counts, in
    floats, the assignments whose every mechanism is positive. With ``scale_sign_only=True`` a
    d-separated component whose entries are all positive is not summed (its total is surely
    positive) and counts as 1: then only the sign of ``scale`` means anything.
    """
    relevant = model._relevant([*keep, *fixed])
    kind = _kind(model, relevant)
    factors, denominator = [], 1
    for n in relevant:
        f, d = _mechanism_factor(model, n, fixed, kind, support)
        factors.append(f)
        denominator *= d
    keep_set = set(keep)
    main: list[Factor] = []
    scale: Any = 1
    for group in _components(factors):
        if any(v in keep_set for f in group for v in f.scope):
            main.extend(group)
        elif scale_sign_only and kind != SYMBOLIC and all((f.values > 0).all() for f in group):
            continue
        else:
            scale = scale * _eliminate_component(group, ()).values[()]
    values = _eliminate_component(main, keep).values
    if kind == FLOAT or support:
        return values, float(scale), 1
    return values, scale, denominator
