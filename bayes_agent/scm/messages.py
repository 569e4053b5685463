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

import itertools
import math
from typing import Any, Mapping

import numpy as np

from .._numbers import EXACT, FLOAT
from .factors import FactorView
from .contraction import contraction_path, subscripts_of
from .elimination import best_order
from .plans import check_size, dtype_of, mechanism_factors, own_size, reduce_factors, remember, smallest_term_exponent

__all__ = ["TINY_CLIQUE", "BigContraction", "LevelSchedule", "MarginalsPlan", "SmallContraction", "marginals_plan"]

#: A step whose clique has at most this many entries runs in plain Python on flat lists
#: (:class:`SmallContraction`): on a polytree nearly every step is that small, and one numpy call
#: costs more than the few products it would do.
TINY_CLIQUE = 32


class SmallContraction:
    """Σ of a product over a small clique, in plain Python: each output entry is a sum of products
    of operand entries at flat positions worked out once (operands and result are flat lists in
    C order over their scopes). Exact integers, floats and sympy entries alike."""

    __slots__ = ("terms", "arity")

    def __init__(self, operand_scopes: list[tuple[str, ...]], out: tuple[str, ...], sizes: Mapping[str, int]) -> None:
        clique = tuple(dict.fromkeys(u for sc in (*operand_scopes, out) for u in sc))
        where = {u: i for i, u in enumerate(clique)}

        def flat(scope: tuple[str, ...], values: tuple[int, ...]) -> int:
            k = 0
            for u in scope:
                k = k * sizes[u] + values[where[u]]
            return k

        self.arity = len(operand_scopes)
        self.terms: list[list[tuple[int, ...]]] = [[] for _ in range(math.prod(sizes[u] for u in out))]
        for values in itertools.product(*(range(sizes[u]) for u in clique)):
            self.terms[flat(out, values)].append(tuple(flat(sc, values) for sc in operand_scopes))

    @staticmethod
    def convert(ops: list, shapes: tuple) -> list:
        """Arrays made flat lists."""
        return [x if type(x) is list else x.ravel().tolist() for x in ops]

    def __call__(self, ops: list[list]) -> list:
        terms = self.terms
        if self.arity == 1:
            a, = ops
            return [sum([a[i] for i, in t]) for t in terms]
        if self.arity == 2:
            a, b = ops
            return [sum([a[i] * b[j] for i, j in t]) for t in terms]
        if self.arity == 3:
            a, b, c = ops
            return [sum([a[i] * b[j] * c[k] for i, j, k in t]) for t in terms]
        out = []
        for t in terms:
            total = 0
            for idx in t:
                p = ops[0][idx[0]]
                for op, i in zip(ops[1:], idx[1:]):
                    p = p * op[i]
                total = total + p
            out.append(total)
        return out


class MarginalsPlan:
    """The compiled two-pass schedule for all marginals with ``fixed`` set and ``do`` cut.

    ``run(pos)`` returns {variable: unnormalised weights over its domain, a list} for every
    variable that is not fixed; each is proportional to that variable's marginal given the fixed
    values (only proportional: constant factors are dropped along the way).
    """

    __slots__ = ("kind", "dtype", "factors", "schedule", "ones", "n_slots", "variables", "largest", "width", "own",
                 "levels", "floor")

    def __init__(self, view: FactorView, fixed: frozenset[str], do: frozenset[str], kind: str,
                 max_table_size: float | None) -> None:
        names = tuple(n for n in view.order if n not in do)
        self.kind, self.dtype = kind, dtype_of(kind)
        self.factors, scopes, _ = mechanism_factors(view, names, fixed, kind)
        #: float plans: log2 of a floor under every positive entry of every message and belief (each
        #: a sum of products of mechanism entries), so a 0.0 above a float-safe floor is a true zero
        self.floor = smallest_term_exponent(v for v, _, _ in self.factors) if kind == FLOAT else None
        sizes = {v: view.size(v) for s in scopes for v in s}
        # Barren variables (no evidence among their descendants) go first, leaves first: each one's
        # bucket is then its own mechanism and constant messages, so its upward message is
        # constant (skipped below) and adds no edge to the graph the others are ordered on.
        relevant = set(view.ancestral_set(fixed - do, cut=do))
        barren = [n for n in reversed(names) if n not in relevant and n not in fixed]
        order = barren + best_order([sc for n, sc in zip(names, scopes) if n in relevant], sizes, ())
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
        self.own = own_size(view, scopes)

        check_size([self], max_table_size, kind)

        # Every table lives in one list of slots: the reduced mechanisms (0..F-1), then step i's
        # upward message (F + i), the downward message into step i (F + S + i), each variable's
        # belief (F + 2S + i), then constant all-ones vectors. Small tables are flat lists, large
        # ones arrays, decided here. The schedule is a flat list of (slot written, operand slots,
        # contraction, operand shapes where one needs converting): the upward pass, then per step
        # from the root down the messages it sends and its belief — one loop, no bookkeeping.
        n_f, n_s = len(scopes), len(order)
        up_slot = lambda i: n_f + i  # noqa: E731
        down_slot = lambda i: n_f + n_s + i  # noqa: E731
        self.ones: list[list] = []
        is_list = {k: math.prod(sizes[u] for u in sc) <= TINY_CLIQUE for k, sc in enumerate(scopes)}

        def ones_slot(size: int) -> int:
            self.ones.append([1 if self.dtype is object else 1.0] * size)
            is_list[n_f + 3 * n_s + len(self.ones) - 1] = True
            return n_f + 3 * n_s + len(self.ones) - 1

        def step(target: int, operands: list[tuple[int, tuple[str, ...]]], out: tuple[str, ...]) -> tuple:
            ids = tuple(k for k, _ in operands)
            operand_scopes = [sc for _, sc in operands]
            shapes = tuple(tuple(sizes[u] for u in sc) for sc in operand_scopes)
            clique = {u for sc in (*operand_scopes, out) for u in sc}
            small = bool(ids) and math.prod(sizes[u] for u in clique) <= TINY_CLIQUE
            how = (SmallContraction(operand_scopes, out, sizes) if small
                   else BigContraction(operand_scopes, out, sizes, self.dtype))
            is_list[target] = small
            ready = all(is_list[k] == small for k in ids)
            return (target, ids, how, None if ready else shapes)

        # Barren steps: a step whose bucket is its own variable's mechanism and constant messages
        # sends a constant upward (Σ_v P(v | pa) = 1, times the mechanism's scale). Every table
        # read from this plan is normalised per variable, so a positive constant cancels: such a
        # message is never computed, and its readers go without it.
        head = {k: n for k, n in enumerate(names)}
        constant: list[bool] = []
        for i, v in enumerate(order):
            constant.append(len(local[i]) == 1 and head[local[i][0]] == v and all(constant[c] for c in children[i]))

        def live(operands: list[tuple[int, tuple[str, ...]]], out: tuple[str, ...]) -> list:
            """``operands`` without constant upward messages, with all-ones vectors for the
            variables of ``out`` no operand holds any more."""
            kept = [o for o in operands if not (o[0] in up_of and constant[up_of[o[0]]])]
            covered = {u for _, sc in kept for u in sc}
            return kept + [(ones_slot(sizes[u]), (u,)) for u in out if u not in covered]

        up_of = {up_slot(i): i for i in range(n_s)}
        up, beliefs, sends = [], [], []
        for i, v in enumerate(order):
            if not constant[i]:
                ops = [(k, scopes[k]) for k in local[i]] + [(up_slot(c), msg_scope[c]) for c in children[i]]
                up.append(step(up_slot(i), live(ops, msg_scope[i]), msg_scope[i]))
        for i in range(n_s - 1, -1, -1):  # from the root down: a step's incoming message is known
            v = order[i]
            ops = [(k, scopes[k]) for k in local[i]] + [(up_slot(c), msg_scope[c]) for c in children[i]]
            full = ops + ([(down_slot(i), msg_scope[i])] if parent[i] is not None else [])
            out = []
            for c in children[i]:
                rest = [o for o in full if o[0] != up_slot(c)]
                out.append(step(down_slot(c), live(rest, msg_scope[c]), msg_scope[c]))
            sends.append(out)
            beliefs.append(step(n_f + 2 * n_s + i, live(full, (v,)), (v,)))
        self.schedule = up
        for out, belief in zip(sends, beliefs):
            self.schedule.extend(out)
            self.schedule.append(belief)
        self.n_slots = n_f + 3 * n_s
        slot_sizes = ([math.prod(sizes[u] for u in sc) for sc in scopes]
                      + [math.prod(sizes[u] for u in sc) for sc in msg_scope] * 2
                      + [sizes[v] for v in order] + [len(o) for o in self.ones])
        self.levels = (LevelSchedule(self, slot_sizes)
                       if kind in (EXACT, FLOAT) and all(type(s[2]) is SmallContraction for s in self.schedule)
                       else None)

    def run(self, pos: Mapping[str, int]) -> dict[str, list]:
        """{variable: unnormalised weights over its domain, as a list in domain order}."""
        if self.levels is not None:
            return self.levels.run(pos)
        slots: list[Any] = [f.ravel().tolist() if f.size <= TINY_CLIQUE else f
                            for f in reduce_factors(self.factors, pos)]
        slots.extend([None] * (self.n_slots - len(slots)))
        slots.extend(self.ones)
        for target, ids, how, shapes in self.schedule:
            ops = [slots[k] for k in ids]
            slots[target] = how(ops if shapes is None else how.convert(ops, shapes))
        first = len(self.factors) + 2 * len(self.variables)
        return {v: x if type(x) is list else x.tolist()
                for v, x in zip(self.variables, slots[first:first + len(self.variables)])}


class LevelSchedule:
    """A plan's small steps run level by level, each level as a handful of numpy calls.

    Every table lives at a fixed offset of one flat array (float64, or Python integers in an
    object array). A step's level is one more than the deepest step it reads; the steps of one
    level are independent, so their sums of products run together: gather each factor of every
    term (padded with a constant 1 to the level's largest arity), multiply, add each output
    entry's terms (``np.add.reduceat``), write the sums back. On a polytree the ~400 steps fall in
    ~15 levels. Same products, in the same order, as :class:`SmallContraction`.
    """

    __slots__ = ("template", "mech", "base", "coef", "fixed", "steps", "beliefs", "cuts", "variables")

    def __init__(self, plan: "MarginalsPlan", slot_sizes: list[int]) -> None:
        offset = np.concatenate([[0], np.cumsum(slot_sizes)]).astype(np.intp)
        one = int(offset[-1])  # one extra cell holding 1, the padding factor
        zero, unit = (0, 1) if plan.dtype is object else (0.0, 1.0)
        self.template = np.full(one + 1, zero, dtype=plan.dtype)
        self.template[one] = unit
        n_f, n_s = len(plan.factors), len(plan.variables)
        ones_at = int(offset[n_f + 3 * n_s])
        for vec in plan.ones:
            self.template[ones_at:ones_at + len(vec)] = vec
            ones_at += len(vec)
        # reduced mechanisms: entry e of the flat array is mech[base[e] + Σ_v pos[v] * coef[v][e]]
        self.mech = np.concatenate([values.ravel() for values, _, _ in plan.factors]) if n_f else \
            np.empty(0, dtype=plan.dtype)
        bases, coefs, start = [], {}, 0
        for values, template, axes in plan.factors:
            flat = np.arange(values.size, dtype=np.intp).reshape(values.shape)
            picked = flat if template is None else flat[template]
            bases.append(picked.ravel() + start)
            strides = [math.prod(values.shape[i + 1:]) for i in range(values.ndim)]
            for i, v in axes:
                coefs.setdefault(v, []).append((sum(len(b) for b in bases[:-1]), len(bases[-1]), strides[i]))
            start += values.size
        self.base = np.concatenate(bases) if bases else np.empty(0, dtype=np.intp)
        self.fixed = tuple(coefs)
        self.coef = np.zeros((len(coefs), len(self.base)), dtype=np.intp)
        for r, v in enumerate(self.fixed):
            for at, size, stride in coefs[v]:
                self.coef[r, at:at + size] = stride
        # the levels: per level, the gathered positions per factor, the segment starts, the targets
        depth: dict[int, int] = {}
        grouped: dict[int, list] = {}
        for target, ids, how, _ in plan.schedule:
            depth[target] = 1 + max((depth.get(k, 0) for k in ids), default=0)
            grouped.setdefault(depth[target], []).append((target, ids, how))
        self.steps = []
        for level in sorted(grouped):
            steps = grouped[level]
            arity = max(how.arity for _, _, how in steps)
            gather: list[list[int]] = [[] for _ in range(arity)]
            starts, targets = [], []
            for target, ids, how in steps:
                for e, terms in enumerate(how.terms):
                    starts.append(len(gather[0]))
                    targets.append(int(offset[target]) + e)
                    for idx in terms:
                        for a in range(arity):
                            gather[a].append(int(offset[ids[a]]) + idx[a] if a < len(ids) else one)
            self.steps.append((tuple(np.array(g, dtype=np.intp) for g in gather),
                               np.array(starts, dtype=np.intp), np.array(targets, dtype=np.intp)))
        first = n_f + 2 * n_s
        self.beliefs = (int(offset[first]), int(offset[first + n_s]))
        self.cuts = [int(offset[first + i]) - self.beliefs[0] for i in range(n_s + 1)]
        self.variables = plan.variables

    def run(self, pos: Mapping[str, int]) -> dict[str, list]:
        """{variable: unnormalised weights over its domain, as a list in domain order}."""
        table = self.template.copy()
        at = self.base if not self.fixed else self.base + np.array([pos[v] for v in self.fixed]) @ self.coef
        table[:len(at)] = self.mech[at]
        for gather, starts, targets in self.steps:
            product = table[gather[0]]
            for g in gather[1:]:
                product = product * table[g]
            table[targets] = np.add.reduceat(product, starts)
        flat = table[self.beliefs[0]:self.beliefs[1]].tolist()
        cuts = self.cuts
        return {v: flat[cuts[i]:cuts[i + 1]] for i, v in enumerate(self.variables)}


class BigContraction:
    """Σ of a product over a larger clique: one ``numpy.einsum`` with its path fixed up front."""

    __slots__ = ("subscripts", "path", "scalar", "dtype")

    def __init__(self, operand_scopes: list[tuple[str, ...]], out: tuple[str, ...], sizes: Mapping[str, int],
                 dtype: Any) -> None:
        self.subscripts = subscripts_of(operand_scopes, out) if operand_scopes else ""
        self.path = contraction_path(self.subscripts, [tuple(sizes[u] for u in sc) for sc in operand_scopes])
        self.scalar, self.dtype = not out, dtype

    def __call__(self, ops: list) -> np.ndarray:
        if not ops:  # an empty product
            return np.array(1 if self.dtype is object else 1.0, dtype=self.dtype)
        r = np.einsum(self.subscripts, *ops, optimize=self.path)
        return np.array(r, dtype=self.dtype) if self.scalar else r

    def convert(self, ops: list, shapes: tuple) -> list:
        """Flat lists made arrays of their shapes."""
        return [np.array(x, dtype=self.dtype).reshape(sh) if type(x) is list else x for x, sh in zip(ops, shapes)]


def marginals_plan(view: FactorView, fixed: frozenset[str], do: frozenset[str], max_table_size: float | None) -> MarginalsPlan:
    """The cached plan for every marginal with ``fixed`` (evidence and ``do``) set."""
    fixed = frozenset(fixed) | frozenset(do)
    key = ("marginals", fixed, frozenset(do), max_table_size)
    plan = view.plans.get(key)
    if plan is None:
        kind = view.kind(n for n in view.order if n not in do)
        plan = remember(view, key, MarginalsPlan(view, fixed, frozenset(do), kind, max_table_size))
    return plan
