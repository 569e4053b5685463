"""The delusion simulator: an agent acts inside a world, and two updaters score the same trajectory.

An agent picks each of its slots from the mixture's action distribution π(a | h, c) (§3.4), by
the threshold rule of §4.1 or by posterior sampling; a *world program* writes the other slots.
The one trajectory that results is then scored twice by the engine's [`Updater`][bayes_agent.mixture.Updater]:

* the **interventional** updater (eq. 1-2): the agent's own slots leave the weights alone;
* the **naive** (observational) updater (§3.2): the agent's own slots count as evidence.

Which of the two posteriors the agent *acts on* is the ``actor`` setting: ``"do"`` (a correct
agent, watched by a naive bookkeeper) or ``"obs"`` (a naive agent, whose self-confirmation feeds
back into its next choice). Nothing here computes a posterior by hand: every weight comes from
``Mixture.updater`` and every action from ``Mixture.decide`` / ``Mixture.sample_action``.

The §4 example is the two-slot special case. The agent writes A by the threshold rule, then the
world (here p_B, the true program) writes B on the first seed where it does:

```python
>>> from bayes_agent import two_action_mixture
>>> m = two_action_mixture()
>>> run = next(r for r in (simulate_trajectory(m, "p_B", steps=2, seed=s) for s in range(20))
...            if r.history.values == ("A", "B"))
>>> [w["p_B"] for w in run.weights_do], [w["p_B"] for w in run.weights_obs]
([Fraction(7, 20), Fraction(7, 20), Fraction(56, 69)], [Fraction(7, 20), Fraction(14, 131), Fraction(112, 229)])

```
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from fractions import Fraction
from statistics import median
from typing import Any, Hashable, Iterable, Mapping, Sequence

from ._numbers import EXACT, FLOAT, check_probability, convert, is_symbolic, short
from ._checks import expect, expect_count, expect_path
from .errors import InvalidArgument
from .figures import offscreen_figure, save_figure
from .mixture import Mixture
from .programs import Program
from .seeds import check_seed, seeded_random
from .transcript import Channel, Gate, Mode, Transcript, shared_slot

__all__ = [
    "DEFAULT_LOCK_LEVEL",
    "Ensemble",
    "RECOVERY_LEVEL",
    "Trajectory",
    "plot_ensemble",
    "plot_trajectory",
    "simulate_trajectory",
    "simulate_many",
]

POLICIES = ("threshold", "sample")
#: A run has *locked on* to a wrong program when, at its last slot, a wrong program holds at
#: least this much posterior weight.
DEFAULT_LOCK_LEVEL = Fraction(95, 100)
#: A run has *recovered* from the slot after which the true program's weight never again drops
#: below this level.
RECOVERY_LEVEL = Fraction(1, 2)


def check_level(level: Any, what: str = "level") -> Any:
    """A weight level in (0, 1], parsed like ``threshold`` (0.95, "19/20", Fraction(19, 20))."""
    x = check_probability(level, what)
    if is_symbolic(x) and x.free_symbols:
        raise InvalidArgument(f"{what} {x} is symbolic; comparing weights with it needs a number")
    if x == 0:
        raise InvalidArgument(f"{what} must be a probability in (0, 1], got 0 (every weight is ≥ 0)")
    return x


@dataclass(frozen=True)
class Trajectory:
    """One simulated run: the gated history and both updaters' weights before and after each slot.

    ``weights_do[t]`` and ``weights_obs[t]`` are the interventional and the naive posterior after
    ``t`` slots (``t = 0`` is the prior), so each list has ``len(history) + 1`` entries.
    Compared by value; not hashable (it holds dicts).
    """

    # Frozen but holding dicts of weights: compared by value (==), deliberately not hashable (a
    # hash of the fields would fail on the dicts), so not usable as a dict key or set member.
    __hash__ = None  # type: ignore[assignment]

    history: Transcript
    truth: str
    weights_do: tuple[dict[str, Any], ...]
    weights_obs: tuple[dict[str, Any], ...]
    policy: str
    actor: Mode
    seed: int

    def weights(self, mode: Mode | str) -> tuple[dict[str, Any], ...]:
        """The interventional (``"do"``) or naive (``"obs"``) weights over time."""
        return self.weights_do if Mode.of(mode) is Mode.INTERVENTIONAL else self.weights_obs

    def truth_weight(self, mode: Mode | str) -> list[Any]:
        """w_t(true program) for t = 0 .. len(history)."""
        return [w[self.truth] for w in self.weights(mode)]

    def locked(self, mode: Mode | str, level: Any = DEFAULT_LOCK_LEVEL) -> bool:
        """True when a wrong program holds at least ``level`` (in (0, 1]) of the final posterior."""
        return _locked(self, mode, check_level(level))

    def recovery_time(self, mode: Mode | str, level: Any = RECOVERY_LEVEL) -> int | None:
        """The first slot count t from which w(true) stays ≥ ``level`` (in (0, 1]) to the end; None
        if it ends below."""
        return _recovery_time(self, mode, check_level(level))


def _locked(run: Trajectory, mode: Mode | str, level: Any) -> bool:
    """:meth:`Trajectory.locked` for a ``level`` already checked (an ensemble checks it once)."""
    return any(w >= level for n, w in run.weights(mode)[-1].items() if n != run.truth)


def _recovery_time(run: Trajectory, mode: Mode | str, level: Any) -> int | None:
    """:meth:`Trajectory.recovery_time` for a ``level`` already checked (an ensemble checks it once)."""
    trace = run.truth_weight(mode)
    if trace[-1] < level:
        return None
    t = len(trace) - 1
    while t > 0 and trace[t - 1] >= level:
        t -= 1
    return t


@dataclass(frozen=True)
class Ensemble:
    """Many seeded trajectories with the same settings: lock-on fractions, recovery times, summaries.

    Compared by value; not hashable (it holds dicts)."""

    # Frozen but holding dicts of weights: compared by value (==), deliberately not hashable (a
    # hash of the fields would fail on the dicts), so not usable as a dict key or set member.
    __hash__ = None  # type: ignore[assignment]

    trajectories: tuple[Trajectory, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def truth(self) -> str:
        return self.trajectories[0].truth

    def truth_weights(self, mode: Mode | str) -> "Any":
        """A (runs × (slots + 1)) float array of w_t(true program)."""
        import numpy as np

        return np.array([[float(x) for x in t.truth_weight(mode)] for t in self.trajectories])

    def locked_over_time(self, mode: Mode | str, level: Any = DEFAULT_LOCK_LEVEL) -> "Any":
        """A (runs × (slots + 1)) boolean array: does a wrong program hold ≥ ``level`` after t slots?"""
        import numpy as np

        level = check_level(level)
        return np.array([[any(x >= level for n, x in w.items() if n != t.truth) for w in t.weights(mode)]
                         for t in self.trajectories])

    def lock_fraction(self, mode: Mode | str, level: Any = DEFAULT_LOCK_LEVEL) -> Fraction:
        """The fraction of runs that end locked onto a wrong program (exact count / runs)."""
        level = check_level(level)  # once, not once per run
        return Fraction(sum(_locked(t, mode, level) for t in self.trajectories), len(self.trajectories))

    def recovery_times(self, mode: Mode | str, level: Any = RECOVERY_LEVEL) -> list[int | None]:
        """Each run's recovery time (None where the run ends below ``level``)."""
        level = check_level(level)  # once, not once per run
        return [_recovery_time(t, mode, level) for t in self.trajectories]

    def summary(self, level: Any = DEFAULT_LOCK_LEVEL) -> dict[str, Any]:
        """Lock-on fraction, recovery statistics and the mean final weight on the truth, per updater.

        ``level`` is the lock-on level, a probability in (0, 1]; it is reported as given
        (``"19/20"`` for Fraction(19, 20), ``"0.95"`` for 0.95)."""
        level = check_level(level)
        out: dict[str, Any] = {"settings": dict(self.settings), "runs": len(self.trajectories),
                               "truth": self.truth, "lock_level": short(level)}
        for key, mode in (("interventional", Mode.INTERVENTIONAL), ("naive", Mode.OBSERVATIONAL)):
            times = self.recovery_times(mode)
            done = [t for t in times if t is not None]
            finals = [float(t.truth_weight(mode)[-1]) for t in self.trajectories]
            lock = self.lock_fraction(mode, level)
            out[key] = {
                "locked_wrong_fraction": {"exact": str(lock), "float": float(lock)},
                "recovered_fraction": len(done) / len(times),
                "median_recovery_slot": float(median(done)) if done else None,
                "mean_recovery_slot": sum(done) / len(done) if done else None,
                "mean_final_truth_weight": sum(finals) / len(finals),
            }
        return out


def _resolve_world(mixture: Mixture, world: str | Program) -> tuple[str, Program]:
    name = world.name if isinstance(world, Program) else world
    if not isinstance(name, str) or name not in mixture.names:
        raise InvalidArgument(
            f"the world must be one of the mixture's programs {list(mixture.names)} "
            f"(by name or object), got {world!r}"
        )
    program = world if isinstance(world, Program) else mixture.programs[mixture.names.index(name)]
    return name, program


def _schedule(schedule: Iterable[Any]) -> tuple[Gate, ...]:
    if isinstance(schedule, (str, bytes)) or not isinstance(schedule, Iterable):
        raise InvalidArgument(f"the schedule must be a sequence of gates such as (1, 0), got {schedule!r}")
    gates = tuple(Gate.of(g) for g in schedule)
    if not gates:
        raise InvalidArgument("the schedule of gates is empty: give e.g. (1, 0) for agent, then world")
    return gates


def _draw(row: Mapping[Hashable, Any], rng: random.Random) -> Hashable:
    """One seeded draw from a world kernel row, compared in exact rationals."""
    u = Fraction(rng.getrandbits(53), 1 << 53)
    total, last = Fraction(0), None
    for symbol, p in row.items():
        q = Fraction(convert(p, EXACT))
        if q > 0:
            total += q
            last = symbol
            if u < total:
                return symbol
    return last


def simulate_trajectory(
    mixture: Mixture,
    world: str | Program,
    *,
    steps: int,
    policy: str = "threshold",
    actor: Mode | str = Mode.INTERVENTIONAL,
    target: Hashable = "B",
    threshold: Any = Fraction(1, 2),
    otherwise: Hashable | None = None,
    schedule: Sequence[Any] = (Gate.AGENT, Gate.WORLD),
    world_channel: Channel | str = Channel.ACTION,
    seed: int = 0,
    context: Any = "c",
) -> Trajectory:
    """Run the agent ↔ world loop for ``steps`` slots and score the one trajectory with both updaters.

    ``schedule`` is the gate pattern γ, repeated (default: agent, world, agent, world, ...).
    Agent slots come from ``mixture.decide`` (``policy="threshold"``: write ``target`` when
    π(target | h, c) ≥ ``threshold``) or ``mixture.sample_action`` (``policy="sample"``, §3.4),
    computed under the ``actor`` posterior. World slots are drawn from the world program's kernel
    on ``world_channel`` (ACTION in §4: the world writes third-party action-like symbols).
    """
    if not isinstance(mixture, Mixture):
        raise InvalidArgument(f"simulate_trajectory needs a Mixture, got {type(mixture).__name__}")
    truth, world_program = _resolve_world(mixture, world)
    steps = expect_count(steps, "steps")
    if policy not in POLICIES:
        raise InvalidArgument(f"policy must be one of {POLICIES}, got {policy!r}")
    actor = Mode.of(actor)
    gates = _schedule(schedule)
    try:
        channel = Channel(world_channel)
    except ValueError:
        raise InvalidArgument(
            f"world_channel must be 'action' or 'observation', got {world_channel!r}"
        ) from None
    rng = seeded_random(seed)
    if not isinstance(seed, random.Random):  # the trajectory records a Python int (also for np.int64)
        seed = check_seed(seed)

    do = mixture.updater(Mode.INTERVENTIONAL, context=context)
    obs = mixture.updater(Mode.OBSERVATIONAL, context=context)
    acting = do if actor is Mode.INTERVENTIONAL else obs  # its weights are the actor's posterior
    weights_do, weights_obs = [dict(do.weights)], [dict(obs.weights)]
    for i in range(steps):
        history = do.history
        if gates[i % len(gates)] is Gate.AGENT:
            # the sequential weights equal the batch posterior (invariant 6), so each step costs
            # O(programs) instead of re-scoring the whole history
            if policy == "threshold":
                value = mixture.decide_from(acting.act(), target, threshold, otherwise).action
            else:
                value = acting.sample_action(rng)
            slot = shared_slot(value, Gate.AGENT)
        else:
            value = _draw(world_program.distribution(history, channel), rng)
            slot = shared_slot(value, Gate.WORLD, channel)
        weights_do.append(do.push(slot))
        weights_obs.append(obs.push(slot))
    return Trajectory(do.history, truth, tuple(weights_do), tuple(weights_obs), policy, actor, seed)


def simulate_many(
    mixture: Mixture,
    world: str | Program,
    *,
    runs: int,
    steps: int,
    seed: int = 0,
    arithmetic: str | None = None,
    **kwargs: Any,
) -> Ensemble:
    """``runs`` trajectories with seeds ``seed, seed + 1, ...``; other keywords go to :func:`simulate_trajectory`.

    ``arithmetic="float"`` re-expresses the mixture in floats first (fast for long runs);
    by default the mixture's own arithmetic is kept (exact for the §4 mixture).
    """
    expect(mixture, Mixture, "simulate_many's mixture")
    import inspect

    passed_on = set(inspect.signature(simulate_trajectory).parameters) - {"mixture", "world", "steps", "seed"}
    unknown = sorted(set(kwargs) - passed_on)
    if unknown:
        raise InvalidArgument(f"simulate_many got unknown keyword arguments {unknown}; it passes on "
                              f"{sorted(passed_on)} to simulate_trajectory")
    runs, steps = expect_count(runs, "runs"), expect_count(steps, "steps")
    seed = check_seed(seed)
    if arithmetic is not None:
        if arithmetic not in (EXACT, FLOAT):
            raise InvalidArgument(f"arithmetic must be 'exact' or 'float', got {arithmetic!r}")
        mixture = Mixture(mixture.programs, mixture.prior, arithmetic=arithmetic)
    trajectories = tuple(simulate_trajectory(mixture, world, steps=steps, seed=seed + k, **kwargs)
                         for k in range(runs))
    first = trajectories[0]
    settings = {"runs": runs, "steps": steps, "seed": seed, "policy": first.policy,
                "actor": first.actor.value, "arithmetic": mixture.arithmetic, "world": first.truth}
    settings.update({k: (v if isinstance(v, (int, str)) else str(v)) for k, v in kwargs.items()
                     if k in ("target", "threshold", "otherwise")})
    return Ensemble(trajectories, settings)


# ---------------------------------------------------------------------------------------------
# figures (matplotlib on a private Agg canvas, imported only when drawing; bayes_agent.figures)
# ---------------------------------------------------------------------------------------------

_COLOURS = {Mode.INTERVENTIONAL: "tab:blue", Mode.OBSERVATIONAL: "tab:red"}
_LABELS = {Mode.INTERVENTIONAL: "interventional updater (agent slots omitted)",
           Mode.OBSERVATIONAL: "naive updater (agent slots as evidence)"}


def _actor_words(actor: Mode) -> str:
    return "interventional" if actor is Mode.INTERVENTIONAL else "naive"


def plot_ensemble(ensemble: Ensemble, path: Any, *, title: str | None = None) -> Any:
    """Two panels over slots: the mean and the 25-75% band of w_t(true) (left); the share of runs
    that currently favour the truth and the share locked onto a wrong program (right). PNG at ``path``."""
    import numpy as np

    expect(ensemble, Ensemble, "plot_ensemble's ensemble")
    expect_path(path, "plot_ensemble's path")
    fig, (left, right) = offscreen_figure(1, 2, figsize=(12, 4.8), constrained_layout=True)
    first = ensemble.trajectories[0]
    t = np.arange(len(first.history) + 1)
    for mode in (Mode.INTERVENTIONAL, Mode.OBSERVATIONAL):
        w = ensemble.truth_weights(mode)
        lo, hi = np.quantile(w, [0.25, 0.75], axis=0)
        left.fill_between(t, lo, hi, color=_COLOURS[mode], alpha=0.18, lw=0)
        left.plot(t, w.mean(axis=0), color=_COLOURS[mode], lw=2.2, label=_LABELS[mode] + ": mean")
        right.plot(t, (w >= float(RECOVERY_LEVEL)).mean(axis=0), color=_COLOURS[mode], lw=2.2,
                   label=f"{_LABELS[mode].split(' (')[0]}: w(true) ≥ 1/2")
        right.plot(t, ensemble.locked_over_time(mode).mean(axis=0), color=_COLOURS[mode],
                   lw=1.6, ls="--", label=f"{_LABELS[mode].split(' (')[0]}: wrong program ≥ 0.95")
    left.axhline(0.5, color="grey", lw=0.8, ls=":")
    left.set_xlim(0, t[-1])
    left.set_ylim(-0.02, 1.02)
    left.set_xlabel("slot t (agent and world slots alternate)")
    left.set_ylabel(f"posterior weight on the true program {ensemble.truth}")
    left.set_title("Posterior on the truth (mean; middle 50% of runs shaded)")
    left.legend(loc="lower right", fontsize=8.5)
    right.set_xlim(0, t[-1])
    right.set_ylim(-0.02, 1.02)
    right.set_xlabel("slot t")
    right.set_ylabel("fraction of runs")
    right.set_title("Share of runs favouring the truth / locked on a wrong one")
    right.legend(loc="center right", fontsize=8.5)
    s = ensemble.settings
    fig.suptitle(title or (
        f"Delusion simulator: {len(ensemble.trajectories)} runs, policy = {s.get('policy')}, "
        f"the agent acts on the {_actor_words(first.actor)} posterior; world = {ensemble.truth}"))
    return save_figure(fig, path, dpi=120)


def plot_trajectory(trajectory: Trajectory, path: Any, *, slots: int | None = None,
                    title: str | None = None) -> Any:
    """One run: both updaters' w_t(true) over its first ``slots`` slots (default all), agent slots
    shaded and, up to 40 slots, every symbol printed. PNG at ``path``."""
    expect(trajectory, Trajectory, "plot_trajectory's trajectory")
    expect_path(path, "plot_trajectory's path")
    n = len(trajectory.history) if slots is None else min(expect_count(slots, "slots"),
                                                          len(trajectory.history))
    fig, ax = offscreen_figure(figsize=(max(7.0, min(14.0, 0.32 * n + 4)), 4.6), constrained_layout=True)
    for i, slot in enumerate(trajectory.history.slots[:n], start=1):
        if slot.gate is Gate.AGENT:
            ax.axvspan(i - 0.5, i + 0.5, color="0.9", lw=0)
        if n <= 40:
            ax.text(i, -0.08, str(slot.value), ha="center", va="center", fontsize=8,
                    color="0.35" if slot.gate is Gate.AGENT else "black")
    for mode in (Mode.INTERVENTIONAL, Mode.OBSERVATIONAL):
        ax.plot(range(n + 1), [float(x) for x in trajectory.truth_weight(mode)[:n + 1]], marker="o", ms=3.5,
                color=_COLOURS[mode], lw=1.8, label=_LABELS[mode])
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlim(-0.5, n + 0.5)
    ax.set_ylim(-0.14, 1.04)
    ax.set_xlabel("slot t (grey columns: the agent wrote the slot; symbols along the bottom)")
    ax.set_ylabel(f"posterior weight on the true program {trajectory.truth}")
    ax.legend(loc="upper left", fontsize=8.5)
    ax.set_title(title or (
        f"One trajectory (seed {trajectory.seed}, policy = {trajectory.policy}, "
        f"agent acts on the {_actor_words(trajectory.actor)} posterior): two updaters, same slots"))
    return save_figure(fig, path, dpi=120)
