"""Every variable's marginal in two passes of messages over the elimination tree (paper §2.2).

One elimination of all the free variables (evidence and intervened variables fixed, the surgery
of §2.2 as a cut) builds a tree: step i sums variable v_i out of its bucket — its own mechanisms
and the messages of earlier steps — and sends the result to the step that first eliminates a
variable of that message. The *upward* pass is that elimination. The *downward* pass sends each
step, from the step it sent to, the sum over everything else of the rest of the tree
(Shafer–Shenoy: products of the other messages, no division, so exact integers stay exact). A
step's bucket times its incoming downward message is then the joint, with the evidence, of its
clique, and v_i's marginal is that summed over the rest of the clique. All N marginals cost
about three eliminations instead of N.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .factors import FactorView
from .plans import (best_order, check_size, contraction_path, dtype_of, mechanism_factors, reduce_factors,
                    remember, subscripts_of)

__all__ = ["MarginalsPlan", "marginals_plan"]


class MarginalsPlan:
    """The compiled two-pass schedule for all marginals with ``fixed`` set and ``do`` cut.

    ``run(pos)`` returns {variable: unnormalised array over its domain} for every variable that is
    not fixed; each array is proportional to that variable's marginal given the fixed values.
    """

    __slots__ = ("kind", "dtype", "factors", "up", "down", "belief", "variables", "largest", "width")

    def __init__(self, view: FactorView, fixed: frozenset[str], do: frozenset[str], kind: str,
                 max_table_size: float | None) -> None:
        names = tuple(n for n in view.order if n not in do)
        self.kind, self.dtype = kind, dtype_of(kind)
        self.factors, scopes, _ = mechanism_factors(view, names, fixed, kind)
        sizes = {v: view.size(v) for s in scopes for v in s}
        order = best_order(scopes, sizes, ())
        # upward pass: which original factors and which earlier messages each step multiplies
        holder: dict[str, set[tuple[str, int]]] = {}
        for k, s in enumerate(scopes):
            for v in s:
                holder.setdefault(v, set()).add(("f", k))
        msg_scope: list[tuple[str, ...]] = []
        local: list[list[int]] = []
        children: list[list[int]] = []
        cliques: list[tuple[str, ...]] = []
        parent: list[int | None] = []
        for i, v in enumerate(order):
            items = sorted(holder.pop(v))
            local.append([k for t, k in items if t == "f"])
            children.append([k for t, k in items if t == "m"])
            for c in children[-1]:
                parent[c] = i
            clique = tuple(dict.fromkeys(u for s in [*(scopes[k] for k in local[-1]),
                                                     *(msg_scope[c] for c in children[-1])] for u in s))
            out = tuple(u for u in clique if u != v)
            for u in out:
                holder[u].difference_update(items)
                holder[u].add(("m", i))
            cliques.append(clique)
            msg_scope.append(out)
            parent.append(None)
        self.variables = tuple(order)
        self.largest = max((int(np.prod([sizes[u] for u in c])) for c in cliques), default=1)
        self.width = max((len(c) - 1 for c in cliques), default=0)

        check_size([self], max_table_size, kind)

        def step(operand_scopes: list[tuple[str, ...]], out: tuple[str, ...]) -> tuple[str, Any]:
            subs = subscripts_of(operand_scopes, out)
            return subs, contraction_path(subs, [tuple(sizes[u] for u in s) for s in operand_scopes])

        # each step's operands: its local factors ("f", k), its children's messages ("m", c), and
        # (downward) the message from its parent ("d", i)
        self.up = []
        self.down = []
        self.belief = []
        for i, v in enumerate(order):
            ops = [("f", k) for k in local[i]] + [("m", c) for c in children[i]]
            scope_of = lambda o: scopes[o[1]] if o[0] == "f" else msg_scope[o[1]]  # noqa: E731
            self.up.append((ops, *step([scope_of(o) for o in ops], msg_scope[i])))
            full = ops + ([("d", i)] if parent[i] is not None else [])
            full_scopes = [scope_of(o) if o[0] != "d" else msg_scope[i] for o in full]
            self.belief.append((full, *step(full_scopes, (v,))))
            sends = []
            for c in children[i]:
                rest = [o for o in full if o != ("m", c)]
                rest_scopes = [scope_of(o) if o[0] != "d" else msg_scope[i] for o in rest]
                covered = {u for s in rest_scopes for u in s}
                for u in msg_scope[c]:  # a variable only the child's message held: broadcast ones
                    if u not in covered:
                        rest.append(("u", sizes[u]))
                        rest_scopes.append((u,))
                sends.append((c, rest, *step(rest_scopes, msg_scope[c])))
            self.down.append(sends)

    def run(self, pos: Mapping[str, int]) -> dict[str, np.ndarray]:
        f = reduce_factors(self.factors, pos)
        m: list[Any] = []
        d: dict[int, Any] = {}

        def get(o: tuple[str, int]) -> Any:
            kind, k = o
            if kind == "u":
                return np.ones(k, dtype=self.dtype)
            return f[k] if kind == "f" else m[k] if kind == "m" else d[k]

        for ops, subs, path in self.up:
            m.append(self._einsum(subs, [get(o) for o in ops], path))
        out: dict[str, np.ndarray] = {}
        for i in range(len(self.up) - 1, -1, -1):
            for c, ops, subs, path in self.down[i]:
                d[c] = self._einsum(subs, [get(o) for o in ops], path)
            ops, subs, path = self.belief[i]
            out[self.variables[i]] = self._einsum(subs, [get(o) for o in ops], path)
        return out

    def _einsum(self, subs: str, operands: list, path: Any) -> np.ndarray:
        if not operands:
            return np.array(1 if self.dtype is object else 1.0, dtype=self.dtype)
        r = np.einsum(subs, *operands, optimize=path)
        return r if isinstance(r, np.ndarray) else np.array(r, dtype=self.dtype)


def marginals_plan(view: FactorView, fixed: frozenset[str], do: frozenset[str], max_table_size: float | None) -> MarginalsPlan:
    """The cached plan for every marginal with ``fixed`` (evidence and ``do``) set."""
    fixed = frozenset(fixed) | frozenset(do)
    key = ("marginals", fixed, frozenset(do), max_table_size)
    plan = view.plans.get(key)
    if plan is None:
        kind = view.kind(n for n in view.order if n not in do)
        plan = remember(view, key, MarginalsPlan(view, fixed, frozenset(do), kind, max_table_size))
    return plan
