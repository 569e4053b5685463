"""What each lecture page shows, computed through the public API from what the lecturer typed.

No UI library here: the pages (:mod:`.app`) only lay these results out, so everything a page
displays can be tested without a browser. Typed numbers are read as exact rationals by a strict
pattern (never evaluated); a field that is not a probability, or a kernel row that does not sum
to one, is reported by name and nothing is renormalised.

```python
>>> t = two_action_lesson()
>>> t.policy, t.decision, t.final("do")["p_B"], t.final("obs")["p_B"]
(Fraction(69, 200), 'A', Fraction(56, 69), Fraction(112, 229))

```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Hashable, Mapping, Sequence

from .._numbers import short as _short
from .. import (CLIMATES, SCM, Gate, InvalidArgument, Mode, Trajectory, Transcript,
                ZeroEvidence, check_seed, fire_engine_model, ice_cream_model, simulate_trajectory, two_action_mixture)

__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_SLOTS",
    "FieldProblem",
    "LOCK_LEVEL",
    "SCM_DEFAULTS",
    "SEED_RANGE",
    "SeeDoLesson",
    "TwoActionLesson",
    "check_page_seed",
    "delusion_lesson",
    "lock_moment",
    "parse_probability",
    "see_do_lesson",
    "two_action_lesson",
]

#: The editable numbers of §4.1 as the lecturer first sees them (field name -> text).
DEFAULT_FIELDS: dict[str, str] = {
    "w0(p_B)": "0.35", "w0(p_A)": "0.65",
    "nu_p_B(A)": "0.2", "nu_p_B(B)": "0.8",
    "nu_p_A(A)": "0.9", "nu_p_A(B)": "0.1",
}
#: §4.3's history: the agent writes A (slot 1), the world writes B (slot 2).
DEFAULT_SLOTS: tuple[tuple[str, Gate], ...] = (("A", Gate.AGENT), ("B", Gate.WORLD))
#: The delusion page marks the moment the naive updater holds this much on a wrong program for good.
LOCK_LEVEL = Fraction(95, 100)

_RATIONAL = re.compile(r"\s*[+-]?(\d{1,12}(\.\d{1,12})?|\.\d{1,12})(\s*/\s*\d{1,12})?\s*\Z")
_HYPOTHESES = ("p_B", "p_A")
_ACTIONS = ("A", "B")


class FieldProblem(InvalidArgument):
    """An edited field that cannot be used; ``field`` names it for the inline message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.problems: tuple[FieldProblem, ...] = (self,)


def _typed(text: str) -> str:
    """What was typed, quoted, shortened when long (with its length), so a message stays one line."""
    s = text.strip()
    return repr(s) if _short(s) == s else f"{_short(s)!r} ({len(s):,} characters)"


def parse_probability(text: Any, field: str) -> Fraction:
    """Read ``text`` ("7/20", "0.35", "1") as an exact probability, or raise :class:`FieldProblem`.

    Only digits, one decimal point and one slash are accepted (at most 12 digits each), so no
    typed text is ever evaluated and no huge exponent can stall the page.
    """
    s = str(text)
    if not s.strip():
        raise FieldProblem(field, "is empty; type a probability such as 7/20 or 0.35")
    if not _RATIONAL.match(s):
        raise FieldProblem(field, f"{_typed(s)} is not a number (at most 12 digits on each side of a point or slash); type a fraction such as 7/20 or a decimal such as 0.35")
    try:
        value = Fraction(s.replace(" ", ""))
    except ZeroDivisionError:
        raise FieldProblem(field, f"{_typed(s)} divides by zero") from None
    if not 0 <= value <= 1:
        raise FieldProblem(field, f"{value} is not a probability (it must lie between 0 and 1)")
    return value


def _row(fields: Mapping[str, str], keys: Sequence[str], label: str, problems: list[FieldProblem]) -> dict:
    """Parse one distribution (a prior or a kernel row); it must sum to exactly one."""
    row = {}
    for key, name in keys:
        try:
            row[key] = parse_probability(fields.get(name, ""), name)
        except FieldProblem as p:
            problems.append(p)
    if len(row) == len(keys) and sum(row.values()) != 1:
        problems.append(FieldProblem(label, f"{' + '.join(n for _, n in keys)} = {sum(row.values())}, not 1 "
                                            f"(nothing is renormalised: edit the numbers)"))
    return row


@dataclass(frozen=True)
class TwoActionLesson:
    """Page 1 (§4): a two-hypothesis mixture, a gated history, both posteriors after each slot."""

    prior: dict[str, Fraction]
    kernels: dict[str, dict[str, Fraction]]
    history: Transcript
    policy: Fraction                       # π(B | h_0, c), the agent's probability of writing B
    decision: Hashable                     # what the threshold rule (1/2) writes at h_0
    weights: dict[str, list[dict[str, Any] | None]]  # "do" / "obs" -> posterior after 0..n slots (None: 0/0)
    #: An updater that cannot condition on the history ("do" / "obs" -> why); the other still answers.
    undefined: Mapping[str, ZeroEvidence] = field(default_factory=dict)

    def final(self, mode: str) -> dict[str, Any]:
        """The posterior after the whole history, ``"do"`` (interventional) or ``"obs"`` (naive);
        raises :class:`ZeroEvidence` for an updater that cannot condition on it."""
        if mode in self.undefined:
            raise self.undefined[mode]
        return self.weights[mode][-1]

    def latex(self) -> str:
        """The current derivation, one line per quantity, every number as the engine returned it."""
        names = tuple(self.prior)
        sub = {n: n.replace("p_", "p_{") + "}" for n in names}
        rows = [r"\pi(B \mid h_0, c) &= " + " + ".join(
            rf"{_tex(self.prior[n])} \cdot {_tex(self.kernels[n]['B'])}" for n in names)
            + rf" = {_tex(self.policy)} \;\Rightarrow\; \text{{the agent would write }} {self.decision}"]
        for i, slot in enumerate(self.history, start=1):
            x = slot.value
            for mode, tag in (("do", ""), ("obs", r"^{\mathrm{naive}}")):
                before, after = self.weights[mode][i - 1], self.weights[mode][i]
                for n in names:
                    lhs = rf"w_{i}{tag}({sub[n]})"
                    if after is None:
                        rows.append(rf"{lhs} &= \text{{undefined}} && \text{{probability zero under every program (0/0)}}")
                        continue
                    if mode == "do" and slot.gate is Gate.AGENT:
                        rows.append(rf"{lhs} &= w_{i - 1}({sub[n]}) = {_tex(after[n])}"
                                    rf" && \text{{do}}({x}) \text{{ is not evidence}}")
                        continue
                    den = " + ".join(rf"{_tex(before[q])} \cdot {_tex(self.kernels[q][x])}" for q in names)
                    why = r"\text{own action counted}" if slot.gate is Gate.AGENT else rf"\text{{world wrote }} {x}"
                    rows.append(rf"{lhs} &= \frac{{{_tex(before[n])} \cdot {_tex(self.kernels[n][x])}}}{{{den}}}"
                                rf" = {_tex(after[n])} && {why}")
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def _tex(x: Any) -> str:
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    return rf"\tfrac{{{x.numerator}}}{{{x.denominator}}}"


def two_action_lesson(fields: Mapping[str, str] | None = None,
                      slots: Sequence[tuple[Hashable, Any]] = DEFAULT_SLOTS) -> TwoActionLesson:
    """Parse the §4 fields, build the mixture and score the gated history with both updaters.

    Raises :class:`FieldProblem` (several, joined) naming every field that cannot be used, and
    :class:`InvalidArgument` for a field name that is not one of :data:`DEFAULT_FIELDS`' (it would
    otherwise be ignored silently and the default used in its place).
    """
    if fields is not None and not isinstance(fields, Mapping):
        raise InvalidArgument(f"fields must be a mapping from field names to typed numbers, got {type(fields).__name__}")
    unknown = [k for k in (fields or {}) if k not in DEFAULT_FIELDS]
    if unknown:
        raise InvalidArgument(f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                              f"the fields are {', '.join(map(repr, DEFAULT_FIELDS))}")
    fields = {**DEFAULT_FIELDS, **(fields or {})}
    problems: list[FieldProblem] = []
    prior = _row(fields, [(n, f"w0({n})") for n in _HYPOTHESES], "prior", problems)
    kernels = {n: _row(fields, [(a, f"nu_{n}({a})") for a in _ACTIONS], f"kernel of {n}", problems)
               for n in _HYPOTHESES}
    if problems:
        raise _joined(problems)
    mixture = two_action_mixture(prior, kernels)
    h0 = Transcript(context="c")
    history = h0
    for value, gate in slots:
        history = history.append(value, Gate.of(gate), channel="action")
    decision = mixture.decide(h0, "B", threshold=Fraction(1, 2))
    weights: dict[str, list] = {}
    undefined: dict[str, ZeroEvidence] = {}
    for mode, m in (("do", Mode.INTERVENTIONAL), ("obs", Mode.OBSERVATIONAL)):
        weights[mode] = []
        for i in range(len(history) + 1):
            try:
                weights[mode].append(mixture.posterior(history.prefix(i), m))
            except ZeroEvidence as exc:  # 0/0 from here on for this updater only; the other may still answer
                undefined[mode] = exc
                weights[mode] += [None] * (len(history) + 1 - i)
                break
    if len(undefined) == 2:
        raise undefined["do"]
    return TwoActionLesson(prior, kernels, history, decision.probability, decision.action, weights, undefined)


def _joined(problems: list[FieldProblem]) -> FieldProblem:
    """One error for several problems; ``problems`` keeps each (field, message) for the page."""
    out = problems[0] if len(problems) == 1 else FieldProblem(problems[0].field, "")
    out.args = ("; ".join(str(p) for p in problems),)
    out.problems = tuple(problems)
    return out


# ---------------------------------------------------------------------------------------------
# Seeing vs doing on the two structural causal models
# ---------------------------------------------------------------------------------------------

#: The models of page 2 and their default question (cause X set to True, effect Y).
SCM_DEFAULTS = {"fire engine": ("engine", "fire"), "ice cream": ("shorts", "ice_cream")}


@dataclass(frozen=True)
class SeeDoLesson:
    """Page 2: P(Y | X = x) when X is seen, P(Y | do(X = x)) when it is set, on one SCM."""

    model: SCM
    cause: str
    value: Hashable
    effect: str
    mode: str                                  # "see" or "do"
    distribution: dict[Hashable, Any]          # P(effect) under the chosen question
    other: dict[Hashable, Any]                 # the same under the other question, for contrast
    cut_edges: tuple[tuple[str, str], ...]     # edges removed by the surgery (empty when seeing)

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        """Every edge parent -> child of the unintervened model."""
        return tuple((p, v) for v in self.model.names for p in self.model.parents(v))


def see_do_lesson(model: str = "fire engine", *, mode: str = "see", cause: str | None = None,
                  value: Hashable = True, effect: str | None = None, p_sun: Any = CLIMATES["mixed"]) -> SeeDoLesson:
    """Ask the fire-engine or ice-cream SCM about ``effect`` after seeing or setting ``cause``."""
    if model not in SCM_DEFAULTS:
        raise InvalidArgument(f"model must be one of {sorted(SCM_DEFAULTS)}, got {model!r}")
    if mode not in ("see", "do"):
        raise InvalidArgument(f"mode must be 'see' or 'do', got {mode!r}")
    scm = fire_engine_model() if model == "fire engine" else ice_cream_model(p_sun)
    cause, effect = cause or SCM_DEFAULTS[model][0], effect or SCM_DEFAULTS[model][1]
    if cause == effect:
        raise InvalidArgument(f"choose an effect other than the cause {cause!r}")
    seen = scm.distribution(effect, given={cause: value})
    done = scm.distribution(effect, do={cause: value})
    first, second = (seen, done) if mode == "see" else (done, seen)
    cut = tuple((p, cause) for p in scm.parents(cause)) if mode == "do" else ()
    return SeeDoLesson(scm, cause, value, effect, mode, first, second, cut)


# ---------------------------------------------------------------------------------------------
# The delusion simulator
# ---------------------------------------------------------------------------------------------

#: The seeds the delusion page accepts (any one runs in well under a second).
SEED_RANGE = (0, 10**6)


def check_page_seed(seed: Any) -> int:
    """The delusion page's seed (:func:`bayes_agent.check_seed`'s rule, at most ``SEED_RANGE[1]``),
    or :class:`FieldProblem` naming the field and its range (the page's number box has no bounds
    of its own, so it never silently shows one seed and runs another)."""
    lo, hi = SEED_RANGE
    if seed is None or seed == "":
        raise FieldProblem("seed", f"is empty; type a whole number from {lo} to {hi:,}")
    try:
        n = check_seed(seed)
    except InvalidArgument:
        n = None
    if n is None or n > hi:
        raise FieldProblem("seed", f"{_short(seed) if isinstance(seed, (int, str)) else repr(seed)} "
                                   f"is not a whole number from {lo} to {hi:,}")
    return n


def delusion_lesson(*, actor: str = "obs", seed: int = 6, steps: int = 40, policy: str = "threshold") -> Trajectory:
    """One §4 trajectory against the world p_B (default seed 6: the naive updater locks on p_A)."""
    return simulate_trajectory(two_action_mixture(), "p_B", steps=steps, actor=actor, seed=seed, policy=policy)


def lock_moment(trajectory: Trajectory, mode: str = "obs", level: Any = LOCK_LEVEL) -> int | None:
    """The first slot count from which a wrong program keeps at least ``level`` to the end; None if never."""
    if not trajectory.locked(mode, level):
        return None
    weights = trajectory.weights(mode)
    t = len(weights) - 1
    while t > 0 and any(w >= level for n, w in weights[t - 1].items() if n != trajectory.truth):
        t -= 1
    return t
