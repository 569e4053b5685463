"""The talk's adaptive experiments: a cued causal-DAG world with more variables than the DAG.

The world has ``n_variables`` (8 by default) variables A, B, C, ... Each episode names, by a
multi-hot *cue*, the five relevant ones; the episode's signed DAG lives on them. It is one graph
of the five-node :class:`~.world.HypothesisSpace`, placed on the cued variables in ascending
order (local node i is the i-th cued variable), so the world keeps one representation of a graph
and one expected-value table: the cued hypothesis space is ``cues x graphs`` and costs nothing
beyond the five-node table. An irrelevant variable has no parents and no children: it is pure
noise ``N(0, σ²)``, still observed every trial and still open to ``do``, which pins it and changes
nothing else. So an intervention on an irrelevant variable is, for the relevant ones, one more
untouched sample, and the exact experimenter's posterior is the five-node posterior of the cued
coordinates (:func:`cued_transcript`); the irrelevant coordinates' density is the same under
every graph and cancels.

Held out, as in the talk: whole cue subsets (``target`` cues contain D and E, ``validation``
cues contain C and A; no training episode has either cue) and, as in the five-node world, the
dependencies D → E and C → A (no training graph has D an ancestor of E or C one of A, in
the variables' own names). The expert experiments on cued variables only
(:func:`~.experimenter.explore_action` reads :meth:`~.world.EpisodeBatch.nodes`).

```python
>>> world = CuedSpace(HypothesisSpace.shared(), CueConfig(n_variables=8))
>>> world.cue(["A", "C", "D", "E", "H"])
(0, 2, 3, 4, 7)
>>> len(world.cues("train")), len(world.cues("target")), len(world.cues("validation"))
(48, 4, 4)

```
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .experimenter import (BayesianExperimenter, EpisodeContext, TranscriptView, explore_action,
                           log_posterior)
from .world import (A_INDEX, C_INDEX, D_INDEX, E_INDEX, N_NODES, EpisodeBatch, HypothesisSpace, Policy,
                    action_node, action_sign, allowed_actions, check_actions, propagate)
from .._checks import expect_count
from ..errors import InvalidArgument
from ..transcript import Channel, Gate, Transcript

__all__ = [
    "CUED_SPLITS",
    "CueConfig",
    "CuedExperimenter",
    "CuedSpace",
    "CuedTask",
    "VARIABLES",
    "cued_transcript",
    "relevant_experiment_share",
    "run_cued_episodes",
    "sample_cued_tasks",
]

#: the cued world's variable names (A-E are the five-node world's, so D -> E keeps its name)
VARIABLES: tuple[str, ...] = tuple("ABCDEFGHIJ")
#: the cued world's splits (no ``path`` split)
CUED_SPLITS: tuple[str, ...] = ("train", "validation", "target")
#: each split's held-out (cause, goal) pair, in variable indices
_HELD_OUT = {"target": (D_INDEX, E_INDEX), "validation": (C_INDEX, A_INDEX)}


@dataclass(frozen=True)
class CueConfig:
    """How many variables the world has and how many cue subsets each evaluation split holds out."""

    n_variables: int = 8
    n_held_out: int = 4  # cue subsets per held-out split (target, validation)

    def __post_init__(self) -> None:
        if isinstance(self.n_variables, bool) or not (
                isinstance(self.n_variables, int) and N_NODES + 1 <= self.n_variables <= len(VARIABLES)):
            raise InvalidArgument(f"n_variables must be an int from {N_NODES + 1} to {len(VARIABLES)}, "
                                  f"got {self.n_variables!r}")
        held = _candidate_cues(self.n_variables)
        most = min(len(held["target"]), len(held["validation"]))
        if isinstance(self.n_held_out, bool) or not (isinstance(self.n_held_out, int) and 1 <= self.n_held_out <= most):
            raise InvalidArgument(f"n_held_out must be an int from 1 to {most} for {self.n_variables} "
                                  f"variables, got {self.n_held_out!r}")


def _candidate_cues(n_variables: int) -> dict[str, list[tuple[int, ...]]]:
    """Cues that can hold out each split's dependency: target cues contain D and E but not both
    C and A; validation cues C and A but not both D and E (so the two sets are disjoint)."""
    every = list(itertools.combinations(range(n_variables), N_NODES))
    has = lambda cue, pair: set(pair) <= set(cue)  # noqa: E731
    return {"target": [c for c in every if has(c, _HELD_OUT["target"]) and not has(c, _HELD_OUT["validation"])],
            "validation": [c for c in every if has(c, _HELD_OUT["validation"]) and not has(c, _HELD_OUT["target"])]}


@dataclass(frozen=True)
class CuedTask:
    """One episode: its cue (the five relevant variables, ascending), its graph (an index of the
    five-node space, local node i on variable ``cue[i]``) and its goal (a variable index)."""

    cue: tuple[int, ...]
    graph: int
    goal: int


class CuedSpace:
    """The cued world: the five-node hypothesis space, the cue subsets and their splits.

    Which cues are held out is fixed by a rule blind to any result: a seeded (seed 0) permutation
    of the candidate cues of each split, first ``n_held_out`` kept."""

    def __init__(self, space: HypothesisSpace, config: CueConfig | None = None) -> None:
        self.space, self.config = space, config or CueConfig()
        n = self.config.n_variables
        self.n_variables, self.names = n, VARIABLES[:n]
        rng = np.random.default_rng(0)
        self._cues: dict[str, list[tuple[int, ...]]] = {}
        for split, candidates in _candidate_cues(n).items():
            order = rng.permutation(len(candidates))[: self.config.n_held_out]
            self._cues[split] = sorted(candidates[i] for i in order)
        held = set(self._cues["target"]) | set(self._cues["validation"])
        self._cues["train"] = [c for c in itertools.combinations(range(n), N_NODES) if c not in held]
        self._members: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}

    @property
    def n_actions(self) -> int:
        return 2 * self.n_variables

    def cue(self, names: Sequence[str | int]) -> tuple[int, ...]:
        """A cue from variable names or indices, checked: five distinct variables of this world."""
        index = []
        for v in names:
            if isinstance(v, str) and v in self.names:
                index.append(self.names.index(v))
            elif isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < self.n_variables:
                index.append(int(v))
            else:
                raise InvalidArgument(f"the cue names variable {v!r}, which this world does not have "
                                      f"(its variables are {', '.join(self.names)})")
        if len(set(index)) != N_NODES:
            raise InvalidArgument(f"a cue names {N_NODES} distinct variables, got {list(names)!r}")
        return tuple(sorted(index))

    def cues(self, split: str) -> list[tuple[int, ...]]:
        """The cue subsets a split draws from (train: every cue not held out)."""
        if split not in CUED_SPLITS:
            raise InvalidArgument(f"split must be one of {CUED_SPLITS}, got {split!r}")
        return list(self._cues[split])

    def members(self, split: str, cue: Sequence[int]) -> np.ndarray:
        """The five-node graphs a split draws for a cue of its own (cached)."""
        cue = self.cue(cue)
        if cue not in self.cues(split):
            raise InvalidArgument(f"cue {self.cue_names(cue)} is not one of the {split!r} split's cues")
        if (split, cue) not in self._members:
            self._members[(split, cue)] = self._graphs(split, cue)
        return self._members[(split, cue)]

    def _graphs(self, split: str, cue: tuple[int, ...]) -> np.ndarray:
        anc, local = self.space.ancestors, {v: i for i, v in enumerate(cue)}

        def reaches(pair: tuple[int, int]) -> np.ndarray:  # the variable pair's ancestry, if both cued
            if not set(pair) <= set(local):
                return np.zeros(len(anc), dtype=bool)
            return anc[:, local[pair[0]], local[pair[1]]]

        if split == "train":
            keep = ~reaches(_HELD_OUT["target"]) & ~reaches(_HELD_OUT["validation"]) & anc.any(axis=(1, 2))
            return np.flatnonzero(keep)
        cause, goal = _HELD_OUT[split]
        other = _HELD_OUT["target" if split == "validation" else "validation"]
        cand = np.flatnonzero(reaches((cause, goal)) & ~reaches(other))
        unique, best = self.space.unique_best_nodes(cand, local[goal])
        return cand[unique & (best == local[cause])]

    def cue_names(self, cue: Sequence[int]) -> str:
        return "".join(self.names[v] for v in cue)

    def mask(self, tasks: Sequence[CuedTask]) -> np.ndarray:
        """The multi-hot cues of a list of tasks, ``(N, n_variables)`` bool."""
        out = np.zeros((len(tasks), self.n_variables), dtype=bool)
        for n, task in enumerate(tasks):
            out[n, list(task.cue)] = True
        return out


def sample_cued_tasks(world: CuedSpace, split: str, n: int, rng: np.random.Generator) -> list[CuedTask]:
    """``n`` tasks of a split: a cue uniformly among the split's cues, a graph uniformly among its
    members for that cue, and the goal: for ``train`` a cued variable that has an ancestor, for
    the held-out splits their goal (E for ``target``, A for ``validation``)."""
    n = expect_count(n, "the number of tasks")
    cues = world.cues(split)
    tasks = []
    for k in rng.integers(len(cues), size=n):
        cue = cues[int(k)]
        h = int(rng.choice(world.members(split, cue)))
        if split == "train":
            goal = cue[int(rng.choice(np.flatnonzero(world.space.ancestors[h].any(axis=0))))]
        else:
            goal = _HELD_OUT[split][1]
        tasks.append(CuedTask(cue, h, goal))
    return tasks


def run_cued_episodes(policy: Policy | Callable[[EpisodeBatch, int], np.ndarray], tasks: Sequence[CuedTask],
                      world: CuedSpace, rng: np.random.Generator) -> EpisodeBatch:
    """Play every task once; the returned batch carries the cues (``batch.cues``).

    The cued variables follow the task's graph (the five-node :func:`~.world.propagate`); every
    other variable is its own noise. ``do`` on a cued variable is the five-node surgery; ``do`` on
    an irrelevant one pins it and leaves the cued ones untouched."""
    config = world.space.config
    act = policy.act if hasattr(policy, "act") else policy
    n, m = len(tasks), world.n_variables
    if n == 0:
        raise InvalidArgument("run_cued_episodes needs at least one task")
    cues = np.array([world.cue(t.cue) for t in tasks])  # (N, 5), checked
    graphs = world.space.fweights[[t.graph for t in tasks]]
    goals = np.array([t.goal for t in tasks])
    if not (cues == goals[:, None]).any(axis=1).all():
        raise InvalidArgument("every task's goal must be one of its cued variables")
    batch = EpisodeBatch(np.zeros((n, config.n_trials, m)), np.full((n, config.n_trials), -1),
                         np.full((n, config.n_trials), -1), np.zeros((n, config.n_trials, m)), config,
                         cues=world.mask(tasks))
    rows = np.arange(n)[:, None]

    def sample(noise: np.ndarray, chosen: np.ndarray | None) -> np.ndarray:
        x = noise.copy()  # irrelevant variables: their noise
        node = np.full(n, -1) if chosen is None else _local_node(cues, action_node(chosen))
        local = np.where(node < 0, -1, 2 * node + (0 if chosen is None else chosen % 2))  # local action
        for a in np.unique(local):
            sel = local == a
            x[rows[sel], cues[sel]] = propagate(
                graphs[sel], noise[rows[sel], cues[sel]], None if a < 0 else action_node(a),
                action_sign(a) * config.intervention)
        if chosen is not None:
            x[np.arange(n), action_node(chosen)] = action_sign(chosen) * config.intervention
        return x

    for t in range(config.n_trials):
        if t >= config.n_explore:
            batch.goals[:, t] = goals
        batch.initial[:, t] = sample(rng.normal(0.0, config.noise, (n, m)), None)
        chosen = check_actions(act(batch, t), n, world.n_actions, goals if t >= config.n_explore else None,
                               lambda k, a: world.names[goals[k]])
        batch.actions[:, t] = chosen
        batch.outcomes[:, t] = sample(rng.normal(0.0, config.noise, (n, m)), chosen)
    return batch


def _local_node(cues: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Each episode's local index of a variable in its cue, -1 where the variable is not cued."""
    hit = cues == nodes[:, None]
    return np.where(hit.any(axis=1), hit.argmax(axis=1), -1)


def relevant_experiment_share(batch: EpisodeBatch) -> float:
    """The share of experimentation interventions (trials before the goal is named) that act on
    a cued variable: 1.0 for an agent that experiments only where the cue points."""
    if batch.cues is None:
        raise InvalidArgument("relevant_experiment_share needs a cued batch (batch.cues is None)")
    acts = batch.actions[:, : batch.config.n_explore]
    if (acts < 0).any():
        raise InvalidArgument("relevant_experiment_share needs played experimentation trials")
    return float(np.take_along_axis(batch.cues, action_node(acts), axis=1).mean())


def cued_transcript(batch: EpisodeBatch, n: int, upto: int, *, actor: Gate = Gate.AGENT,
                    view: TranscriptView = TranscriptView.FULL) -> Transcript:
    """What episode ``n`` showed of its cued variables before trial ``upto``'s action, as a
    five-node transcript (the relevant coordinates, local node i = i-th cued variable).

    An intervention on a cued variable is its local action; one on an irrelevant variable leaves
    the cued ones untouched, so it writes no action slot and its outcome is read as one more
    untouched sample (exact: the irrelevant coordinates' density is the same under every graph)."""
    if batch.cues is None:
        raise InvalidArgument("cued_transcript needs a cued batch (batch.cues is None)")
    config, view = batch.config, TranscriptView(view)
    upto = expect_count(upto, "upto", least=0, most=config.n_trials)
    cue = np.flatnonzero(batch.cues[n])
    local = {int(v): i for i, v in enumerate(cue)}
    goal = int(batch.goals[n, min(upto, config.n_trials - 1)])
    h = Transcript(context=EpisodeContext(None if goal < 0 else local[goal], 0))
    gate = Gate.of(actor)
    for t in range(upto + 1):
        if t < config.n_trials and view.samples:
            h = h.world(tuple(float(v) for v in batch.initial[n, t, cue]))
        if t == upto:
            break
        a = int(batch.actions[n, t])
        if action_node(a) in local and view.actions:
            h = h.append(2 * local[action_node(a)] + a % 2, gate, channel=Channel.ACTION)
        if view.outcomes:
            h = h.world(tuple(float(v) for v in batch.outcomes[n, t, cue]))
    return h


class CuedExperimenter(BayesianExperimenter):
    """The exact Bayesian experimenter of the cued world: it experiments on cued variables only
    (each once, positive, random order) and exploits the exact posterior over the five-node
    graphs of its cue, read from :func:`cued_transcript`. ``view=PASSIVE`` gives the
    observation-only control."""

    def __init__(self, space: HypothesisSpace, seed: int = 0, *,
                 view: TranscriptView = TranscriptView.FULL) -> None:
        super().__init__(space, seed)
        self.view = TranscriptView(view)

    def history(self, batch: EpisodeBatch, n: int, t: int) -> Transcript:
        return cued_transcript(batch, n, t, view=self.view)

    def act(self, batch: EpisodeBatch, t: int) -> np.ndarray:
        if batch.cues is None:
            raise InvalidArgument("the cued experimenter plays cued batches only (batch.cues is None)")
        out = np.zeros(len(batch), dtype=int)
        for n in range(len(batch)):
            if t < batch.config.n_explore:
                out[n] = explore_action(batch, n, t, self.rng)
                continue
            cue = batch.nodes(n)
            graphs, logw = log_posterior(self.space, self.history(batch, n, t), self.mode)
            goal = cue.index(int(batch.goals[n, t]))
            expected = np.exp(logw) @ self.space.values(graphs)[:, :, goal]
            a = int(np.argmax(np.where(allowed_actions(goal), expected, -np.inf)))
            out[n] = 2 * cue[action_node(a)] + a % 2
        return out
