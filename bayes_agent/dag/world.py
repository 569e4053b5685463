"""A causal-DAG world for experimenting and exploiting (the passive-causal-strategies seed).

Five variables A-E sit on a signed DAG that is redrawn every episode. A variable's value is the
nonlinearity ``tanh`` of its parents' weighted sum plus noise; an action ``do(X = ±v)`` removes
X's mechanism and pins it at a large value ``±v`` (the paper's §2.2 surgery, per node). An episode
is ``n_explore`` experimentation trials (no goal) and then ``n_exploit`` exploitation trials in
which a goal variable is named and the reward is its value after the intervention. Every trial
the agent first sees a fresh sample of the untouched system (the initial values), then acts,
then sees a fresh sample of the intervened system (the outcome).

Choices made so that the exact Bayesian experimenter can enumerate its hypotheses and score
them through ``bayes_agent``'s discrete engine:

* weights are -1 or +1 on at most ``max_edges`` edges (any direction, acyclic): with the default
  3 that is 8,281 signed DAGs, the whole hypothesis set, sampled uniformly;
* noise is discrete, ``-σ, 0, +σ`` with probabilities 1/4, 1/2, 1/4, and every value is rounded to
  6 decimals, so each observation has an exact probability under every hypothesis.

Splits, as in the seed: ``train`` graphs never have D as an ancestor of E; ``target`` graphs
have D as the best node to intervene on to maximise E; ``path`` graphs have D on the path from the
best node to E (that node is a proper ancestor of D). Evaluation goals are always E.

```python
>>> space = HypothesisSpace(DagConfig(max_edges=1))
>>> len(space)                      # the empty graph and 20 directed pairs x 2 signs
41
>>> action_name(7)
'do(D=-3)'

```
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np

from ..errors import InvalidArgument

__all__ = [
    "ACTIONS",
    "D_INDEX",
    "DagConfig",
    "E_INDEX",
    "EpisodeBatch",
    "HypothesisSpace",
    "NODES",
    "Policy",
    "SPLITS",
    "Task",
    "action_name",
    "action_node",
    "action_sign",
    "allowed_actions",
    "log_likelihood",
    "propagate",
    "run_episodes",
    "sample_tasks",
]

NODES: tuple[str, ...] = ("A", "B", "C", "D", "E")
N_NODES = len(NODES)
D_INDEX, E_INDEX = 3, 4
#: action ``a`` sets node ``a // 2`` to ``+v`` (``a`` even) or ``-v`` (``a`` odd)
ACTIONS: tuple[int, ...] = tuple(range(2 * N_NODES))
SPLITS: tuple[str, ...] = ("train", "target", "path")
_DECIMALS = 6


@dataclass(frozen=True)
class DagConfig:
    """The world's constants: noise scale σ, intervention size v, sparsity, phase lengths."""

    noise: float = 0.2
    intervention: float = 3.0
    max_edges: int = 3
    n_explore: int = 5
    n_exploit: int = 2

    def __post_init__(self) -> None:
        if not (isinstance(self.noise, (int, float)) and 0 < self.noise < 1):
            raise InvalidArgument(f"noise σ must be a number in (0, 1), got {self.noise!r}")
        if not (isinstance(self.intervention, (int, float)) and self.intervention > 1):
            raise InvalidArgument(
                f"the intervention value must be a number > 1 (large next to tanh's range), "
                f"got {self.intervention!r}"
            )
        if not (isinstance(self.max_edges, int) and 1 <= self.max_edges <= 4):
            raise InvalidArgument(f"max_edges must be an int from 1 to 4, got {self.max_edges!r}")
        if not (isinstance(self.n_explore, int) and self.n_explore >= 0):
            raise InvalidArgument(f"n_explore must be a non-negative int, got {self.n_explore!r}")
        if not (isinstance(self.n_exploit, int) and self.n_exploit >= 1):
            raise InvalidArgument(f"n_exploit must be a positive int, got {self.n_exploit!r}")

    @property
    def n_trials(self) -> int:
        return self.n_explore + self.n_exploit

    @property
    def noise_values(self) -> np.ndarray:
        return np.array([-self.noise, 0.0, self.noise])

    @property
    def noise_probs(self) -> np.ndarray:
        return np.array([0.25, 0.5, 0.25])


def action_node(a: int) -> int:
    """The node an action intervenes on."""
    return int(a) // 2


def action_sign(a: int) -> int:
    """+1 or -1: the direction an action pushes its node."""
    return 1 - 2 * (int(a) % 2)


def action_name(a: int, config: DagConfig | None = None) -> str:
    """Human-readable name, e.g. ``do(D=+3)``."""
    if not (isinstance(a, (int, np.integer)) and 0 <= a < len(ACTIONS)):
        raise InvalidArgument(f"an action is an int in 0..{len(ACTIONS) - 1}, got {a!r}")
    v = (config or DagConfig()).intervention
    sign = "+" if action_sign(a) > 0 else "-"
    return f"do({NODES[action_node(a)]}={sign}{v:g})"


def allowed_actions(goal: int | None) -> np.ndarray:
    """Boolean mask of the actions allowed in a trial: all of them, minus the goal's own node."""
    mask = np.ones(len(ACTIONS), dtype=bool)
    if goal is not None and goal >= 0:
        mask[2 * goal: 2 * goal + 2] = False
    return mask


# ------------------------------------------------------------------------------------------------
# mechanisms


def propagate(
    weights: np.ndarray, noise: np.ndarray, do_node: int | None = None, do_value: float = 0.0
) -> np.ndarray:
    """Values of all nodes: ``x_j = round(tanh(Σ_i w_ij x_i) + ε_j)``, with ``x_k = do_value``.

    ``weights[..., i, j]`` is the weight of edge i → j; leading axes of ``weights`` and ``noise``
    broadcast. Five passes settle any DAG on five nodes; the last pass recomputes every node from
    its parents' final values, so the result satisfies its own mechanism exactly.
    """
    shape = np.broadcast_shapes(weights.shape[:-2], noise.shape[:-1]) + (N_NODES,)
    x = np.zeros(shape)
    for _ in range(N_NODES):
        s = np.einsum("...i,...ij->...j", x, weights)
        x = np.round(np.tanh(s) + noise, _DECIMALS)
        if do_node is not None:
            x[..., do_node] = do_value
    return x


def log_likelihood(
    weights: np.ndarray, x: np.ndarray, do_node: int | None, config: DagConfig
) -> np.ndarray:
    """log P(x | graph, do) for each graph in ``weights`` (shape ``(H, 5, 5)``); -inf if impossible.

    Every observed node except the intervened one is scored by its own mechanism given the
    observed parents: its residual must be one of the noise values. The intervened node has a
    point mass at its set value, probability one under every graph (so it is left out).
    """
    x = np.asarray(x, dtype=float)
    means = np.tanh(np.einsum("i,hij->hj", x, weights))  # (H, 5)
    logp = np.full(means.shape, -np.inf)
    for e, p in zip(config.noise_values, config.noise_probs):
        hit = np.abs(np.round(means + e, _DECIMALS) - x) < 1e-9
        logp = np.where(hit, np.log(p), logp)
    if do_node is not None:
        logp[:, do_node] = 0.0
    return logp.sum(axis=1)


# ------------------------------------------------------------------------------------------------
# the hypothesis set: every signed DAG with at most max_edges edges


def _enumerate(max_edges: int) -> np.ndarray:
    pairs = list(itertools.combinations(range(N_NODES), 2))
    graphs = []
    for k in range(max_edges + 1):
        for chosen in itertools.combinations(pairs, k):
            for orient in itertools.product((0, 1), repeat=k):
                edges = [(i, j) if o == 0 else (j, i) for (i, j), o in zip(chosen, orient)]
                if not _acyclic(edges):
                    continue
                for signs in itertools.product((1, -1), repeat=k):
                    w = np.zeros((N_NODES, N_NODES), dtype=np.int8)
                    for (i, j), s in zip(edges, signs):
                        w[i, j] = s
                    graphs.append(w)
    return np.stack(graphs)


def _acyclic(edges: Sequence[tuple[int, int]]) -> bool:
    reach = np.eye(N_NODES, dtype=bool)
    for i, j in edges:
        reach[i, j] = True
    for k in range(N_NODES):
        reach |= reach[:, [k]] & reach[[k], :]
    return not any(reach[j, i] for i, j in edges)


def _ancestors(weights: np.ndarray) -> np.ndarray:
    """``anc[h, i, j]``: node i is a proper ancestor of node j in graph h."""
    reach = weights != 0
    for k in range(N_NODES):
        reach = reach | (reach[:, :, [k]] & reach[:, [k], :])
    return reach


@dataclass
class HypothesisSpace:
    """All signed DAGs the world can draw, with their ancestor sets and expected outcomes.

    ``values[h, a, g]`` is E[x_g | do(a)] under graph h, computed exactly by enumerating the
    noise of the four other nodes; it is what the optimal exploiter maximises.
    """

    config: DagConfig = field(default_factory=DagConfig)

    def __post_init__(self) -> None:
        self.weights = _enumerate(self.config.max_edges)
        self.fweights = self.weights.astype(float)
        self.ancestors = _ancestors(self.weights)
        self._values = np.zeros((len(self.weights), len(ACTIONS), N_NODES))
        self._known = np.zeros(len(self.weights), dtype=bool)
        self._splits: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.weights)

    def values(self, graphs: np.ndarray | Sequence[int]) -> np.ndarray:
        """``E[x_g | do(a)]`` for the given graph indices, shape ``(len(graphs), 10, 5)``.

        Computed on first request and cached: an episode only ever needs the few graphs its
        posterior still holds, so the full table (slow for 57k graphs) is never built.
        """
        graphs = np.asarray(graphs, dtype=int)
        missing = np.unique(graphs[~self._known[graphs]])
        if len(missing):
            self._values[missing] = expected_values(self.fweights[missing], self.config)
            self._known[missing] = True
        return self._values[graphs]

    def best_actions(self, graphs: np.ndarray | Sequence[int], goal: int) -> np.ndarray:
        """For each given graph, the allowed action with the highest expected goal value."""
        v = np.where(allowed_actions(goal)[None, :], self.values(graphs)[:, :, goal], -np.inf)
        return v.argmax(axis=1)

    def split_members(self, split: str) -> np.ndarray:
        """Indices of the graphs that a split draws from (cached)."""
        if split not in SPLITS:
            raise InvalidArgument(f"split must be one of {SPLITS}, got {split!r}")
        if split not in self._splits:
            self._splits[split] = self._members(split)
        return self._splits[split]

    def _members(self, split: str) -> np.ndarray:
        anc = self.ancestors
        d_to_e = anc[:, D_INDEX, E_INDEX]
        if split == "train":
            return np.flatnonzero(~d_to_e & anc.any(axis=1).any(axis=1))
        cand = np.flatnonzero(d_to_e)
        v = np.where(allowed_actions(E_INDEX)[None, :], self.values(cand)[:, :, E_INDEX], -np.inf)
        ranked = np.sort(v, axis=1)
        unique = ranked[:, -1] - ranked[:, -2] > 1e-9
        best_node = v.argmax(axis=1) // 2
        if split == "target":
            return cand[unique & (best_node == D_INDEX)]
        via_d = anc[cand, best_node, D_INDEX]
        return cand[unique & (best_node != D_INDEX) & via_d]


def expected_values(weights: np.ndarray, config: DagConfig, chunk: int = 512) -> np.ndarray:
    """E[x_g | do(a)] for every graph, action and node, by exact enumeration of the noise."""
    combos = np.array(list(itertools.product(range(3), repeat=N_NODES - 1)))
    probs = np.prod(config.noise_probs[combos], axis=1)  # (81,)
    out = np.zeros((len(weights), len(ACTIONS), N_NODES))
    for a in ACTIONS:
        k = action_node(a)
        noise = np.zeros((len(combos), N_NODES))
        noise[:, [j for j in range(N_NODES) if j != k]] = config.noise_values[combos]
        value = action_sign(a) * config.intervention
        for start in range(0, len(weights), chunk):
            w = weights[start:start + chunk]  # (c, 5, 5)
            x = np.zeros((len(w), len(combos), N_NODES))
            for _ in range(config.max_edges + 1):  # a path has at most max_edges edges
                x = np.round(np.tanh(x @ w) + noise, _DECIMALS)  # batched (81 x 5) @ (5 x 5)
                x[..., k] = value
            out[start:start + chunk, a] = np.einsum("cnj,n->cj", x, probs)
    return out


# ------------------------------------------------------------------------------------------------
# tasks and episodes


@dataclass(frozen=True)
class Task:
    """One episode's hidden graph (an index into the hypothesis space) and its goal node."""

    graph: int
    goal: int


def sample_tasks(space: HypothesisSpace, split: str, n: int, rng: np.random.Generator) -> list[Task]:
    """``n`` tasks drawn uniformly from a split; training goals are nodes that have an ancestor."""
    if not (isinstance(n, int) and n >= 1):
        raise InvalidArgument(f"the number of tasks must be a positive int, got {n!r}")
    members = space.split_members(split)
    if len(members) == 0:
        raise InvalidArgument(f"split {split!r} is empty for max_edges={space.config.max_edges}")
    graphs = rng.choice(members, size=n)
    tasks = []
    for h in graphs:
        if split == "train":
            goals = np.flatnonzero(space.ancestors[h].any(axis=0))
            tasks.append(Task(int(h), int(rng.choice(goals))))
        else:
            tasks.append(Task(int(h), E_INDEX))
    return tasks


@dataclass
class EpisodeBatch:
    """What happened in a batch of episodes, trial by trial; what a policy may look at.

    ``goal[n, t]`` is -1 in experimentation trials; ``actions``/``outcomes`` are filled for trials
    already played, ``initial`` also for the trial being decided.
    """

    initial: np.ndarray  # (N, T, 5)
    goals: np.ndarray  # (N, T) int, -1 = no goal yet
    actions: np.ndarray  # (N, T) int, -1 = not played
    outcomes: np.ndarray  # (N, T, 5)
    config: DagConfig

    @classmethod
    def empty(cls, n: int, config: DagConfig) -> "EpisodeBatch":
        t = config.n_trials
        return cls(np.zeros((n, t, N_NODES)), np.full((n, t), -1), np.full((n, t), -1),
                   np.zeros((n, t, N_NODES)), config)

    def __len__(self) -> int:
        return len(self.initial)

    def rewards(self) -> np.ndarray:
        """The goal's value after each exploitation trial, ``(N, n_exploit)``."""
        e = self.config.n_explore
        goals = self.goals[:, e:]
        return np.take_along_axis(self.outcomes[:, e:], goals[:, :, None], axis=2)[:, :, 0]


class Policy(Protocol):
    """Anything that picks an action for every episode of a batch at trial ``t``."""

    def act(self, batch: EpisodeBatch, t: int) -> np.ndarray: ...


def run_episodes(
    policy: Policy | Callable[[EpisodeBatch, int], np.ndarray],
    tasks: Sequence[Task],
    space: HypothesisSpace,
    rng: np.random.Generator,
) -> EpisodeBatch:
    """Play every task once with ``policy``; the world's noise comes from ``rng`` only.

    An action outside 0..9, or one on the goal node during exploitation, is an error: the
    policy is responsible for respecting :func:`allowed_actions`.
    """
    config = space.config
    act = policy.act if hasattr(policy, "act") else policy
    n = len(tasks)
    if n == 0:
        raise InvalidArgument("run_episodes needs at least one task")
    graphs = space.fweights[[t.graph for t in tasks]]
    goals = np.array([t.goal for t in tasks])
    batch = EpisodeBatch.empty(n, config)
    noise_vals = config.noise_values
    for t in range(config.n_trials):
        if t >= config.n_explore:
            batch.goals[:, t] = goals
        batch.initial[:, t] = propagate(graphs, noise_vals[_noise_index(rng, n, config)])
        chosen = np.asarray(act(batch, t))
        if chosen.shape != (n,) or not np.issubdtype(chosen.dtype, np.integer):
            raise InvalidArgument(f"a policy must return {n} integer actions, got {chosen!r}")
        if ((chosen < 0) | (chosen >= len(ACTIONS))).any():
            raise InvalidArgument(f"actions must lie in 0..{len(ACTIONS) - 1}, got {chosen}")
        if t >= config.n_explore and (chosen // 2 == goals).any():
            bad = int(np.flatnonzero(chosen // 2 == goals)[0])
            raise InvalidArgument(
                f"episode {bad}: the policy intervened on the goal {NODES[goals[bad]]} itself "
                f"({action_name(int(chosen[bad]), config)}); exploitation must act on another node"
            )
        batch.actions[:, t] = chosen
        noise = noise_vals[_noise_index(rng, n, config)]
        for a in np.unique(chosen):
            rows = chosen == a
            batch.outcomes[rows, t] = propagate(
                graphs[rows], noise[rows], action_node(a), action_sign(a) * config.intervention
            )
    return batch


def _noise_index(rng: np.random.Generator, n: int, config: DagConfig) -> np.ndarray:
    return rng.choice(3, size=(n, N_NODES), p=config.noise_probs)
