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

Factors hold only their non-zero entries, so point masses and zero rows cost nothing. The
arithmetic is whatever the CPT entries are (Fraction, float or sympy): the routine only adds and
multiplies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, Mapping

if TYPE_CHECKING:
    from .model import SCM

__all__ = ["Factor", "elimination_order", "eliminate"]


class Factor:
    """A table over ``scope`` holding only non-zero entries: {values in scope order: number}."""

    __slots__ = ("scope", "table")

    def __init__(self, scope: tuple[str, ...], table: dict[tuple, Any]) -> None:
        self.scope, self.table = scope, table

    def __repr__(self) -> str:
        return f"Factor({self.scope!r}, {len(self.table)} entries)"

    def times(self, other: "Factor") -> "Factor":
        """The pointwise product over the union of the scopes (a hash join on shared variables)."""
        if len(other.table) < len(self.table):
            self, other = other, self
        pos = {v: i for i, v in enumerate(self.scope)}
        shared = [v for v in other.scope if v in pos]
        own = [i for i, v in enumerate(other.scope) if v not in pos]
        shared_at_other = [other.scope.index(v) for v in shared]
        shared_at_self = [pos[v] for v in shared]
        index: dict[tuple, list] = {}
        for key, value in other.table.items():
            index.setdefault(tuple(key[i] for i in shared_at_other), []).append(
                (tuple(key[i] for i in own), value))
        out: dict[tuple, Any] = {}
        for key, value in self.table.items():
            for rest, w in index.get(tuple(key[i] for i in shared_at_self), ()):
                out[key + rest] = value * w
        return Factor(self.scope + tuple(other.scope[i] for i in own), out)

    def sum_out(self, name: str) -> "Factor":
        """Σ over ``name``: the factor on the remaining scope."""
        i = self.scope.index(name)
        out: dict[tuple, Any] = {}
        for key, value in self.table.items():
            k = key[:i] + key[i + 1:]
            out[k] = out[k] + value if k in out else value
        return Factor(self.scope[:i] + self.scope[i + 1:], out)

    def total(self, zero: Any) -> Any:
        """Σ of every entry (``zero`` when the factor is empty)."""
        return sum(self.table.values(), zero)


def _mechanism_factor(model: "SCM", name: str, fixed: Mapping[str, Hashable],
                      lift: Callable[[Any], Any] | None) -> Factor:
    """P(name | parents) as a factor, with the fixed variables reduced out and zeros dropped."""
    var = model._vars[name]
    scope = (name, *var.parents)
    keep = [i for i, v in enumerate(scope) if v not in fixed]
    out: dict[tuple, Any] = {}
    for parent_values, row in model._tables[name].items():
        if any(p in fixed and fixed[p] != v for p, v in zip(var.parents, parent_values)):
            continue
        for value, prob in zip(var.domain, row):
            if (name in fixed and fixed[name] != value) or prob == 0:
                continue
            key = (value, *parent_values)
            out[tuple(key[i] for i in keep)] = lift(prob) if lift else prob
    return Factor(tuple(scope[i] for i in keep), out)


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
    a clique (ties: fewest neighbours, then name), as in Koller & Friedman §9.4.3.
    """
    keep = set(keep)
    adj: dict[str, set[str]] = {}
    for scope in scopes:
        for v in scope:
            adj.setdefault(v, set()).update(u for u in scope if u != v)
    todo = [v for v in adj if v not in keep]
    order: list[str] = []

    def cost(v: str) -> tuple[int, int, str]:
        nb = list(adj[v])
        fill = sum(1 for i, a in enumerate(nb) for b in nb[i + 1:] if b not in adj[a])
        return (fill, len(nb), v)

    costs = {v: cost(v) for v in todo}
    while costs:
        v = min(costs.values())[2]
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


def _eliminate_component(factors: list[Factor], keep: set[str], zero: Any) -> Factor:
    """Sum every variable outside ``keep`` out of the product of ``factors``."""
    order = elimination_order((f.scope for f in factors), keep)
    pool = {k: f for k, f in enumerate(factors)}
    holding: dict[str, set[int]] = {}
    for k, f in pool.items():
        for v in f.scope:
            holding.setdefault(v, set()).add(k)
    next_id = len(pool)
    for v in order:
        ids = sorted(holding.pop(v, ()))
        if not ids:
            continue
        product = pool.pop(ids[0])
        for k in ids[1:]:
            product = product.times(pool.pop(k))
        for u in product.scope:
            if u != v:
                holding[u] -= set(ids)
        result = product.sum_out(v)
        pool[next_id] = result
        for u in result.scope:
            holding[u].add(next_id)
        next_id += 1
    rest = list(pool.values())
    if not rest:
        return Factor((), {(): zero + 1})
    out = rest[0]
    for f in rest[1:]:
        out = out.times(f)
    return out


def eliminate(model: "SCM", keep: tuple[str, ...], fixed: Mapping[str, Hashable], zero: Any, *,
              lift: Callable[[Any], Any] | None = None) -> tuple[Factor, Any]:
    """Σ over every other variable of Π mechanisms with ``fixed`` imposed, as a factor over ``keep``.

    Returns ``(factor, scale)``: ``factor`` comes from the components holding a kept variable,
    ``scale`` is the product of the totals of the components d-separated from ``keep`` given
    ``fixed``, so the full sum is ``factor · scale``. ``lift`` maps each CPT entry first (the
    support check uses it to turn probabilities into 0/1).
    """
    relevant = model._relevant([*keep, *fixed])
    factors = [_mechanism_factor(model, n, fixed, lift) for n in relevant]
    keep_set = set(keep)
    main: list[Factor] = []
    scale = zero + 1
    for group in _components(factors):
        if any(v in keep_set for f in group for v in f.scope):
            main.extend(group)
        else:
            scale = scale * _eliminate_component(group, set(), zero).total(zero)
    factor = _eliminate_component(main, keep_set, zero)
    # order the scope as asked (a kept variable with no factor left cannot occur: each is relevant)
    perm = [factor.scope.index(v) for v in keep]
    table = {tuple(k[i] for i in perm): w for k, w in factor.table.items()}
    return Factor(tuple(keep), table), scale
