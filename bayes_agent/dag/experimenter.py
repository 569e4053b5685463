"""The exact Bayesian experimenter for the causal-DAG world, and the bystander who watches one.

Every signed DAG of :class:`~bayes_agent.dag.world.HypothesisSpace` is a program p of the engine
(:class:`DagProgram`): its world channel gives the exact probability of each observed vector of
values (the initial sample, or the outcome of the latest action), its action channel is a
*teacher who knows p*: untried nodes at random while experimenting, the best action for the goal
(probability 1 - ε) while exploiting. An episode becomes a :class:`~bayes_agent.Transcript`:

    world(initial values) · agent(action) · world(outcome) · world(initial values) · ...

The experimenter's own actions are agent slots (γ = 1), so its posterior moves only on what the
world wrote; a bystander watching a recorded teacher sees the same actions as world-written
slots on the action channel (γ = 0), which are evidence when the teacher knew something.

The engine scores one program at a time in Python, which is exact but far too slow for 57k
graphs and thousands of episodes; :func:`log_posterior` is the same computation vectorised in
numpy log space, and the tests check that the two agree on every slot of real episodes.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any, Hashable, Sequence

import numpy as np

from .world import (
    ACTIONS,
    N_NODES,
    EpisodeBatch,
    HypothesisSpace,
    action_node,
    action_sign,
    allowed_actions,
    log_likelihood,
    propagate,
    run_episodes,
    sample_tasks,
)
from ..errors import InvalidArgument
from ..mixture import Mixture
from ..programs import Program, latest_action
from ..transcript import Channel, Gate, Mode, Transcript

__all__ = [
    "BayesianExperimenter",
    "DagProgram",
    "TEACHER_EPSILON",
    "bystander_study",
    "engine_mixture",
    "episode_transcript",
    "explore_action",
    "log_posterior",
    "teacher_action_probs",
]

#: how often a teacher who knows the graph deviates from its best exploitation action
TEACHER_EPSILON = Fraction(1, 10)


def _obs_symbol(x: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in x)


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


# ------------------------------------------------------------------------------------------------
# the engine's view: one program per graph


class DagProgram(Program):
    """One signed DAG as a program: exact world channel, teacher action channel.

    The transcript's context is the goal node (an int) during exploitation, ``None`` before; the
    number of action slots in the history says which trial the next slot belongs to.
    """

    def __init__(self, space: HypothesisSpace, graph: int) -> None:
        if not (0 <= int(graph) < len(space)):
            raise InvalidArgument(f"graph {graph!r} is not an index of the {len(space)} hypotheses")
        self.space, self.graph = space, int(graph)
        self.name = f"g{self.graph}"
        self._cache: dict[Any, dict[Hashable, Fraction]] = {}

    def distribution(self, history: Transcript, channel: Channel) -> dict[Hashable, Fraction]:
        channel = Channel(channel)
        if channel is Channel.OBSERVATION:
            last = history.slots[-1] if len(history) else None
            do = latest_action(history) if last is not None and last.channel is Channel.ACTION else None
            if do not in self._cache:
                self._cache[do] = self._world(do)
            return self._cache[do]
        tried = [s.value for s in history if s.channel is Channel.ACTION]
        config = self.space.config
        goal = history.context if len(tried) >= config.n_explore else None
        best = None if goal is None else int(self.space.best_actions([self.graph], goal)[0])
        probs = teacher_action_probs(best, tried, goal, config.n_explore)
        return {a: p for a, p in enumerate(probs)}

    def convert(self, kind: str) -> "DagProgram":
        """Exact arithmetic only: the probabilities are products of 1/4 and 1/2 (and ε)."""
        if kind != "exact":
            raise InvalidArgument(f"DagProgram computes in exact arithmetic only, not {kind!r}")
        return self

    def prob(self, value: Hashable, history: Transcript, channel: Channel) -> Fraction:
        """ν_p(value | h_<i, c). An observation vector outside this graph's support has
        probability zero (the support is finite, the space of vectors is not)."""
        channel = Channel(channel)
        row = self.distribution(history, channel)
        if value in row:
            return row[value]
        if channel is Channel.OBSERVATION and isinstance(value, tuple) and len(value) == N_NODES:
            return Fraction(0)
        raise InvalidArgument(
            f"{value!r} is not a {channel.value} of the causal-DAG world (an action is an int in "
            f"0..{len(ACTIONS) - 1}, an observation a tuple of {N_NODES} floats)"
        )

    def _world(self, do: int | None) -> dict[Hashable, Fraction]:
        config = self.space.config
        free = [j for j in range(N_NODES) if do is None or j != action_node(do)]
        p = [Fraction(1, 4), Fraction(1, 2), Fraction(1, 4)]
        out: dict[Hashable, Fraction] = {}
        combos = list(itertools.product(range(3), repeat=len(free)))
        noise = np.zeros((len(combos), N_NODES))
        noise[:, free] = config.noise_values[np.array(combos)]
        if do is None:
            xs = propagate(self.space.fweights[self.graph], noise)
        else:
            xs = propagate(self.space.fweights[self.graph], noise, action_node(do),
                           action_sign(do) * config.intervention)
        for combo, x in zip(combos, xs):
            prob = Fraction(1)
            for c in combo:
                prob *= p[c]
            key = _obs_symbol(x)
            out[key] = out.get(key, Fraction(0)) + prob
        return out


def engine_mixture(space: HypothesisSpace, graphs: Sequence[int]) -> Mixture:
    """The engine's mixture over the given graphs with a uniform prior, in exact arithmetic."""
    graphs = list(graphs)
    if not graphs:
        raise InvalidArgument("engine_mixture needs at least one graph")
    programs = [DagProgram(space, g) for g in graphs]
    return Mixture(programs, [Fraction(1, len(programs))] * len(programs), arithmetic="exact")


def episode_transcript(batch: EpisodeBatch, n: int, upto: int | None = None, *,
                       actor: Gate = Gate.AGENT) -> Transcript:
    """Episode ``n`` of ``batch`` (its first ``upto`` trials) as a gated transcript.

    ``actor=Gate.AGENT``: the actions are the learner's own (interventions). ``actor=Gate.WORLD``:
    the learner is a bystander and the actions are someone else's, world-written evidence.
    """
    config = batch.config
    upto = config.n_trials if upto is None else upto
    goal = int(batch.goals[n, -1]) if upto > config.n_explore else None
    h = Transcript(context=goal)
    for t in range(upto):
        h = h.world(_obs_symbol(batch.initial[n, t]))
        h = h.append(int(batch.actions[n, t]), Gate.of(actor), channel=Channel.ACTION)
        h = h.world(_obs_symbol(batch.outcomes[n, t]))
    return h


# ------------------------------------------------------------------------------------------------
# the same posterior, vectorised


def log_posterior(
    space: HypothesisSpace, batch: EpisodeBatch, n: int, upto: int, *,
    include_initial: bool = True, include_outcomes: bool = True,
    mode: Mode | str = Mode.INTERVENTIONAL, first_trial: int = 0,
    graphs: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Graphs still possible after trials ``first_trial..upto-1`` of episode ``n``, with log w_t.

    Uniform prior over the space (or over ``graphs`` when given). World-written vectors are always scored; the recorded actions
    are scored by the teacher's action channel only in ``mode="obs"`` (a bystander's L_obs);
    in ``mode="do"`` they are interventions and contribute nothing (L_do). Returns
    ``(graph indices, normalised log weights)``; graphs with zero likelihood are dropped.
    """
    mode = Mode.of(mode)
    config = space.config
    alive = np.arange(len(space)) if graphs is None else np.unique(np.asarray(graphs, dtype=int))
    logw = np.zeros(len(alive))

    def score(x: np.ndarray, do: int | None) -> None:
        nonlocal alive, logw
        ll = log_likelihood(space.fweights[alive], x, do, config)
        keep = np.isfinite(ll)
        alive, logw = alive[keep], logw[keep] + ll[keep]

    tried: list[int] = []
    for t in range(first_trial, upto):
        if include_initial:
            score(batch.initial[n, t], None)
        a = int(batch.actions[n, t])
        if mode is Mode.OBSERVATIONAL:
            goal = int(batch.goals[n, t])
            goal = None if goal < 0 else goal
            if goal is None:
                p = teacher_action_probs(None, tried, None, config.n_explore)[a]
                ll = np.full(len(alive), np.log(float(p)) if p > 0 else -np.inf)
            elif not allowed_actions(goal)[a]:
                ll = np.full(len(alive), -np.inf)
            else:
                off = float(TEACHER_EPSILON) / (int(allowed_actions(goal).sum()) - 1)
                best = space.best_actions(alive, goal)
                ll = np.where(best == a, np.log(float(1 - TEACHER_EPSILON)), np.log(off))
            keep = np.isfinite(ll)
            alive, logw = alive[keep], logw[keep] + ll[keep]
        tried.append(a)
        if include_outcomes:
            score(batch.outcomes[n, t], action_node(a))
    if len(alive) == 0:
        raise InvalidArgument(f"episode {n}: no hypothesis explains the record (is it from this space?)")
    logw = logw - np.logaddexp.reduce(logw)
    return alive, logw


def explore_action(batch: EpisodeBatch, n: int, t: int, rng: np.random.Generator) -> int:
    """The seed's experimentation: a positive intervention on a node not tried yet, at random."""
    tried = {action_node(a) for a in batch.actions[n, :t] if a >= 0}
    untried = [k for k in range(N_NODES) if k not in tried] or list(range(N_NODES))
    return 2 * int(rng.choice(untried))


class BayesianExperimenter:
    """The expert and the optimal reference: experiments on every node once, then exploits the
    exact posterior, choosing argmax_a Σ_p w_t(p) E_p[x_goal | do(a)].

    Its own actions never enter its likelihood (they are interventions); the initial samples and
    the outcomes do. ``seed`` fixes the order of its experiments.
    """

    def __init__(self, space: HypothesisSpace, seed: int = 0) -> None:
        self.space = space
        self.rng = np.random.default_rng(seed)

    def act(self, batch: EpisodeBatch, t: int) -> np.ndarray:
        config = self.space.config
        out = np.zeros(len(batch), dtype=int)
        for n in range(len(batch)):
            if t < config.n_explore:
                out[n] = explore_action(batch, n, t, self.rng)
                continue
            goal = int(batch.goals[n, t])
            graphs, logw = log_posterior(self.space, batch, n, t)
            expected = np.exp(logw) @ self.space.values(graphs)[:, :, goal]
            out[n] = int(np.argmax(np.where(allowed_actions(goal), expected, -np.inf)))
        return out


# ------------------------------------------------------------------------------------------------
# the bystander study


def bystander_study(space: HypothesisSpace, n_episodes: int, seed: int = 0) -> dict[str, float]:
    """Watching a teacher who knows the graph vs. acting oneself: when choices are evidence.

    A teacher who knows the graph plays the exploitation trials of ``target``-split episodes
    (goal E), sampling each action from its own channel (best action with probability 1 - ε).
    A learner reads the exploitation record - either the choices alone (``choices``) or the
    choices with their outcomes (``trials``) - and must then pick an action for E. As a
    bystander (``obs``) it scores the teacher's choices as world-written evidence; with ``do``
    it treats them as interventions and ignores them. The same two bookkeepings applied to the
    learner's *own* uniformly random choices (``self``) show the other side: there ``do`` is
    right and ``obs`` is the self-delusion of §3.2. Returned per case: the mean posterior mass
    on the true graph and the rate at which the learner's next choice is the true best action.
    """
    if not (isinstance(n_episodes, int) and n_episodes >= 1):
        raise InvalidArgument(f"n_episodes must be a positive int, got {n_episodes!r}")
    rng = np.random.default_rng(seed)
    config = space.config
    goal = 4
    tasks = sample_tasks(space, "target", n_episodes, rng)
    truth = np.array([t.graph for t in tasks])
    best = space.best_actions(truth, goal)
    allowed = np.flatnonzero(allowed_actions(goal))

    def teacher(batch: EpisodeBatch, t: int) -> np.ndarray:
        if t < config.n_explore:
            return np.array([explore_action(batch, n, t, rng) for n in range(len(batch))])
        out = []
        for n in range(len(batch)):
            probs = np.array([float(q) for q in teacher_action_probs(int(best[n]), [], goal, 0)])
            out.append(int(rng.choice(len(ACTIONS), p=probs / probs.sum())))
        return np.array(out)

    def learner(batch: EpisodeBatch, t: int) -> np.ndarray:
        if t < config.n_explore:
            return teacher(batch, t)
        return rng.choice(allowed, size=len(batch)).astype(int)

    results: dict[str, float] = {"n_episodes": float(n_episodes)}
    for actor, policy in (("teacher", teacher), ("self", learner)):
        batch = run_episodes(policy, tasks, space, rng)
        for record in ("choices", "trials"):
            for mode in ("obs", "do"):
                mass, correct = [], []
                for n in range(len(tasks)):
                    graphs, logw = log_posterior(
                        space, batch, n, config.n_trials, mode=mode, first_trial=config.n_explore,
                        include_initial=False, include_outcomes=record == "trials")
                    w = np.exp(logw)
                    mass.append(float(w[graphs == truth[n]].sum()))
                    expected = w @ space.values(graphs)[:, :, goal]
                    choice = int(np.argmax(np.where(allowed_actions(goal), expected, -np.inf)))
                    correct.append(choice == best[n])
                key = f"{actor}_{record}_{mode}"
                results[f"{key}_true_graph_mass"] = float(np.mean(mass))
                results[f"{key}_best_action_rate"] = float(np.mean(correct))
    return results
