"""Queries on a structural causal model: P(event | do(x*), evidence), distributions, marginals.

Two engines answer the same questions with the same numbers and the same errors:
:data:`ELIMINATION` (compiled, cached plans of variable elimination, :mod:`.plans`) and
:data:`ENUMERATION` (every assignment of the ancestors; exponential, kept as the reference the
tests check elimination against). Both read the model only through its public API and its
:class:`~.factors.FactorView`. The surgery of §2.2 enters elimination as a *cut*: the intervened
variable's mechanism is dropped, its arrows in are ignored, and it is fixed at x*. Enumeration
applies ``SCM.do`` and walks the post-surgery model, as the paper writes it.
"""

from __future__ import annotations

import math
import sys
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Hashable, Iterable, Iterator, Mapping

import numpy as np

from .._numbers import EXACT, FLOAT, convert, is_symbolic, is_zero, sympy_module
from ..errors import FloatUnderflow, TableTooLarge, ZeroEvidence
from .factors import FactorView
from .messages import marginals_plan
from .plans import MAX_TABLE_SIZE, ratio_plan, table_plan

if TYPE_CHECKING:
    from .model import SCM

__all__ = ["MAX_WALK", "ELIMINATION", "ENUMERATION", "ENGINES", "SMALL_EVENT", "TINY_BELIEF", "TINY_EXPONENT", "Elimination", "Enumeration", "all_marginals", "certain", "check_evidence", "check_walk",
           "describe_event", "evidence_mass", "exact_ratio", "in_kind", "mass", "no_false_zero", "possible", "tidy", "unit",
           "walk_size", "weighted", "zero"]

Assignment = Mapping[str, Hashable]

#: P(event | evidence) with at most this many joint values of the event's free variables is read
#: off one table kept over them (one elimination); larger events are one ratio of two sums with
#: the event's variables fixed (:class:`~.plans.RatioPlan`), whose cost does not grow with them.
SMALL_EVENT = 16


def tidy(x: Any) -> Any:
    """Simplify sympy results to closed form; leave Fractions and floats as they are."""
    if is_symbolic(x):
        return sympy_module().simplify(x)
    return x


def unit(model: "SCM") -> Any:
    """1 in the model's number kind (Fraction, float or sympy): the answers that need no
    arithmetic (an event fixed by do, one clashing with the evidence) come in the same kind as
    every other answer of the model."""
    view = model.factor_view
    return convert(1, view.kind(()))


def in_kind(model: "SCM", answer: Any) -> Any:
    """An answer (a number, a dict of them, or a dict of such dicts) in the model's number kind: the
    one place that decides it. A query touching only exact mechanisms, or only intervened ones (point masses),
    runs in exact arithmetic; a float model still answers floats, a symbolic one sympy."""
    kind = model.factor_view.kind(())
    # already in kind (a Fraction of an exact query, a Python float of a float one): kept as it is,
    # so the hundreds of answers of marginals() are not each converted again
    native = Fraction if kind == EXACT else float if kind == FLOAT else None

    def to(x: Any) -> Any:
        if type(x) is native:
            return x
        return convert(x.item() if isinstance(x, np.generic) else x, kind)

    def row(d: dict) -> dict:
        # the engines build every answer's dicts afresh per call: one already in kind is handed on
        for x in d.values():
            if type(x) is not native:
                return {v: to(x) for v, x in d.items()}
        return d
    if isinstance(answer, dict):
        return {k: (row(d) if isinstance(d, dict) else to(d)) for k, d in answer.items()}
    return to(answer)


def zero(model: "SCM") -> Any:
    """0 in the model's number kind (see :func:`unit`)."""
    return unit(model) * 0


def exact_ratio(num: Any, den: Any) -> Any:
    """num / den, as a Fraction when both are Python ints (elimination's exact kind)."""
    num, den = (x.item() if isinstance(x, np.generic) else x for x in (num, den))
    if isinstance(num, int) and isinstance(den, int):
        return Fraction(num, den)
    return num / den


def describe_event(model: "SCM", given: Assignment, do: Assignment = {}) -> str:
    """The evidence as text for error messages, with the surgery it was asked under (long
    evidence shortened to its first few values and a count)."""
    text = _listed(given)
    surgery = {**model.intervened, **do}
    if surgery:
        return f"{text} (under do({_listed(surgery)}))"
    return text


def _listed(values: Assignment, shown: int = 6) -> str:
    items = [f"{k}={v!r}" for k, v in values.items()]
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f", … and {more} more" if more > 0 else "")


def mass(model: "SCM", event: Assignment, do: Assignment = {}) -> Any:
    """P(event) after surgery on ``do``: Σ over the event's ancestors of Π mechanisms."""
    view = model.factor_view
    plan = table_plan(view, (), event, do, max_table_size=model.max_table_size)
    values, scale, denominator, exp = plan.run_scaled(view.positions({**event, **do}))
    value = exact_ratio(values[()] * scale, denominator) if not exp else math.ldexp(float(values[()] * scale), exp)
    return value * 0 if _clashes(event, do) else value


def possible(model: "SCM", event: Assignment, do: Assignment = {}) -> bool:
    """Does some assignment with every mechanism positive agree with ``event``? (0/1 arithmetic)"""
    if _clashes(event, do):
        return False
    view = model.factor_view
    plan = table_plan(view, (), event, do, support=True, max_table_size=model.max_table_size)
    values, scale, _ = plan.run(view.positions({**event, **do}))
    return values[()] * scale > 0


def check_evidence(model: "SCM", given: Assignment, den: Any, do: Assignment = {}) -> None:
    """Refuse evidence of probability 0, and name float underflow when the zero is not real."""
    if not is_zero(den):
        return
    if isinstance(den, float) and possible(model, given, do):
        raise FloatUnderflow(
            f"cannot condition on {describe_event(model, given, do)}: its probability is positive but "
            f"below the float64 range (underflow); convert the model with to_exact() and ask again"
        )
    raise ZeroEvidence(f"cannot condition on {describe_event(model, given, do)}: it has probability 0")


def evidence_mass(model: "SCM", given: Assignment, do: Assignment = {}) -> Any:
    """P(given) after surgery on ``do`` (1 without evidence); impossible evidence is refused."""
    if not given:
        return unit(model)
    den = mass(model, given, do)
    check_evidence(model, given, den, do)
    return den


def certain(model: "SCM", given: Assignment, do: Assignment = {}) -> Any:
    """1 in the query's number kind, once the evidence is known to be possible (impossible evidence
    is refused): the probability of what the evidence or ``do`` fixes. A float model only asks
    whether the evidence is possible; its probability may be below float64's range, the answer not."""
    if model.factor_view.kind(()) == FLOAT:
        if given and not possible(model, given, do):
            check_evidence(model, given, 0.0, do)
        return 1.0
    den = evidence_mass(model, given, do)
    return den / den if given else den


def _clashes(event: Assignment, fixed: Assignment) -> bool:
    return any(k in fixed and fixed[k] != v for k, v in event.items())


def walk_size(model: "SCM", names: Iterable[str], fixed: Iterable[str]) -> tuple[int, int]:
    """(assignments, variables) of a walk over every joint value of ``names`` outside ``fixed``."""
    fixed = set(fixed)
    walked = [n for n in names if n not in fixed]
    return math.prod(model.factor_view.size(n) for n in walked), len(walked)


#: The most assignments a Python walk (enumeration, joint(), expectation()) takes when the model
#: sets no ``max_table_size``: a walk costs ~10-25 µs per assignment on a laptop core, so 2**20
#: is under half a minute, where a table's bound (:data:`~.plans.MAX_TABLE_SIZE`, 2**24) would be
#: several minutes.
MAX_WALK = 2 ** 20


def check_walk(model: "SCM", names: Iterable[str], fixed: Iterable[str], what: str, advice: str) -> None:
    """Refuse (:class:`TableTooLarge`) before any work a walk (:func:`walk_size`) over more
    assignments than the model's ``max_table_size``, or :data:`MAX_WALK` (at most the kind's
    table bound) when the model sets none."""
    size, count = walk_size(model, names, fixed)
    bound = model.max_table_size
    named = f"max_table_size={bound:.3g}" if bound is not None else ""
    if bound is None:
        bound = min(MAX_WALK, MAX_TABLE_SIZE[model.factor_view.kind(())])
        named = f"{bound:.3g}, the bound on a walk when the model sets no max_table_size"
    if size > bound:
        raise TableTooLarge(
            f"{what} walks all {size:.3g} assignments of the {count} variable{'' if count == 1 else 's'} "
            f"it sums over, above {named}; {advice}", size=size, width=max(count - 1, 0))


def weighted(view: FactorView, names: tuple[str, ...], fixed: Assignment) -> Iterator[tuple[dict, Any]]:
    """Yield (assignment, probability) for every assignment of ``names`` consistent with
    ``fixed``, skipping branches whose probability is exactly zero (enumeration)."""
    frontier: list[tuple[dict, Any]] = [({}, convert(1, view.kind(())))]
    for name in names:
        parents, table, index = view.parents[name], view.tables[name], view.index[name]
        values = [fixed[name]] if name in fixed else list(view.domains[name])
        nxt = []
        for assignment, weight in frontier:
            row = table[tuple(assignment[p] for p in parents)]
            for value in values:
                p = row[index[value]]
                if p == 0:
                    continue
                w = weight * p
                if isinstance(w, float) and w < sys.float_info.min:
                    raise FloatUnderflow(
                        "the probability of an assignment (a product of mechanism entries) is positive but "
                        "below the float64 range (underflow; about 2.2e-308), where it reads 0.0 or loses its "
                        "bits; convert the model with to_exact() and ask again")
                nxt.append(({**assignment, name: value}, w))
        frontier = nxt
    yield from frontier


def no_false_zero(model: "SCM", value: Any, event: Assignment, given: Assignment, do: Assignment) -> Any:
    """``value``, unless it is a float 0.0 or subnormal standing for a positive probability (below
    float64's normal range): then :class:`FloatUnderflow`, as for evidence. Both engines answer through it."""
    if not (isinstance(value, float) and value < sys.float_info.min) or _clashes(event, given) or _clashes(event, do):
        return value  # (a subnormal kept only a few of its bits: named too)
    if value > 0 or possible(model, {**given, **event}, do):
        shown = describe_event(model, event)
        raise FloatUnderflow(
            f"P({shown}{' | ' + describe_event(model, given, do) if given else ''}) is positive but below "
            f"the float64 range (underflow); convert the model with to_exact() and ask again")
    return value


class Elimination:
    """Compiled variable elimination: event variables fixed, plans cached per query shape."""

    def probability(self, model: "SCM", event: dict, given: dict, do: dict) -> Any:
        return no_false_zero(model, self._probability(model, event, given, do), event, given, do)

    def _probability(self, model: "SCM", event: dict, given: dict, do: dict) -> Any:
        if not given:
            return tidy(mass(model, {k: v for k, v in event.items() if k not in do}, do)
                        * (0 if _clashes(event, do) else 1))
        if _clashes(given, do):
            check_evidence(model, given, zero(model), do)
        view = model.factor_view
        free = [k for k in event if k not in given and k not in do]
        if free and math.prod(view.size(k) for k in free) <= SMALL_EVENT:
            # one elimination keeping the event's axes gives both sides of the ratio at once
            values, total = self._given_table(model, tuple(free), given, do)
            if _clashes(event, given) or _clashes(event, do):
                return zero(model)
            return tidy(exact_ratio(values[tuple(view.index[k][event[k]] for k in free)], total))
        plan = ratio_plan(view, free, given, do, max_table_size=model.max_table_size)
        pos = view.positions({**given, **do, **{k: event[k] for k in free}})
        num, den, ok = plan.run(pos)
        if not ok:
            check_evidence(model, given, 0.0 if plan.kind == FLOAT else Fraction(0), do)
        if _clashes(event, given) or _clashes(event, do):
            return zero(model)
        return tidy(exact_ratio(num, den))

    def distribution(self, model: "SCM", name: str, given: dict, do: dict) -> dict[Hashable, Any]:
        domain = model.domain(name)
        if name in given or name in do:
            if _clashes(given, do):
                check_evidence(model, given, zero(model), do)
            one = certain(model, given, do)
            at = given.get(name, do.get(name))
            return {v: tidy(one if v == at else one * 0) for v in domain}
        if _clashes(given, do):
            check_evidence(model, given, zero(model), do)
        view = model.factor_view
        plan = table_plan(view, (name,), given, do, max_table_size=model.max_table_size)
        if given:
            values, total = self._given_table(model, (name,), given, do)
        else:  # no evidence: the entries sum to 1 (up to float rounding); do not rescale
            values, _, total = plan.run(view.positions(do))
        out = {v: tidy(exact_ratio(x, total)) for v, x in zip(domain, values.tolist())}
        if plan.kind == FLOAT and not plan.in_float_range:  # a 0.0 may stand for a positive value
            for v, p in out.items():
                no_false_zero(model, p, {name: v}, given, do)
        return out

    @staticmethod
    def _given_table(model: "SCM", keep: tuple[str, ...], given: dict, do: dict) -> tuple[np.ndarray, Any]:
        """The unnormalised table over ``keep`` with the evidence fixed, and its total (refused
        when the evidence is impossible): P(keep | do, given) is ``values / total``."""
        view = model.factor_view
        plan = table_plan(view, keep, given, do, max_table_size=model.max_table_size)
        # the d-separated part (scale) and the denominator cancel; scale must not be 0
        values, scale, _, _ = plan.run_scaled(view.positions({**given, **do}), scale_sign_only=True)
        total = sum(values.ravel().tolist(), 0 * scale)
        check_evidence(model, given, exact_ratio(total if is_zero(total) else scale, 1), do)
        return values, total


#: An unnormalised float marginal entry below this (a few bits above float64's subnormals, or an
#: exact 0.0 that may be an underflow) sends its variable to :meth:`Elimination.distribution`.
TINY_EXPONENT = -1000
TINY_BELIEF = 2.0 ** TINY_EXPONENT


def all_marginals(model: "SCM", given: dict, do: dict) -> dict[str, dict[Hashable, Any]]:
    """{name: P(name | do(do), given)} for every variable, by two passes of messages."""
    if given and _clashes(given, do):
        check_evidence(model, given, zero(model), do)
    view = model.factor_view
    fixed = {**given, **do}
    plan = marginals_plan(view, frozenset(given), frozenset(do), model.max_table_size)
    # P(given) itself may be below float64's range while every marginal is not (each table is
    # rescaled by its own total): a float model only refuses evidence that is impossible
    one = certain(model, given, do)
    tables = plan.run(view.positions(fixed))
    out: dict[str, dict[Hashable, Any]] = {}
    for name in model.names:
        domain = view.domains[name]
        if name in fixed:
            at = fixed[name]
            out[name] = {v: tidy(one if v == at else one * 0) for v in domain}
            continue
        values = tables[name]
        if plan.kind == FLOAT:
            if plan.floor < TINY_EXPONENT and (not sum(values) > 0 or min(values) < TINY_BELIEF):
                # the messages are not rescaled: an entry that underflowed (a false 0.0) or came
                # near the subnormals (lost bits) is asked alone, by elimination (which sums exactly
                # where floats cannot); not needed where the mechanisms rule that out (plan.floor)
                out[name] = ELIMINATION.distribution(model, name, given, do)
                continue
            if given:  # rescale by the total; without evidence the entries sum to 1 up to rounding
                total = sum(values)
                values = [x / total for x in values]
            out[name] = dict(zip(domain, values))
        elif plan.kind == EXACT:  # Python integers: one Fraction per entry, nothing else
            total = sum(values)
            out[name] = {v: Fraction(x, total) for v, x in zip(domain, values)}
        else:
            total = sum(values, 0 * values[0])
            out[name] = {v: tidy(exact_ratio(x, total)) for v, x in zip(domain, values)}
    return out


def _named(what: str, run: Any) -> Any:
    """``run()``; a product along one assignment that left float64's range is named with the query."""
    try:
        return run()
    except FloatUnderflow as e:
        raise FloatUnderflow(f"{what} by enumeration: {e}; or ask by elimination (the default), which sums "
                             f"exactly where floats cannot") from None


class Enumeration:
    """Every assignment of the ancestors of the query, after ``SCM.do``: the reference. A walk over
    more assignments than ``max_table_size`` is refused before it starts, as elimination's tables are."""

    def _check(self, model: "SCM", *walks: tuple[Iterable[str], Assignment]) -> None:
        """Refuse the largest of the walks, each over the ancestors of some variables with others
        fixed, before any runs; an intervened variable's point mass leaves one value to walk."""
        view = model.factor_view
        walks = tuple((view.ancestral_set(names), [*fixed, *model.intervened]) for names, fixed in walks)
        names, fixed = max(walks, key=lambda w: walk_size(model, *w)[0])
        check_walk(model, names, fixed, "method='enumeration'",
                   "use method='elimination' (the default), or raise max_table_size on the model")

    def _mass(self, model: "SCM", event: Assignment) -> Any:
        view = model.factor_view
        return sum((w for _, w in weighted(view, view.ancestral_set(event), event)), zero(model))

    def _evidence(self, model: "SCM", given: Assignment) -> Any:
        if not given:
            return unit(model)
        den = self._mass(model, given)
        check_evidence(model, given, den)
        return den

    def probability(self, model: "SCM", event: dict, given: dict, do: dict) -> Any:
        what = f"P({describe_event(model, event)}{' | ' + describe_event(model, given, do) if given else ''})"
        value = _named(what, lambda: self._probability(model, event, given, do))
        return no_false_zero(model, value, event, given, do)

    def _probability(self, model: "SCM", event: dict, given: dict, do: dict) -> Any:
        model = model.do(do) if do else model
        both = {**given, **event}
        self._check(model, (given, given), (both, both))
        den = self._evidence(model, given)
        if _clashes(event, given):
            return zero(model)
        num = self._mass(model, {**given, **event})
        return tidy(num / den if given else num)

    def distribution(self, model: "SCM", name: str, given: dict, do: dict) -> dict[Hashable, Any]:
        what = f"the distribution of {name!r}{' given ' + describe_event(model, given, do) if given else ''}"
        return _named(what, lambda: self._distribution(model, name, given, do))

    def _distribution(self, model: "SCM", name: str, given: dict, do: dict) -> dict[Hashable, Any]:
        model = model.do(do) if do else model
        self._check(model, ([name, *given], given))
        den = self._evidence(model, given)
        view = model.factor_view
        acc: dict[Hashable, Any] = {v: zero(model) for v in view.domains[name]}
        for assignment, w in weighted(view, view.ancestral_set([name, *given]), given):
            acc[assignment[name]] = acc[assignment[name]] + w
        return {v: tidy(p / den if given else p) for v, p in acc.items()}


ELIMINATION, ENUMERATION = Elimination(), Enumeration()
ENGINES = {"elimination": ELIMINATION, "enumeration": ENUMERATION}
