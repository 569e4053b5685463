"""A Bayesian mixture of programs with prior w_0: likelihoods, posteriors, prediction, action (§3.2-§4).

The intervention rule lives in one function, :func:`is_evidence`: a slot's factor
ν_p(z_i | h_<i, c) enters the likelihood unless the agent wrote the slot and we take the agent's
first-person (interventional) view, in which case the action mechanism is replaced by a point
mass and its factor is omitted (§2.2). Likelihood, posterior, the sequential updater,
prediction and action all go through it. Unlike Pyro's ``do`` (which keeps an unintervened copy
of the site for counterfactuals), the mechanism here is simply replaced, as in the paper.

The paper's two-action example (§4), exactly:

```python
>>> from bayes_agent import Mixture, TableProgram, Transcript
>>> pB = TableProgram("p_B", action={"A": "0.20", "B": "0.80"})
>>> pA = TableProgram("p_A", action={"A": "0.90", "B": "0.10"})
>>> m = Mixture([pB, pA], prior={"p_B": "0.35", "p_A": "0.65"})
>>> h0 = Transcript(context="c")
>>> m.act(h0)["B"]                       # π(B | h_0, c) = 0.345 < 1/2 ...
Fraction(69, 200)
>>> m.decide(h0, "B").action             # ... so the agent writes A
'A'
>>> h1 = h0.agent("A")
>>> m.posterior(h1)["p_B"]               # do(A) is not evidence: w_1(p_B) = 0.35
Fraction(7, 20)
>>> m.posterior(h1, mode="obs")["p_B"]   # the naive updater's self-confirmation: 0.1069
Fraction(14, 131)
>>> h2 = h1.world("B", channel="action") # the world writes B: evidence
>>> m.posterior(h2)["p_B"], m.posterior(h2, mode="obs")["p_B"]
(Fraction(56, 69), Fraction(112, 229))

```
"""

from __future__ import annotations

import math
import random
import sys
from typing import Any, Hashable, Iterable, Iterator, Mapping, Sequence

from ._numbers import EXACT, FLOAT, SYMBOLIC, check_distribution, convert, float_tolerance, is_zero, kind_of, parse_number
from ._checks import expect, expect_history, expect_slot
from .acting import Acting, Decision
from .errors import FloatUnderflow, InvalidArgument, ZeroEvidence
from .seeds import seeded_random
from .programs import HistoryProgram, KeyedTable, Program, TableProgram  # noqa: F401 (doctest)
from ._logspace import compensated_add, log as _log, log_sum as _log_sum, log_total as _log_total
from ._logspace import normalise_logs as _normalise_logs, numbers_only as _numbers_only
from .sequential import PosteriorTrace, common_numerators, normalised
from .transcript import Channel, Gate, Mode, Slot, Transcript

__all__ = ["Decision", "Mixture", "Updater", "evidence_slots", "is_evidence"]


def is_evidence(slot: Slot, mode: Mode | str) -> bool:
    """The intervention rule: does slot's factor enter the likelihood? (L_obs §3.2 vs L_do §3.3)

    In the observational mode every slot is evidence; in the interventional mode only the
    world-written slots (γ_i = 0) are — including world-written action-like symbols.
    """
    expect(slot, Slot, "is_evidence's slot")
    return Mode.of(mode) is Mode.OBSERVATIONAL or slot.gate is Gate.WORLD


def evidence_slots(history: Transcript, mode: Mode | str) -> Iterator[int]:
    """Indices i whose factor ν_p(z_i | h_<i, c) enters L_t^mode(p)."""
    expect_history(history)
    mode = Mode.of(mode)
    return (i for i, s in enumerate(history.slots) if is_evidence(s, mode))


def _zero_slot(i: int, slot: Slot) -> ZeroEvidence:
    return ZeroEvidence.at_slot(i, slot.value)


def _outside(i: int, slot: Slot, program: Program, alphabet: Iterable[Hashable]) -> None:
    raise InvalidArgument(
        f"agent slot {i + 1} (h[{i}] = {slot.value!r}) is outside program {program.name!r}'s {slot.channel.value} "
        "alphabet {" + ", ".join(sorted(map(repr, alphabet))) + "}: under do an intervention is "
        "not scored, but it must still be a symbol the programs could write"
    )


def _alphabet_of(program: Program, prefix: Transcript, channel: Channel) -> tuple[Hashable, ...]:
    """The symbols ``program``'s kernel on ``channel`` can score after ``prefix``: a table's
    alphabet (every row), any other program's row there."""
    if isinstance(program, KeyedTable):
        return tuple(program.alphabet(channel))
    return tuple(program.distribution(prefix, channel))


class Mixture(Acting):
    """Programs with a prior w_0; ``normalize=True`` rescales a prior that does not sum to one.

    The arithmetic follows the numbers given: fractions/ints/strings stay exact, any float makes
    it float, any sympy expression makes it symbolic; ``arithmetic=`` forces one.
    """

    def __init__(
        self,
        programs: Iterable[Program],
        prior: Mapping[str, Any] | Sequence[Any],
        *,
        normalize: bool = False,
        arithmetic: str | None = None,
    ) -> None:
        if isinstance(programs, (str, bytes, Program)) or not isinstance(programs, Iterable):
            raise InvalidArgument(f"a mixture's programs must be an iterable of Program objects, "
                                  f"got {type(programs).__name__}")
        programs = tuple(programs)
        if not programs:
            raise InvalidArgument("the mixture is empty: give at least one program")
        for p in programs:
            if not isinstance(p, Program):
                raise InvalidArgument(f"mixture components must be Program objects, got {p!r}")
        names = [p.name for p in programs]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"program names must be unique, got {names}")
        if isinstance(prior, Mapping):
            extra = set(prior) - set(names)
            missing = [n for n in names if n not in prior]
            if extra or missing:
                raise InvalidArgument(
                    f"the prior's keys must be the program names {names}; "
                    f"missing {missing}, unknown {sorted(map(str, extra))}"
                )
            row = {n: prior[n] for n in names}
        else:
            if isinstance(prior, (str, bytes)) or not isinstance(prior, Sequence):
                raise InvalidArgument(f"the prior must be a sequence or a mapping, got {prior!r}")
            if len(prior) != len(programs):
                raise InvalidArgument(
                    f"the prior has {len(prior)} weights for {len(programs)} programs"
                )
            row = dict(zip(names, prior))
        parsed = {n: parse_number(w, f"prior[{n!r}]") for n, w in row.items()}
        if arithmetic is None:
            kinds = {kind_of(parsed.values())}
            kinds |= {p.kind for p in programs if isinstance(p, KeyedTable)}
            arithmetic = SYMBOLIC if SYMBOLIC in kinds else FLOAT if FLOAT in kinds else EXACT
        if arithmetic not in (EXACT, SYMBOLIC, FLOAT):
            raise InvalidArgument(f"arithmetic must be 'exact', 'symbolic' or 'float', got {arithmetic!r}")
        self.arithmetic: str = arithmetic
        self.prior: dict[str, Any] = check_distribution(
            parsed, "the prior", normalize=normalize, kind=arithmetic, tol=float_tolerance(list(row.values()))
        )
        self.programs: tuple[Program, ...] = tuple(p.convert(arithmetic) for p in programs)

    # -- basic views ---------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.programs)

    def _zero(self) -> Any:
        return convert(0, self.arithmetic)

    def _one(self) -> Any:
        return convert(1, self.arithmetic)

    def __repr__(self) -> str:
        return f"Mixture({list(self.names)}, arithmetic={self.arithmetic!r})"

    # -- the likelihood: the one place the intervention rule is applied ------------------------
    def known_symbols(self, channel: Channel) -> frozenset | None:
        """Symbols some table program's ``channel`` kernel can score (cached); ``None`` when no
        table program has such a kernel. The union: inside a mixture a symbol one program knows
        is a symbol of the mixture, and a program whose table lacks it gives it probability 0."""
        cache = self.__dict__.setdefault("_known_cache", {})
        if channel not in cache:
            sets = [frozenset(p.alphabet(channel)) for p in self.programs
                    if isinstance(p, KeyedTable) and p.has_kernel(channel)]
            cache[channel] = frozenset.union(*sets) if sets else None
        return cache[channel]

    def knows(self, history: Transcript, i: int) -> bool:
        """Is slot ``i``'s value a symbol of this mixture at that slot: one some program's kernel on
        the slot's channel can score (a table's alphabet; any other program's row at h_<i)?
        True as well when no program has a kernel on that channel (nothing could object)."""
        return self._knows(*expect_slot(history, i, "knows(): slot index"))

    def _knows(self, history: Transcript, i: int) -> bool:
        slot = history[i]
        known = self.known_symbols(slot.channel)
        try:
            if known is not None and slot.value in known:
                return True
        except TypeError:
            return False  # unhashable: no program can know it
        general = [p for p in self._general() if p.has_kernel(slot.channel)]
        if known is None and not general:
            return True
        prefix = history.prefix(i) if general else None
        return any(slot.value in p.distribution(prefix, slot.channel) for p in general)

    def _general(self) -> list[Program]:
        """The programs that are not tables: their alphabet may depend on the history (cached)."""
        general = self.__dict__.get("_general_cache")
        if general is None:
            general = self.__dict__["_general_cache"] = [p for p in self.programs if not isinstance(p, KeyedTable)]
        return general

    def check_unscored(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> None:
        """Refuse an agent slot whose value no program could have written (§3.3).

        Under do an agent slot's factor is omitted, so nothing would otherwise notice a value
        outside the action alphabet; under obs the same slot fails when it is scored. The check
        makes the two updaters refuse the same histories.
        """
        history = expect_history(history)
        if Mode.of(mode) is Mode.OBSERVATIONAL:
            return
        for i, slot in enumerate(history):
            if slot.gate is Gate.AGENT:
                self._check_agent_slot(history, i)

    def check_agent_slot(self, history: Transcript, i: int) -> None:
        """Refuse agent slot ``i`` if no program could write its value (under do it is not
        scored, but it must still be a symbol of the mixture: :meth:`knows`)."""
        self._check_agent_slot(*expect_slot(history, i, "check_agent_slot(): slot index"))

    def _check_agent_slot(self, history: Transcript, i: int) -> None:
        if self._knows(history, i):
            return
        slot, prefix = history[i], history.prefix(i)
        for p in self.programs:  # name the first program with a kernel on the slot's channel
            if p.has_kernel(slot.channel):
                try:
                    _outside(i, slot, p, _alphabet_of(p, prefix, slot.channel))
                except InvalidArgument as e:
                    raise InvalidArgument(f"{e}{self._whole_alphabet(history, i)}") from None

    def alphabet(self, channel: Channel, history: Transcript | None = None) -> tuple[Hashable, ...]:
        """The symbols of the mixture on ``channel`` after ``history`` (the empty transcript if
        none is given), in first-seen order: every symbol some program's kernel there can score
        (a table's alphabet; any other program's row at ``history``)."""
        prefix = Transcript() if history is None else history
        known: dict[Hashable, None] = {}
        for p in self.programs:
            if p.has_kernel(channel):
                known.update(dict.fromkeys(_alphabet_of(p, prefix, channel)))
        return tuple(known)

    def _whole_alphabet(self, history: Transcript, i: int) -> str:
        """``; the mixture's action alphabet is {…}``, for a refusal that names one program's
        alphabet when the programs' alphabets differ (empty when they are all the same)."""
        slot, prefix = history[i], history.prefix(i)
        union = set(self.alphabet(slot.channel, prefix))
        if all(set(_alphabet_of(p, prefix, slot.channel)) == union
               for p in self.programs if p.has_kernel(slot.channel)):
            return ""
        return (f"; the mixture's {slot.channel.value} alphabet is {{{', '.join(sorted(map(repr, union)))}}} "
                f"and no program writes {slot.value!r}")

    def factor(self, program: Program, history: Transcript, i: int) -> Any:
        """ν_p(z_i | h_<i, c): slot i scored by the kernel its channel names (gate not consulted).

        Inside a mixture a value some other program knows but ``program``'s kernel lacks scores 0;
        a value no program knows is refused (:meth:`knows`). ``program`` is found by its name among
        the mixture's own programs (converted to the mixture's arithmetic)."""
        own = dict(zip(self.names, self.programs)).get(expect(program, Program, "factor's program").name)
        if own is None:
            raise InvalidArgument(f"factor(): program {program.name!r} is not in this mixture {list(self.names)}")
        return self._factor(own, *expect_slot(history, i, "factor's slot index"))

    def _factor(self, program: Program, history: Transcript, i: int) -> Any:
        """The one place a program is scored at a slot inside this mixture (see :meth:`factor`)."""
        slot = history[i]
        if isinstance(program, KeyedTable):
            row = program.rows.get((slot.channel, program.key_at(history, i, slot.channel)))
        elif not program.scores_itself:  # scored by its row at h_<i
            row = program.distribution(history.prefix(i), slot.channel)
        else:  # a program with its own scoring (a density, say) answers for its own alphabet
            return program.prob(slot.value, history.prefix(i), slot.channel)
        try:
            if row is not None and slot.value in row:
                return row[slot.value]
        except TypeError:
            pass  # unhashable: prob() below names it
        if row is not None and self._knows(history, i):
            return self._zero()  # a symbol of the mixture this program never writes
        try:
            return program.prob(slot.value, history.prefix(i), slot.channel)  # raises the message
        except InvalidArgument as e:
            raise InvalidArgument(f"{e}{self._whole_alphabet(history, i) if row is not None else ''}") from None

    def _factors(self, history: Transcript, mode: Mode) -> dict[str, list]:
        """ν_p(z_i | h_<i, c) for every program and evidence slot, each computed once."""
        self.check_unscored(history, mode)
        slots = list(evidence_slots(history, mode))
        return {p.name: [self._factor(p, history, i) for i in slots] for p in self.programs}

    def likelihood(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> dict[str, Any]:
        """L_t^obs(p) (§3.2) or L_t^do(p) (§3.3) for every program p.

        In float arithmetic a product of positive factors below about 2.2e-308 would read 0.0 or lose bits;
        that raises :class:`~bayes_agent.errors.FloatUnderflow` (use :meth:`log_likelihood`).
        """
        history, mode = expect_history(history), Mode.of(mode)
        out = {}
        for name, factors in self._factors(history, mode).items():
            value = self._one()
            for f in factors:
                value = value * f
            if self.arithmetic == FLOAT and value < sys.float_info.min and all(f > 0 for f in factors):
                raise FloatUnderflow(  # 0.0, or a subnormal that kept only a few of its bits
                    f"L({name}) = exp({_log_sum(factors):.6g}) is positive but below the float64 range "
                    f"(underflow); use log_likelihood(), log_evidence() or posterior(), which work in log "
                    f"space, or exact arithmetic"
                )
            out[name] = value
        return out

    def log_likelihood(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> dict[str, float]:
        """log L_t(p) as floats, summed in log space (no underflow; -inf for a zero factor)."""
        history, mode = expect_history(history), Mode.of(mode)
        factors = self._factors(history, mode)
        _numbers_only([f for fs in factors.values() for f in fs], "likelihood", "log_likelihood", "likelihood")
        return {name: _log_sum(fs) for name, fs in factors.items()}

    def evidence(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> Any:
        """Σ_p w_0(p) L_t(p), the normaliser of the posterior. Float mixtures sum in log space
        (:meth:`log_evidence`), so one program's underflowing L does not stop an evidence that
        fits in float64; an evidence itself below that range raises FloatUnderflow."""
        if self.arithmetic == FLOAT:
            log_ev = self.log_evidence(history, mode)
            value = math.exp(log_ev)
            if value < sys.float_info.min and log_ev > -math.inf:  # 0.0, or a subnormal that lost bits
                raise FloatUnderflow(f"the evidence exp({log_ev:.6g}) is positive but below the float64 range "
                                     f"(underflow); use log_evidence(), which works in log space, or exact arithmetic")
            return value
        lik = self.likelihood(history, mode)
        return sum((self.prior[n] * lik[n] for n in self.names), self._zero())

    def log_evidence(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> float:
        """log Σ_p w_0(p) L_t(p) as a float: log-sum-exp of log w_0 + log L in float arithmetic (no
        underflow), the log of the exact evidence otherwise; -inf when the evidence is zero."""
        if self.arithmetic != FLOAT:
            ev = self.evidence(history, mode)
            _numbers_only([ev], "evidence", "log_evidence", "evidence")
            return _log(ev)
        return _log_total(self._log_joint(history, mode))

    def _log_joint(self, history: Transcript, mode: Mode) -> list[float]:
        """log w_0(p) + log L(p), per program in name order (float arithmetic, log space)."""
        log_lik = self.log_likelihood(history, mode)
        return [_log(self.prior[n]) + log_lik[n] for n in self.names]

    def posterior(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> dict[str, Any]:
        """w_t(p) (interventional, default) or w_t^obs(p) (observational): w_0 L / Σ w_0 L."""
        mode = Mode.of(mode)
        if self.arithmetic == FLOAT:  # log space: a long history cannot underflow to a false zero
            return dict(zip(self.names, _normalise_logs(self._log_joint(history, mode), ZeroEvidence.everywhere(mode))))
        lik = self.likelihood(history, mode)
        joint = {n: self.prior[n] * lik[n] for n in self.names}
        total = sum(joint.values(), self._zero())
        if is_zero(total):
            raise ZeroEvidence.everywhere(mode)
        return {n: self._tidy(v / total) for n, v in joint.items()}

    def _tidy(self, x: Any) -> Any:
        """A symbolic answer in lowest terms: factored when it has free symbols; a number with
        radicals (sqrt(2)/4 in a kernel) with its denominator rationalised, (6 - 2*sqrt(2))/7."""
        if self.arithmetic != SYMBOLIC or x.is_Rational:
            return x
        import sympy

        if x.free_symbols:
            return sympy.factor(sympy.cancel(x))
        return sympy.radsimp(sympy.cancel(x)) if x.has(sympy.Pow) else x

    def updater(self, mode: Mode | str = Mode.INTERVENTIONAL, context: Any = None) -> "Updater":
        """A sequential updater starting from the prior (see :class:`Updater`)."""
        return Updater(self, mode, context)


class Updater:
    """The sequential posterior (§3.3): a world slot multiplies by ν_p and renormalises; an
    agent slot (interventional mode) leaves the weights as they are. Agrees with the batch
    :meth:`Mixture.posterior` exactly in exact arithmetic.

    Each slot costs O(P) factors: the history grows by an O(1) append and each program's factor
    for the new slot is computed once. Exact weights are integers over an implicit common
    denominator, reduced only when read (:mod:`bayes_agent.sequential`); float mixtures keep log
    weights as compensated (Kahan) sums, so they neither underflow nor drift however long the
    history. Slots are scored under the transcript's context (:meth:`trace` takes it on).
    """

    def __init__(self, mixture: Mixture, mode: Mode | str = Mode.INTERVENTIONAL, context: Any = None):
        self.mixture = expect(mixture, Mixture, "an Updater's mixture")
        self.mode = Mode.of(mode)
        self.history = Transcript(context=context)
        self._weights: dict[str, Any] | None = dict(mixture.prior)
        self._log = ({n: (_log(w), 0.0) for n, w in mixture.prior.items()}  # (Kahan sum, compensation)
                     if mixture.arithmetic == FLOAT else None)
        self._num = (common_numerators([mixture.prior[n] for n in mixture.names])
                     if mixture.arithmetic == EXACT else None)

    @property
    def weights(self) -> dict[str, Any]:
        """w_t(p) after the slots pushed so far (exact weights are reduced here, when read)."""
        if self._weights is None:  # exact: drop the integers' common factor while reducing anyway
            self._num = common_numerators(self._num)
            self._weights = normalised(self.mixture.names, self._num)
        return self._weights

    def _step(self, history: Transcript, i: int) -> tuple[int, ...]:
        """Slot i's factors ν_p(z_i | h_<i, c) as integers over their common denominator."""
        return common_numerators([self.mixture._factor(p, history, i) for p in self.mixture.programs])

    def push(self, slot: Slot) -> dict[str, Any]:
        """Append one slot and return the new weights; on zero evidence raise and keep the state."""
        if not isinstance(slot, Slot):
            raise InvalidArgument(f"push takes a Slot, got {type(slot).__name__}")
        history = self.history.append_slot(slot)
        m, i = self.mixture, len(history) - 1
        if not is_evidence(slot, self.mode):
            m._check_agent_slot(history, i)
        elif self._num is not None:
            num = tuple(u * f for u, f in zip(self._num, self._step(history, i)))
            if not any(num):
                raise _zero_slot(i, slot)
            self._num, self._weights = num, None
        elif self._log is not None:
            log = {p.name: compensated_add(*self._log[p.name], _log(m._factor(p, history, i))) for p in m.programs}
            self._weights = dict(zip(log, _normalise_logs([t for t, _ in log.values()], _zero_slot(i, slot))))
            self._log = log
        else:
            new = {p.name: self.weights[p.name] * m._factor(p, history, i) for p in m.programs}
            total = sum(new.values(), m._zero())
            if is_zero(total):
                raise _zero_slot(i, slot)
            self._weights = {n: m._tidy(v / total) for n, v in new.items()}
        self.history = history
        return dict(self.weights)

    def act(self) -> dict[Hashable, Any]:
        """π(a | h, c) from the weights after the slots pushed so far (§3.4): what
        :meth:`Mixture.act` gives for this history and mode (invariant 6), at O(programs) cost."""
        return self.mixture._mix(self.weights, self.history, Channel.ACTION)

    def sample_action(self, rng: int | random.Random) -> Hashable:
        """Posterior sampling from the weights after the slots pushed so far: p̄ ~ w_t, then
        a ~ ν_p̄(· | h, c); ``rng`` is an ``int`` seed or a ``random.Random``."""
        return self.mixture._sample_from(self.weights, self.history, seeded_random(rng, "rng"))

    def _join(self, transcript: Transcript) -> None:
        """Continue under ``transcript``'s context: an updater with no slots yet takes it on; one
        whose slots were scored under another context refuses (the kernels may read it)."""
        ctx, own = transcript.context, self.history.context
        if ctx is None or ctx == own:
            return
        if own is None and len(self.history) == 0:
            self.history = Transcript(context=ctx)
            return
        raise InvalidArgument(
            f"the transcript's context {ctx!r} differs from the updater's {own!r} (given to "
            f"updater(context=...) or held by the {len(self.history)} slots pushed so far); use a "
            f"new updater for another context"
        )

    def extend(self, transcript: Transcript) -> dict[str, Any]:
        """Push every slot of ``transcript`` in order; return the weights after the last one."""
        self.trace(transcript)
        return dict(self.weights)

    def trace(self, transcript: Transcript) -> PosteriorTrace:
        """The weights after each slot of ``transcript`` (the prior not included): O(T·P) factors.

        Exact arithmetic: the trace keeps each slot's integer multipliers and reduces an entry
        only when it is read, so no gcd is taken per slot (:class:`PosteriorTrace`). On zero
        evidence or a bad agent slot it raises, with the updater holding the slots before it.
        """
        transcript = expect_history(transcript)
        self._join(transcript)
        if self._num is None:
            return PosteriorTrace(self.mixture.names, [self.push(s) for s in transcript])
        m, start, steps = self.mixture, self._num, []
        alive = [u != 0 for u in start]  # u_p > 0: no zero factor yet (weights never go negative)
        try:
            for slot in transcript:
                history = self.history.append_slot(slot)
                i = len(history) - 1
                if is_evidence(slot, self.mode):
                    step = self._step(history, i)
                    now = [a and f != 0 for a, f in zip(alive, step)]
                    if not any(now):
                        raise _zero_slot(i, slot)
                    alive = now
                else:
                    m._check_agent_slot(history, i)
                    step = None
                steps.append(step)
                self.history = history
        finally:  # the slots that went in are kept, as with push
            out = PosteriorTrace.exact(m.names, start, steps)
            if any(s is not None for s in steps):
                self._num, self._weights = out.numerators(len(steps)), None
        return out
