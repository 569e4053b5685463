"""The exact Bayesian experimenter of the causal-DAG world: its gates come from the engine's transcript.

Every signed DAG of :class:`~bayes_agent.dag.world.HypothesisSpace` is a program p of the engine
(:class:`DagProgram`): its world channel is the closed-form Gaussian density of an observed
vector of values (the initial sample, or the outcome of the latest action) under the world's one
forward model; its action channel is a *teacher who knows p*: untried nodes at random while
experimenting, the best action for the goal (probability 1 - ε) while exploiting. An episode is a
:class:`~bayes_agent.Transcript`:

    world(initial values) · agent(action) · world(outcome) · world(initial values) · ...

An actor's own actions are agent slots (γ = 1), so under the first-person likelihood L_do
(§3.3, Eq. (2)) its posterior moves only on what the world wrote; a bystander watching a
recorded teacher sees the same actions as world-written slots on the action channel (γ = 0),
which are evidence. Which slots count is decided only by the engine's :func:`~bayes_agent.is_evidence`.

The engine scores one program at a time in Python, which is exact but too slow for 8,281 graphs
and thousands of episodes; :func:`log_posterior` walks the same transcript with the same gate rule
and scores every graph at once in numpy log space. The tests check that the two agree.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from typing import Any, Hashable, Sequence

import numpy as np

from .world import (
    ACTIONS,
    N_NODES,
    EpisodeBatch,
    HypothesisSpace,
    action_node,
    allowed_actions,
    log_likelihood,
    propagate,
)
from .._checks import integer_or_none
from ..errors import InvalidArgument, ZeroEvidence
from ..seeds import check_seed
from ..mixture import Mixture, is_evidence
from ..programs import Program
from ..transcript import Channel, Gate, Mode, Transcript

__all__ = [
    "BayesianExperimenter",
    "DagProgram",
    "EpisodeContext",
    "EXPLORATIONS",
    "ObservationOnlyPolicy",
    "TEACHER_EPSILON",
    "TranscriptView",
    "engine_mixture",
    "episode_transcript",
    "expected_information_gain",
    "explore_action",
    "log_posterior",
    "teacher_action_probs",
]

#: how often a teacher who knows the graph deviates from its best exploitation action
TEACHER_EPSILON = Fraction(1, 10)
#: how an experimenter chooses its experiments: the talk's protocol or expected information gain
EXPLORATIONS: tuple[str, ...] = ("protocol", "info_gain")


@dataclass(frozen=True)
class EpisodeContext:
    """A transcript's context c: the goal (None before it is named) and the trial the
    transcript's first slot belongs to (so a record of exploitation trials alone knows its phase)."""

    goal: int | None
    first_trial: int = 0


def _context(history: Transcript) -> EpisodeContext:
    c = history.context
    if not isinstance(c, EpisodeContext):
        raise InvalidArgument(f"a causal-DAG transcript's context is an EpisodeContext, got {c!r}")
    return c


def _vector(value: Hashable) -> np.ndarray:
    if not (isinstance(value, tuple) and len(value) == N_NODES):
        raise InvalidArgument(f"an observation of the causal-DAG world is a tuple of {N_NODES} "
                              f"floats, got {value!r}")
    x = np.array(value, dtype=float)
    if not np.isfinite(x).all():
        raise InvalidArgument(f"an observation must be finite, got {value!r}")
    return x


def _action(value: Hashable) -> int:
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < len(ACTIONS)):
        raise InvalidArgument(f"an action of the causal-DAG world is an int in 0..{len(ACTIONS) - 1}, "
                              f"got {value!r}")
    return int(value)


# ------------------------------------------------------------------------------------------------
# the teacher's action channel (shared by the engine program and the vectorised path)


def teacher_action_probs(
    best_action: int | None, tried: Sequence[int], goal: int | None, n_explore: int,
    epsilon: Fraction = TEACHER_EPSILON,
) -> list[Fraction]:
    """ν_p(a | h): the action distribution of a teacher whose best exploitation action is known.

    Experimenting (``goal is None``): uniform over positive interventions on untried nodes (the
    seed's expert tries every node once), which is the same under every graph. Exploiting:
    ``1 - ε`` on the graph's best action, ``ε`` spread over the other allowed actions.
    """
    probs = [Fraction(0)] * len(ACTIONS)
    if goal is None:
        untried = [k for k in range(N_NODES) if k not in set(action_node(a) for a in tried)]
        if not untried or len(tried) >= n_explore:
            untried = list(range(N_NODES))
        for k in untried:
            probs[2 * k] = Fraction(1, len(untried))
        return probs
    allowed = [a for a in ACTIONS if allowed_actions(goal)[a]]
    if best_action not in allowed:
        raise InvalidArgument(f"best action {best_action!r} is not allowed for goal {goal}")
    for a in allowed:
        probs[a] = 1 - epsilon if a == best_action else epsilon / (len(allowed) - 1)
    return probs


@functools.lru_cache(maxsize=4096)
def _teacher_table(best_action: int | None, tried: tuple[int, ...], goal: int | None,
                   n_explore: int) -> dict[int, float]:
    """:func:`teacher_action_probs` as floats, computed once per distinct argument (the engine asks
    the same question of thousands of programs)."""
    return {a: float(p) for a, p in enumerate(teacher_action_probs(best_action, tried, goal, n_explore))}


def _phase_goal(context: EpisodeContext, n_tried: int, n_explore: int) -> int | None:
    """The goal in force for the next action slot (None while experimenting)."""
    if context.first_trial + n_tried < n_explore:
        return None
    if context.goal is None:
        raise InvalidArgument("an exploitation action needs a goal in the transcript's context")
    return context.goal


# ------------------------------------------------------------------------------------------------
# the engine's view: one program per graph


class DagProgram(Program):
    """One signed DAG as a program: Gaussian world channel (a density), teacher action channel."""

    def __init__(self, space: HypothesisSpace, graph: int) -> None:
        if not (isinstance(graph, (int, np.integer)) and 0 <= int(graph) < len(space)):
            raise InvalidArgument(f"graph {graph!r} is not an index of the {len(space)} hypotheses")
        self.space, self.graph = space, int(graph)
        self.name = f"g{self.graph}"
        self._best: dict[int, int] = {}  # goal -> this graph's best action (a lookup, cached)

    def distribution(self, history: Transcript, channel: Channel) -> dict[Hashable, Any]:
        """The action channel as a table; the world channel is a density (see :meth:`prob`)."""
        if Channel(channel) is Channel.OBSERVATION:
            raise InvalidArgument("the causal-DAG world channel is continuous: it has a density "
                                  "(DagProgram.prob), not a table")
        tried = tuple(_action(s.value) for s in history if s.channel is Channel.ACTION)
        config = self.space.config
        goal = _phase_goal(_context(history), len(tried), config.n_explore)
        if goal is not None and goal not in self._best:
            self._best[goal] = int(self.space.best_actions([self.graph], goal)[0])
        return dict(_teacher_table(None if goal is None else self._best[goal], tried, goal, config.n_explore))

    def convert(self, kind: str) -> "DagProgram":
        """Float arithmetic only: the world channel is a Gaussian density."""
        if kind != "float":
            raise InvalidArgument(f"DagProgram computes in float arithmetic only, not {kind!r}")
        return self

    def prob(self, value: Hashable, history: Transcript, channel: Channel) -> float:
        """ν_p(value | h_<i, c): the density of an observed vector (an outcome when the slot
        before it is an action, else an untouched sample), or a teacher's action probability."""
        if Channel(channel) is Channel.ACTION:
            return self.distribution(history, channel)[_action(value)]
        last = history.slots[-1] if len(history) else None
        do = action_node(_action(last.value)) if last is not None and last.channel is Channel.ACTION else None
        ll = log_likelihood(self.space.fweights[self.graph][None], _vector(value), do, self.space.config)
        return float(np.exp(ll[0]))


def engine_mixture(space: HypothesisSpace, graphs: Sequence[int]) -> Mixture:
    """The engine's mixture over the given graphs with a uniform prior, in float arithmetic."""
    graphs = list(graphs)
    if not graphs:
        raise InvalidArgument("engine_mixture needs at least one graph")
    programs = [DagProgram(space, g) for g in graphs]
    return Mixture(programs, [1.0 / len(programs)] * len(programs), arithmetic="float")


class TranscriptView(Enum):
    """Which slots of an episode a transcript shows. Only consistent views exist: an outcome is
    scored given the action that produced it, so no view shows outcomes without actions."""

    FULL = "full"  # untouched samples, actions and outcomes: what an actor saw
    PASSIVE = "passive"  # the untouched samples only: the observation-only view
    CHOICES = "choices"  # the actions only: a record of someone's choices

    @property
    def samples(self) -> bool:
        return self is not TranscriptView.CHOICES

    @property
    def actions(self) -> bool:
        return self is not TranscriptView.PASSIVE

    @property
    def outcomes(self) -> bool:
        return self is TranscriptView.FULL


def _view_from_flags(outcomes: bool | None, actions: bool | None, samples: bool | None) -> TranscriptView:
    """The deprecated three booleans, mapped to the view they name (or refused)."""
    flags = (True if outcomes is None else outcomes, True if actions is None else actions,
             True if samples is None else samples)
    for view in TranscriptView:
        if (view.outcomes, view.actions, view.samples) == flags:
            return view
    raise InvalidArgument(f"outcomes={flags[0]}, actions={flags[1]}, samples={flags[2]} is not a view "
                          "of an episode (an outcome cannot be scored without its action); "
                          f"pass view= one of {[v.name for v in TranscriptView]}")


def episode_transcript(batch: EpisodeBatch, n: int, upto: int | None = None, *,
                       actor: Gate = Gate.AGENT, first_trial: int = 0,
                       view: TranscriptView = TranscriptView.FULL, outcomes: bool | None = None,
                       actions: bool | None = None, samples: bool | None = None) -> Transcript:
    """What episode ``n`` of ``batch`` showed before trial ``upto``'s action, as a gated transcript.

    Trials ``first_trial..upto-1`` in full, then trial ``upto``'s untouched sample (when it
    exists). ``actor=Gate.AGENT``: the actions are the reader's own interventions;
    ``actor=Gate.WORLD``: someone else's, world-written evidence on the action channel.
    ``view`` picks the slots shown (:class:`TranscriptView`). The booleans ``outcomes``,
    ``actions`` and ``samples`` are deprecated spellings of a view.
    """
    if (outcomes, actions, samples) != (None, None, None):
        warnings.warn("episode_transcript's outcomes/actions/samples flags are deprecated; pass "
                      "view=TranscriptView.FULL, PASSIVE or CHOICES", DeprecationWarning, stacklevel=2)
        view = _view_from_flags(outcomes, actions, samples)
    view = TranscriptView(view)
    config = batch.config
    last = config.n_trials if upto is None else integer_or_none(upto)
    if last is None or not 0 <= first_trial <= last <= config.n_trials:
        raise InvalidArgument(f"trials {first_trial}..{upto if last is None else last} are not a range of a "
                              f"{config.n_trials}-trial episode")
    upto = last
    goal = int(batch.goals[n, min(upto, config.n_trials - 1)])  # -1 while experimenting
    h = Transcript(context=EpisodeContext(None if goal < 0 else goal, first_trial))
    gate = Gate.of(actor)
    for t in range(first_trial, upto + 1):
        if t < config.n_trials and view.samples:
            h = h.world(tuple(float(v) for v in batch.initial[n, t]))
        if t == upto:
            break
        if view.actions:
            h = h.append(int(batch.actions[n, t]), gate, channel=Channel.ACTION)
        if view.outcomes:
            h = h.world(tuple(float(v) for v in batch.outcomes[n, t]))
    return h


# ------------------------------------------------------------------------------------------------
# the same posterior, vectorised


def log_posterior(
    space: HypothesisSpace, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL,
    graphs: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """log w_t(p) for every graph after ``history`` (Eqs. (1)-(2)), uniform prior over the space
    (or over ``graphs``). A slot counts only if the engine's :func:`~bayes_agent.is_evidence` says so:
    in ``mode="do"`` the world-written slots (initial samples, outcomes, a teacher's choices),
    in ``mode="obs"`` every slot, the actor's own choices included. Observations are scored by the
    Gaussian world channel, actions by the teacher's channel. Returns ``(graph indices, log
    weights)``, without graphs of zero likelihood."""
    mode = Mode.of(mode)
    context = _context(history)
    alive = np.arange(len(space)) if graphs is None else np.unique(np.asarray(graphs, dtype=int))
    logw = np.zeros(len(alive))
    xs: list[np.ndarray] = []
    dos: list[int] = []
    tried: list[int] = []
    previous: int | None = None  # the action slot just before, if the last slot was one
    for slot in history:
        if slot.channel is Channel.ACTION:
            a = _action(slot.value)
            if is_evidence(slot, mode):
                logw = logw + _teacher_log_probs(space, alive, a, tried, context)
            tried.append(a)
            previous = a
        else:
            x = _vector(slot.value)
            if is_evidence(slot, mode):
                xs.append(x)
                dos.append(-1 if previous is None else action_node(previous))
            previous = None
    if xs:
        logw = logw + space.log_likelihood(np.stack(xs), np.array(dos), alive)
    keep = np.isfinite(logw)
    if not keep.any():
        raise ZeroEvidence("no hypothesis gives this transcript a positive likelihood")
    alive, logw = alive[keep], logw[keep]
    return alive, logw - np.logaddexp.reduce(logw)


def _teacher_log_probs(space: HypothesisSpace, alive: np.ndarray, a: int, tried: list[int],
                       context: EpisodeContext) -> np.ndarray:
    config = space.config
    goal = _phase_goal(context, len(tried), config.n_explore)
    if goal is None:
        p = teacher_action_probs(None, tried, None, config.n_explore)[a]
        return np.full(len(alive), np.log(float(p)) if p > 0 else -np.inf)
    if not allowed_actions(goal)[a]:
        return np.full(len(alive), -np.inf)
    off = float(TEACHER_EPSILON) / (int(allowed_actions(goal).sum()) - 1)
    best = space.best_actions(alive, goal)
    return np.where(best == a, np.log(float(1 - TEACHER_EPSILON)), np.log(off))


# ------------------------------------------------------------------------------------------------
# choosing experiments


def explore_action(batch: EpisodeBatch, n: int, t: int, rng: np.random.Generator) -> int:
    """The seed's experimentation: a positive intervention on a node not tried yet, at random
    (in the cued world, on a cued node: :meth:`~.world.EpisodeBatch.nodes`)."""
    tried = {action_node(a) for a in batch.actions[n, :t] if a >= 0}
    nodes = batch.nodes(n)  # every node, or in the cued world the cued ones
    untried = [k for k in nodes if k not in tried] or nodes
    return 2 * int(rng.choice(untried))


def expected_information_gain(space: HypothesisSpace, graphs: np.ndarray, logw: np.ndarray,
                              rng: np.random.Generator, n_samples: int = 32,
                              mass: float = 1 - 1e-4) -> np.ndarray:
    """I(graph; outcome | do(a)) for every action under the posterior ``(graphs, logw)``.

    Monte Carlo over outcomes (graphs drawn from the posterior, noise from the world), with the
    marginal density computed exactly over the enumerated graphs; graphs outside the smallest
    set holding ``mass`` of the posterior are left out of this estimate only."""
    config = space.config
    order = np.argsort(-logw)
    w = np.exp(logw[order])
    k = int(np.searchsorted(np.cumsum(w), mass) + 1)
    graphs, logw = graphs[order[:k]], logw[order[:k]] - np.logaddexp.reduce(logw[order[:k]])
    draws = rng.choice(len(graphs), size=n_samples, p=np.exp(logw))
    noise = rng.normal(0.0, config.noise, (n_samples, N_NODES))
    gain = np.zeros(len(ACTIONS))
    for a in ACTIONS:
        node, value = action_node(a), (1 - 2 * (a % 2)) * config.intervention
        ys = propagate(space.fweights[graphs[draws]], noise, node, value)  # (S, 5)
        ll = space.log_likelihood(ys, node, graphs, per_vector=True)  # (H, S)
        own = ll[draws, np.arange(n_samples)]
        gain[a] = float(np.mean(own - np.logaddexp.reduce(ll + logw[:, None], axis=0)))
    return gain


class BayesianExperimenter:
    """The expert and the optimal reference: experiments, then exploits the exact posterior,
    choosing argmax_a Σ_p w_t(p) E_p[x_goal | do(a)].

    It reads its own history as a transcript in which its actions are agent slots, so with the
    default ``mode="do"`` they never enter its likelihood; ``mode="obs"`` is the self-deluded
    variant that scores its own choices as if a teacher had made them (§3.2). ``explore`` is
    ``"protocol"`` (each node once, positive, random order; ``seed`` fixes the order) or
    ``"info_gain"`` (the action of largest expected information gain about the graph)."""

    def __init__(self, space: HypothesisSpace, seed: int = 0, *, mode: Mode | str = Mode.INTERVENTIONAL,
                 explore: str = "protocol") -> None:
        if explore not in EXPLORATIONS:
            raise InvalidArgument(f"explore must be one of {EXPLORATIONS}, got {explore!r}")
        self.space, self.mode, self.explore = space, Mode.of(mode), explore
        self.rng = np.random.default_rng(check_seed(seed))

    def history(self, batch: EpisodeBatch, n: int, t: int) -> Transcript:
        """What this agent conditions on before acting at trial ``t``: everything, own actions gated."""
        return episode_transcript(batch, n, t, actor=Gate.AGENT)

    def posterior(self, batch: EpisodeBatch, n: int, t: int) -> tuple[np.ndarray, np.ndarray]:
        return log_posterior(self.space, self.history(batch, n, t), self.mode)

    def act(self, batch: EpisodeBatch, t: int) -> np.ndarray:
        config = self.space.config
        out = np.zeros(len(batch), dtype=int)
        for n in range(len(batch)):
            if t < config.n_explore and self.explore == "protocol":
                out[n] = explore_action(batch, n, t, self.rng)
                continue
            graphs, logw = self.posterior(batch, n, t)
            if t < config.n_explore:
                out[n] = int(np.argmax(expected_information_gain(self.space, graphs, logw, self.rng)))
                continue
            goal = int(batch.goals[n, t])
            expected = np.exp(logw) @ self.space.values(graphs)[:, :, goal]
            out[n] = int(np.argmax(np.where(allowed_actions(goal), expected, -np.inf)))
        return out


class ObservationOnlyPolicy(BayesianExperimenter):
    """The control: the same exact Bayesian, but it conditions on the untouched samples only, never
    on an intervention's outcome. If it did as well as the experimenter, experiments would not matter."""

    def history(self, batch: EpisodeBatch, n: int, t: int) -> Transcript:
        return episode_transcript(batch, n, t, view=TranscriptView.PASSIVE)
