"""The seven invariants of the design, written once for every regime (DESIGN.md).

A *regime* turns a transcript into an update of beliefs: the exact engine, the sympy engine,
the float log-space engine here, and later a torch mixture of programs or a transformer under
masked SFT. A regime implements the small :class:`Regime` protocol; each ``check_*`` function
below uses only that protocol and raises :class:`InvariantViolation` naming the invariant.

1. ``agent_slots_inert`` — appending agent slots never moves the interventional posterior.
2. ``provenance`` — the same symbol moves the posterior as a world slot (exactly when the
   programs holding weight disagree about it) and never as an agent slot.
3. ``decomposition`` — log L_obs = log L_do + Σ_{agent slots} log ν_p(a_i | h_<i, c).
4. ``coincidence`` — with no agent slots, the observational and interventional updates agree.
5. ``action_channels_irrelevant`` — replacing every program's action channel leaves the
   interventional posterior unchanged (for transcripts whose action-like slots are all the
   agent's: a world-written demonstration is scored by the action channel, so it is excluded).
6. ``sequential_equals_batch`` — the sequential updater equals the batch posterior; with
   history-free kernels, permuting the world slots changes nothing.
7. ``prior_under_do`` — before any outcome, P(p | do(a)) = P(p).

A check that cannot apply to a case (1, 2 and 7 need an action symbol of the mixture, one some program can write;
a mixture whose programs have only observation kernels has none) returns the reason instead of
running; :func:`check_all` lists it under ``skipped``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable, Hashable, Protocol, Sequence, runtime_checkable

from ._checks import expect_history
from ._numbers import EXACT, FLOAT, SYMBOLIC, is_zero
from .errors import InvalidArgument, ZeroEvidence
from .programs import Program
from .seeds import seeded_random
from .transcript import Channel, Gate, Mode, Transcript

__all__ = [
    "ALL_INVARIANTS",
    "AGENT_SLOTS_INERT",
    "Checked",
    "ACTION_CHANNELS_IRRELEVANT",
    "COINCIDENCE",
    "DECOMPOSITION",
    "EngineRegime",
    "InvariantViolation",
    "PRIOR_UNDER_DO",
    "PROVENANCE",
    "Regime",
    "SEQUENTIAL_EQUALS_BATCH",
    "check_action_channels_irrelevant",
    "check_agent_slots_inert",
    "check_all",
    "check_coincidence",
    "check_decomposition",
    "check_prior_under_do",
    "check_provenance",
    "check_sequential_equals_batch",
    "engine_regimes",
]

AGENT_SLOTS_INERT = "agent_slots_inert"
PROVENANCE = "provenance"
DECOMPOSITION = "decomposition"
COINCIDENCE = "coincidence"
ACTION_CHANNELS_IRRELEVANT = "action_channels_irrelevant"
SEQUENTIAL_EQUALS_BATCH = "sequential_equals_batch"
PRIOR_UNDER_DO = "prior_under_do"
ALL_INVARIANTS: tuple[str, ...] = (
    AGENT_SLOTS_INERT, PROVENANCE, DECOMPOSITION, COINCIDENCE,
    ACTION_CHANNELS_IRRELEVANT, SEQUENTIAL_EQUALS_BATCH, PRIOR_UNDER_DO,
)

_UNDEFINED = object()  # the state of a history with zero evidence


class InvariantViolation(AssertionError):
    """An invariant failed; the message names it and shows the two states that differ."""


@runtime_checkable
class Regime(Protocol):
    """What an invariant needs from a regime. A *case* is whatever the regime learns from
    (a mixture, a model); a *state* is its belief after a transcript (posterior weights, or a
    loss sum with its gradient). ``supports`` lists the invariants the regime can express.

    A regime whose action alphabet depends on the transcript may also define
    ``actions(case, transcript)``: the action symbols the agent could write after it (optional;
    without it the checks write from ``symbols(case, Channel.ACTION)``)."""

    name: str
    supports: frozenset[str]

    def prior(self, case: Any) -> Any: ...
    def update(self, case: Any, transcript: Transcript, mode: Mode) -> Any: ...
    def sequential(self, case: Any, transcript: Transcript, mode: Mode) -> Any: ...
    def same(self, a: Any, b: Any) -> bool: ...
    def log_likelihood(self, case: Any, transcript: Transcript, mode: Mode) -> Any: ...
    def action_log_likelihood(self, case: Any, transcript: Transcript) -> Any: ...
    def compose(self, log_a: Any, log_b: Any) -> Any: ...
    def close(self, log_a: Any, log_b: Any) -> bool: ...
    def replace_action_channels(self, case: Any, seed: int) -> Any: ...
    def symbols(self, case: Any, channel: Channel) -> Sequence[Hashable]: ...
    def discriminates(self, case: Any, transcript: Transcript, value: Hashable, channel: Channel) -> bool: ...
    def history_free(self, case: Any) -> bool: ...


def _update(regime: Regime, case: Any, h: Transcript, mode: Mode) -> Any:
    try:
        return regime.update(case, h, mode)
    except ZeroEvidence:
        return _UNDEFINED


def _same(regime: Regime, a: Any, b: Any) -> bool:
    if a is _UNDEFINED or b is _UNDEFINED:
        return a is b
    return regime.same(a, b)


def _fail(name: str, what: str, a: Any, b: Any) -> None:
    show = lambda s: "undefined (zero evidence)" if s is _UNDEFINED else repr(s)  # noqa: E731
    raise InvariantViolation(f"[{name}] {what}:\n  {show(a)}\n  {show(b)}")


def _actions(regime: Regime, case: Any, h: Transcript) -> list[Hashable]:
    """Action symbols the agent could write after ``h``: the regime's own ``actions(case, h)``
    where it has one (the engine reads history programs' alphabets at ``h``), else its
    action-channel ``symbols``."""
    actions = getattr(regime, "actions", None)
    return list(actions(case, h) if actions is not None else regime.symbols(case, Channel.ACTION))


_NO_ACTIONS = ("no action symbol: some program has no action kernel (an observation-only program, "
               "say), so an agent slot could not be scored for it under obs")


def check_agent_slots_inert(regime: Regime, case: Any, h: Transcript, seed: int = 0) -> str | None:
    """Invariant 1: appending one to three agent slots leaves the interventional update as it was.

    Returns None when it ran, or the reason it cannot apply (no action symbol to append)."""
    rng = seeded_random(seed)
    acts = _actions(regime, case, h)
    if not acts:
        return _NO_ACTIONS
    longer = h
    for _ in range(rng.randint(1, 3)):
        longer = longer.agent(rng.choice(acts))
    a, b = _update(regime, case, h, Mode.INTERVENTIONAL), _update(regime, case, longer, Mode.INTERVENTIONAL)
    if not _same(regime, a, b):
        _fail(AGENT_SLOTS_INERT, f"agent slots {longer.values[len(h):]} moved the posterior", a, b)
    return None


def check_provenance(regime: Regime, case: Any, h: Transcript, seed: int = 0) -> str | None:
    """Invariant 2: one symbol, two provenances: as an agent slot it never moves the update; as a
    world slot it moves it exactly when the programs holding weight give it different probabilities.

    Returns None when it ran, or the reason it cannot apply (no action symbol to write)."""
    rng = seeded_random(seed)
    acts = _actions(regime, case, h)
    if not acts:
        return _NO_ACTIONS
    s = rng.choice(acts)
    base = _update(regime, case, h, Mode.INTERVENTIONAL)
    if base is _UNDEFINED:
        return None
    agent = _update(regime, case, h.agent(s), Mode.INTERVENTIONAL)
    if not _same(regime, base, agent):
        _fail(PROVENANCE, f"the agent's {s!r} moved the posterior", base, agent)
    world = _update(regime, case, h.world(s, channel=Channel.ACTION), Mode.INTERVENTIONAL)
    moved = not _same(regime, base, world)
    expected = regime.discriminates(case, h, s, Channel.ACTION)
    if moved != expected:
        _fail(PROVENANCE, f"the world's {s!r} {'moved' if moved else 'did not move'} the posterior "
              f"although the programs {'agree' if not expected else 'disagree'} about it", base, world)
    return None


def check_decomposition(regime: Regime, case: Any, h: Transcript, seed: int = 0) -> None:
    """Invariant 3: log L_obs = log L_do + the agent slots' action log-likelihood, per program."""
    obs = regime.log_likelihood(case, h, Mode.OBSERVATIONAL)
    rebuilt = regime.compose(regime.log_likelihood(case, h, Mode.INTERVENTIONAL),
                             regime.action_log_likelihood(case, h))
    if not regime.close(obs, rebuilt):
        _fail(DECOMPOSITION, "log L_obs differs from log L_do + agent action terms", obs, rebuilt)


def _as_world(h: Transcript) -> Transcript:
    for i in h.indices(Gate.AGENT):
        h = h.relabel(i, Gate.WORLD)
    return h


def check_coincidence(regime: Regime, case: Any, h: Transcript, seed: int = 0) -> None:
    """Invariant 4: relabel every agent slot as the world's (a demonstration); obs and do agree."""
    w = _as_world(h)
    a, b = _update(regime, case, w, Mode.OBSERVATIONAL), _update(regime, case, w, Mode.INTERVENTIONAL)
    if not _same(regime, a, b):
        _fail(COINCIDENCE, "with no agent slots the two updates differ", a, b)
    la, lb = regime.log_likelihood(case, w, Mode.OBSERVATIONAL), regime.log_likelihood(case, w, Mode.INTERVENTIONAL)
    if not regime.close(la, lb):
        _fail(COINCIDENCE, "with no agent slots the two likelihoods differ", la, lb)


def _without_demonstrations(h: Transcript) -> Transcript:
    keep = tuple(s for s in h.slots if not (s.gate is Gate.WORLD and s.channel is Channel.ACTION))
    return Transcript(keep, h.context)


def check_action_channels_irrelevant(regime: Regime, case: Any, h: Transcript, seed: int = 0) -> None:
    """Invariant 5: swap every program's action channel for another; the do-update is unchanged."""
    h = _without_demonstrations(h)
    other = regime.replace_action_channels(case, seed)
    a, b = _update(regime, case, h, Mode.INTERVENTIONAL), _update(regime, other, h, Mode.INTERVENTIONAL)
    if not _same(regime, a, b):
        _fail(ACTION_CHANNELS_IRRELEVANT, "replacing the action channels moved the posterior", a, b)


def check_sequential_equals_batch(regime: Regime, case: Any, h: Transcript, seed: int = 0) -> None:
    """Invariant 6: sequential = batch in both modes; history-free kernels ignore world-slot order."""
    for mode in (Mode.INTERVENTIONAL, Mode.OBSERVATIONAL):
        batch = _update(regime, case, h, mode)
        try:
            seq = regime.sequential(case, h, mode)
        except ZeroEvidence:
            seq = _UNDEFINED
        if not _same(regime, batch, seq):
            _fail(SEQUENTIAL_EQUALS_BATCH, f"sequential and batch differ ({mode.value})", batch, seq)
    if regime.history_free(case):
        world = list(h.indices(Gate.WORLD))
        order = world[:]
        seeded_random(seed).shuffle(order)
        slots = list(h.slots)
        for i, j in zip(world, order):
            slots[i] = h.slots[j]
        shuffled = Transcript(tuple(slots), h.context)
        a = _update(regime, case, h, Mode.INTERVENTIONAL)
        b = _update(regime, case, shuffled, Mode.INTERVENTIONAL)
        if not _same(regime, a, b):
            _fail(SEQUENTIAL_EQUALS_BATCH, "permuting world slots of history-free kernels moved the posterior", a, b)


def check_prior_under_do(regime: Regime, case: Any, h: Transcript, seed: int = 0) -> str | None:
    """Invariant 7: an agent-only history (no outcome yet) leaves the prior: P(p | do(a)) = P(p).

    Returns None when it ran, or the reason it cannot apply (no action symbol to write)."""
    agent_only = Transcript(tuple(s for s in h.slots if s.gate is Gate.AGENT), h.context)
    rng = seeded_random(seed)
    acts = _actions(regime, case, agent_only)
    if not acts:
        return _NO_ACTIONS
    agent_only = agent_only.agent(rng.choice(acts))
    a, b = regime.prior(case), _update(regime, case, agent_only, Mode.INTERVENTIONAL)
    if not _same(regime, a, b):
        _fail(PRIOR_UNDER_DO, f"do{agent_only.values} moved the prior", a, b)
    return None


_CHECKS: dict[str, Callable[..., None]] = {
    AGENT_SLOTS_INERT: check_agent_slots_inert,
    PROVENANCE: check_provenance,
    DECOMPOSITION: check_decomposition,
    COINCIDENCE: check_coincidence,
    ACTION_CHANNELS_IRRELEVANT: check_action_channels_irrelevant,
    SEQUENTIAL_EQUALS_BATCH: check_sequential_equals_batch,
    PRIOR_UNDER_DO: check_prior_under_do,
}


class Checked(tuple):
    """The names of the invariants that ran (a tuple, as before), with ``skipped``: the
    invariants the regime supports that could not apply to this case, each with its reason."""

    skipped: dict[str, str]

    def __new__(cls, ran: Sequence[str], skipped: dict[str, str]) -> "Checked":
        out = super().__new__(cls, ran)
        out.skipped = dict(skipped)
        return out


def _check_arguments(regime: Any, h: Any, seed: Any) -> None:
    if not isinstance(regime, Regime):
        raise InvalidArgument(f"regime must implement the Regime protocol (an EngineRegime, say), got {regime!r}")
    expect_history(h, "the transcript")
    seeded_random(seed)  # an int >= 0 (or a random.Random), checked before any work


def check_all(regime: Regime, case: Any, h: Transcript, seed: int = 0) -> Checked:
    """Run every invariant the regime supports; return the names of those that ran (raises on the
    first failure). One that cannot apply to the case is listed, with why, in ``.skipped``."""
    _check_arguments(regime, h, seed)  # the case is checked by the regime itself, on first use
    ran, skipped = [], {}
    for name in ALL_INVARIANTS:
        if name in regime.supports:
            reason = _CHECKS[name](regime, case, h, seed)
            if reason is None:
                ran.append(name)
            else:
                skipped[name] = reason
    return Checked(ran, skipped)


# ---------------------------------------------------------------------------------------------
# Adapters for the engine's three arithmetics. A case is an exact Mixture.
# ---------------------------------------------------------------------------------------------


class EngineRegime:
    """The exact engine as a regime; ``arithmetic`` picks "exact", "symbolic" or "float"."""

    supports = frozenset(ALL_INVARIANTS)

    def __init__(self, arithmetic: str = EXACT, *, rtol: float = 1e-12) -> None:
        if not isinstance(arithmetic, str) or arithmetic not in (EXACT, SYMBOLIC, FLOAT):
            raise InvalidArgument(f"arithmetic must be 'exact', 'symbolic' or 'float', got {arithmetic!r}")
        if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or not rtol >= 0:
            raise InvalidArgument(f"rtol must be a number >= 0, got {rtol!r}")
        self.arithmetic, self.rtol = arithmetic, rtol
        self.name = f"engine-{arithmetic}"

    # conversions
    @staticmethod
    def _case(case: Any) -> Any:
        """The case, a Mixture with numbers: every regime is checked against exact rationals, so a
        prior or table kernel holding free symbols (:func:`symbols`) is refused, naming them."""
        from ._logspace import free_symbol_names
        from .mixture import Mixture
        from .programs import KeyedTable

        if not isinstance(case, Mixture):
            raise InvalidArgument(f"the engine's case must be a Mixture, got {type(case).__name__}")
        values = [*case.prior.values()] + [v for p in case.programs if isinstance(p, KeyedTable)
                                           for row in p.rows.values() for v in row.values()]
        free = free_symbol_names(values)
        if free:
            raise InvalidArgument(
                f"the invariant checks need a mixture of numbers (even EngineRegime('symbolic'), which "
                f"computes with sympy numbers and compares with exact rationals), but this one holds the "
                f"symbol(s) {', '.join(free)}: substitute values for them first")
        return case

    def _engine(self, case: Any) -> Any:
        from .arithmetic import LogSpaceMixture
        from .mixture import Mixture

        case = self._case(case)
        if self.arithmetic == "float":
            return LogSpaceMixture(case.programs, case.prior)
        return Mixture(case.programs, case.prior, arithmetic=self.arithmetic)

    def _exact(self, case: Any) -> Any:
        from .mixture import Mixture

        case = self._case(case)
        return Mixture(case.programs, case.prior, arithmetic=EXACT)

    # states
    def prior(self, case: Any) -> Any:
        m = self._engine(case)
        if self.arithmetic == "float":
            return m.log_prior - _np().log(_np().exp(m.log_prior).sum())
        return dict(m.prior)

    def update(self, case: Any, transcript: Transcript, mode: Mode) -> Any:
        m = self._engine(case)
        if self.arithmetic == "float":
            return m.log_posterior(transcript, mode)
        return m.posterior(transcript, mode)

    def sequential(self, case: Any, transcript: Transcript, mode: Mode) -> Any:
        m = self._engine(case)
        if self.arithmetic == "float":
            return m.log_posterior_trace(transcript, mode)[:, -1]
        return m.updater(mode, context=transcript.context).extend(transcript)

    def same(self, a: Any, b: Any) -> bool:
        if self.arithmetic == "float":
            np = _np()
            pa, pb = np.exp(a), np.exp(b)
            return bool(np.array_equal(pa == 0, pb == 0) and np.allclose(pa, pb, rtol=self.rtol, atol=1e-300))
        if self.arithmetic == SYMBOLIC:
            return a.keys() == b.keys() and all(is_zero(a[k] - b[k]) for k in a)
        return a == b

    # likelihoods: exact regimes work with L itself (compose = product), float with log L
    def log_likelihood(self, case: Any, transcript: Transcript, mode: Mode) -> Any:
        m = self._engine(case)
        if self.arithmetic == "float":
            return m.log_likelihood(transcript, mode)
        return m.likelihood(transcript, mode)

    def action_log_likelihood(self, case: Any, transcript: Transcript) -> Any:
        m = self._exact(case)
        out = {}
        for p in m.programs:
            v = Fraction(1)
            for i in transcript.indices(Gate.AGENT):
                v *= m.factor(p, transcript, i)
            out[p.name] = v
        if self.arithmetic == "float":
            np = _np()
            with np.errstate(divide="ignore"):
                return np.log(np.array([float(out[n]) for n in m.names]))
        if self.arithmetic == SYMBOLIC:
            return {n: _rational(v) for n, v in out.items()}
        return out

    def compose(self, log_a: Any, log_b: Any) -> Any:
        if self.arithmetic == "float":
            return log_a + log_b
        return {k: log_a[k] * log_b[k] for k in log_a}

    def close(self, log_a: Any, log_b: Any) -> bool:
        if self.arithmetic == "float":
            np = _np()
            fa, fb = np.isfinite(log_a), np.isfinite(log_b)
            return bool(np.array_equal(fa, fb) and np.array_equal(log_a[~fa], log_b[~fb])
                        and np.allclose(log_a[fa], log_b[fb], rtol=1e-12, atol=1e-9))
        return self.same(log_a, log_b)

    # case surgery
    def replace_action_channels(self, case: Any, seed: int) -> Any:
        from .mixture import Mixture
        from .programs import KeyedTable

        rng = seeded_random(seed)
        programs = []
        for p in self._case(case).programs:
            if not isinstance(p, KeyedTable):
                programs.append(_NewActionKernel(p.convert(EXACT), rng.randrange(1 << 32)))
                continue
            clone = p.convert(EXACT)
            rows = {}
            for (ch, key), row in clone.rows.items():
                if ch is Channel.ACTION:
                    ws = [rng.randint(1, 9) for _ in row]
                    row = {s: Fraction(w, sum(ws)) for s, w in zip(row, ws)}
                rows[(ch, key)] = row
            clone.rows = rows
            programs.append(clone)
        return Mixture(programs, case.prior, arithmetic=EXACT)

    def symbols(self, case: Any, channel: Channel, history: Transcript | None = None) -> Sequence[Hashable]:
        """The symbols of the mixture on ``channel``: those some program can score (a program
        lacking one gives it probability 0 inside the mixture, :meth:`Mixture.knows`).

        A table program's alphabet is read from its rows; any other program's is its row at
        ``history`` (the empty transcript if none is given): :meth:`Mixture.alphabet`."""
        return self._case(case).alphabet(channel, history)

    def actions(self, case: Any, transcript: Transcript) -> Sequence[Hashable]:
        """The action symbols an agent slot after ``transcript`` may hold (see :meth:`symbols`);
        none when some program has no action kernel at all, since the observational update could
        not score such a slot for it (the checks that append agent slots are then skipped)."""
        if not all(p.has_kernel(Channel.ACTION) for p in self._case(case).programs):
            return ()
        return self.symbols(case, Channel.ACTION, history=transcript)

    def discriminates(self, case: Any, transcript: Transcript, value: Hashable, channel: Channel) -> bool:
        m = self._exact(case)
        try:
            w = m.posterior(transcript)
        except ZeroEvidence:
            return False
        longer, i = transcript.world(value, channel=channel), len(transcript)
        qs = {p.name: m.factor(p, longer, i) for p in m.programs}  # the mixture's scoring of the slot
        held = {qs[n] for n in m.names if w[n] != 0}
        return len(held) > 1 or held == {0}  # disagreement, or the slot makes the evidence zero

    def history_free(self, case: Any) -> bool:
        return all(p.history_free for p in case.programs)


class _NewActionKernel(Program):
    """A non-table program with its action kernel replaced by other positive weights on the same
    symbols (drawn from ``seed`` and the history's length, so still a kernel); observation kept."""

    def __init__(self, inner: Program, seed: int) -> None:
        self.inner, self.seed, self.name = inner, seed, inner.name

    def distribution(self, history: Transcript, channel: Channel) -> dict[Hashable, Any]:
        row = self.inner.distribution(history, channel)
        if channel is not Channel.ACTION:
            return row
        rng = seeded_random(self.seed + len(history))
        ws = [rng.randint(1, 9) for _ in row]
        return {s: Fraction(w, sum(ws)) for s, w in zip(row, ws)}

    def has_kernel(self, channel: Channel | str) -> bool:
        return self.inner.has_kernel(channel)


def _rational(v: Fraction) -> Any:
    import sympy

    return sympy.Rational(v.numerator, v.denominator)


def _np() -> Any:
    import numpy

    return numpy


def engine_regimes() -> list[EngineRegime]:
    """The engine in its three arithmetics, each a :class:`Regime`."""
    return [EngineRegime(EXACT), EngineRegime(SYMBOLIC), EngineRegime("float")]
