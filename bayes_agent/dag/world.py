"""A causal-DAG world for experimenting and exploiting (the passive-causal-strategies seed).

Five variables A-E sit on a signed DAG that is redrawn every episode. A variable's value is the
nonlinearity ``tanh`` of its parents' weighted sum plus Gaussian noise ``N(0, σ²)``; an action
``do(X = ±v)`` removes X's mechanism and pins it at a large value ``±v`` (the paper's §2.2
surgery, per node). An episode is ``n_explore`` experimentation trials (no goal) and then
``n_exploit`` exploitation trials in which a goal variable is named and the reward is its value
after the intervention. Every trial the agent first sees a fresh sample of the untouched system
(the initial values), then acts, then sees a fresh sample of the intervened system (the outcome).

One forward model, :func:`mechanism` (each node's mean given the values of the others), serves
everything: the simulator (:func:`propagate` with sampled noise), the expected values (the same
:func:`propagate` on Gauss-Hermite noise nodes) and the likelihood (:func:`log_likelihood`, the
closed-form Gaussian density of every residual). Weights are -1 or +1 on at most ``max_edges``
edges (any direction, acyclic): with the default 3 that is 8,281 signed DAGs, the whole
hypothesis set, sampled uniformly and enumerated by the exact experimenter.

Why Gaussian noise: a passive sample constrains the graph but never pins it down, so finding the
best intervention needs experiments (with the earlier three-valued noise one untouched sample left
9 of 8,281 graphs and observation alone was enough).

Splits, as in the seed: ``train`` graphs never have D as an ancestor of E, nor C as an ancestor
of A; ``target`` graphs have D as the unique best node to intervene on to maximise E; ``path``
graphs have D on the path from the best node to E (that node is a proper ancestor of D);
``validation`` graphs have C as the unique best node to maximise A (the second held-out
dependency, used for every model choice so that ``target`` and ``path`` are touched once).

```python
>>> space = HypothesisSpace(DagConfig(max_edges=1))
>>> len(space)                      # the empty graph and 20 directed pairs x 2 signs
41
>>> action_name(7)
'do(D=-3)'

```
"""

from __future__ import annotations

import copy
import functools
import hashlib
import inspect
import itertools
import os
import tempfile
from pathlib import Path
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol, Sequence

import numpy as np

from .._checks import expect_count
from ..errors import InvalidArgument

__all__ = [
    "ACTIONS",
    "A_INDEX",
    "C_INDEX",
    "D_INDEX",
    "DagConfig",
    "E_INDEX",
    "EpisodeBatch",
    "HELD_OUT",
    "HypothesisSpace",
    "NODES",
    "Policy",
    "SPLITS",
    "Task",
    "action_name",
    "action_node",
    "action_sign",
    "check_actions",
    "allowed_actions",
    "expected_values",
    "log_likelihood",
    "mechanism",
    "propagate",
    "run_episodes",
    "sample_tasks",
]

NODES: tuple[str, ...] = ("A", "B", "C", "D", "E")
N_NODES = len(NODES)
A_INDEX, C_INDEX, D_INDEX, E_INDEX = 0, 2, 3, 4
#: action ``a`` sets node ``a // 2`` to ``+v`` (``a`` even) or ``-v`` (``a`` odd)
ACTIONS: tuple[int, ...] = tuple(range(2 * N_NODES))
SPLITS: tuple[str, ...] = ("train", "validation", "target", "path")
#: the (cause, goal) dependencies no training graph has: the test one and the validation one
HELD_OUT: dict[str, tuple[int, int]] = {"target": (D_INDEX, E_INDEX), "validation": (C_INDEX, A_INDEX)}
_GAUSS_HERMITE_POINTS = 5
_TIE = 1e-9


@dataclass(frozen=True)
class DagConfig:
    """The world's constants: noise scale σ, intervention size v, sparsity, phase lengths."""

    noise: float = 0.3
    intervention: float = 3.0
    max_edges: int = 3
    n_explore: int = 5
    n_exploit: int = 2

    def __post_init__(self) -> None:
        if isinstance(self.noise, bool) or not (isinstance(self.noise, (int, float)) and 0 < self.noise < 1):
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


def action_node(a: int | np.ndarray) -> int | np.ndarray:
    """The node an action intervenes on (elementwise for an array of actions)."""
    return np.asarray(a) // 2 if np.ndim(a) else int(a) // 2


def action_sign(a: int | np.ndarray) -> int | np.ndarray:
    """+1 or -1: the direction an action pushes its node (elementwise for an array)."""
    return 1 - 2 * (np.asarray(a) % 2) if np.ndim(a) else 1 - 2 * (int(a) % 2)


def check_actions(chosen: np.ndarray, n: int, n_actions: int, goals: np.ndarray | None,
                  describe: Callable[[int, int], str]) -> np.ndarray:
    """A policy's ``n`` actions for one trial, refused unless they are integers in
    ``0..n_actions-1`` and (when ``goals`` is given, in exploitation) none sets its episode's
    goal; ``describe(episode, action)`` names the offending intervention."""
    chosen = np.asarray(chosen)
    if chosen.shape != (n,) or not np.issubdtype(chosen.dtype, np.integer):
        raise InvalidArgument(f"a policy must return {n} integer actions, got {chosen!r}")
    if ((chosen < 0) | (chosen >= n_actions)).any():
        raise InvalidArgument(f"actions must lie in 0..{n_actions - 1}, got {chosen}")
    if goals is not None and (action_node(chosen) == goals).any():
        bad = int(np.flatnonzero(action_node(chosen) == goals)[0])
        raise InvalidArgument(f"episode {bad}: the policy intervened on the goal {describe(bad, int(chosen[bad]))} "
                              "itself; exploitation must act on another variable")
    return chosen


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
# the one forward model


def mechanism(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each node's mean given the values of all nodes: ``tanh(Σ_i w_ij x_i)``.

    ``x[..., v, i]`` are row vectors of values, ``weights[..., i, j]`` the weight of edge i → j;
    leading axes broadcast (``x @ weights``)."""
    return np.tanh(x @ weights)


def propagate(
    weights: np.ndarray, noise: np.ndarray, do_node: int | None = None, do_value: float = 0.0
) -> np.ndarray:
    """Values of all nodes, ``x_j = mechanism(x)_j + ε_j``, with node ``do_node`` pinned at ``do_value``.

    Leading axes of ``weights`` (``(..., 5, 5)``) and ``noise`` (``(..., 5)``) broadcast. Five
    passes settle any DAG on five nodes; the last recomputes every node from its parents' final
    values, so the result satisfies its own mechanism exactly. The noise of the pinned node is
    ignored (surgery replaces its mechanism)."""
    shape = np.broadcast_shapes(weights.shape[:-2], noise.shape[:-1]) + (1, N_NODES)
    noise = noise[..., None, :]
    x = np.zeros(shape)
    for _ in range(N_NODES):
        x = mechanism(x, weights) + noise
        if do_node is not None:
            x[..., do_node] = do_value
    return x[..., 0, :]


def log_likelihood(
    weights: np.ndarray, x: np.ndarray, do_nodes: np.ndarray | int | None, config: DagConfig,
    per_vector: bool = False,
) -> np.ndarray:
    """log p(x | graph, do) for each graph, the closed-form Gaussian density of the residuals.

    ``weights`` ``(H, 5, 5)``; ``x`` one vector ``(5,)`` or several ``(V, 5)``; ``do_nodes`` the
    pinned node of each vector (``None`` / -1: untouched). Every other node contributes
    ``log N(x_j; mechanism(x)_j, σ²)``; the pinned node has a point mass at its set value,
    probability one under every graph, so it is left out. Returns ``(H,)``, summed over vectors,
    or ``(H, V)`` with ``per_vector``."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    do = _do_array(do_nodes, len(x))
    scored = np.arange(N_NODES)[None, :] != do[:, None]  # (V, 5)
    z = (x[None] - mechanism(x[None], weights)) / config.noise  # (H, V, 5)
    logp = -0.5 * z ** 2 - np.log(config.noise) - 0.5 * np.log(2 * np.pi)
    logp = (logp * scored).sum(axis=2)
    return logp if per_vector else logp.sum(axis=1)


def _do_array(do_nodes: np.ndarray | int | None, n: int) -> np.ndarray:
    if do_nodes is None:
        return np.full(n, -1)
    if isinstance(do_nodes, (int, np.integer)):  # one pinned node for every vector (the common call)
        return np.full(n, int(do_nodes))
    return np.broadcast_to(np.asarray([-1 if d is None else d for d in np.atleast_1d(do_nodes)], dtype=int), (n,))


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

    ``values[h, a, g]`` is E[x_g | do(a)] under graph h (Gauss-Hermite quadrature over the noise
    of the four unpinned nodes, see :func:`expected_values`); it is what the optimal exploiter
    maximises.
    """

    config: DagConfig = field(default_factory=DagConfig)

    def __post_init__(self) -> None:
        self.weights = _enumerate(self.config.max_edges)
        self.fweights = self.weights.astype(float)
        self.ancestors = _ancestors(self.weights)
        # node j's mechanism depends only on its incoming weights: few distinct columns
        columns = self.fweights.transpose(0, 2, 1).reshape(-1, N_NODES)
        self.columns, inverse = np.unique(columns, axis=0, return_inverse=True)
        self.column_of = inverse.reshape(len(self.weights), N_NODES)
        self._values = np.zeros((len(self.weights), len(ACTIONS), N_NODES))
        self._known = np.zeros(len(self.weights), dtype=bool)
        self._splits: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.weights)

    @classmethod
    def shared(cls, config: DagConfig | None = None) -> "HypothesisSpace":
        """One space per world and process, with its whole expected-value table filled (seconds,
        once): what the studies, the report and the tests share."""
        if config is not None and not isinstance(config, DagConfig):
            raise InvalidArgument(f"the world must be a DagConfig or None, got {config!r}")
        return _shared_space(config or DagConfig())

    def require_splits(self, splits: Sequence[str] = SPLITS) -> None:
        """Refuse, before any work, a world in which one of ``splits`` holds no graph (a sparse
        world has no ``path`` graph), rather than failing midway through a run."""
        empty = [s for s in splits if len(self.split_members(s)) == 0]
        if empty:
            raise InvalidArgument(f"split{'s' if len(empty) > 1 else ''} {', '.join(map(repr, empty))} "
                                  f"{'are' if len(empty) > 1 else 'is'} empty for max_edges="
                                  f"{self.config.max_edges}: this world cannot be evaluated on "
                                  f"{'them' if len(empty) > 1 else 'it'}")

    def with_phases(self, n_explore: int, n_exploit: int) -> "HypothesisSpace":
        """The same graphs, values and splits in a world with other phase lengths (the tables
        depend only on σ, v and the sparsity, so they are shared, not recomputed)."""
        other = copy.copy(self)
        other.config = replace(self.config, n_explore=n_explore, n_exploit=n_exploit)
        return other

    def values(self, graphs: np.ndarray | Sequence[int]) -> np.ndarray:
        """``E[x_g | do(a)]`` for the given graph indices, shape ``(len(graphs), 10, 5)``.

        Computed on first request and cached (the whole table for 8,281 graphs takes seconds).
        """
        graphs = np.asarray(graphs, dtype=int)
        if len(graphs) == len(self) and self._known.all() and (graphs == np.arange(len(self))).all():
            return self._values  # the whole table, no copy (callers only read it)
        missing = np.unique(graphs[~self._known[graphs]])
        if len(missing):
            self._values[missing] = expected_values(self.fweights[missing], self.config)
            self._known[missing] = True
        return self._values[graphs]

    def log_likelihood(self, x: np.ndarray, do_nodes: np.ndarray | int | None,
                       graphs: np.ndarray | None = None, per_vector: bool = False) -> np.ndarray:
        """:func:`log_likelihood` for the given graphs (all by default), the same numbers computed
        once per distinct incoming-weight column (a few hundred) instead of once per graph."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        do = _do_array(do_nodes, len(x))
        means = mechanism(x, self.columns.T)  # (V, K): every column's mean for every vector
        z = (x.T[:, :, None] - means[None]) / self.config.noise  # (5, V, K)
        logp = (-0.5 * z ** 2 - np.log(self.config.noise) - 0.5 * np.log(2 * np.pi))
        logp = logp * (np.arange(N_NODES)[:, None] != do[None, :])[:, :, None]
        ids = self.column_of if graphs is None else self.column_of[np.asarray(graphs, dtype=int)]
        if not per_vector:
            table = logp.sum(axis=1)  # (5, K)
            return sum(table[j, ids[:, j]] for j in range(N_NODES))
        return sum(logp[j][:, ids[:, j]].T for j in range(N_NODES))

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
        c_to_a = anc[:, C_INDEX, A_INDEX]
        if split == "train":
            return np.flatnonzero(~d_to_e & ~c_to_a & anc.any(axis=1).any(axis=1))
        cause, goal = HELD_OUT["validation" if split == "validation" else "target"]
        cand = np.flatnonzero(c_to_a & ~d_to_e if split == "validation" else d_to_e)
        unique, best_node = self.unique_best_nodes(cand, goal)
        if split in ("target", "validation"):
            return cand[unique & (best_node == cause)]
        via_d = anc[cand, best_node, D_INDEX]
        return cand[unique & (best_node != D_INDEX) & via_d]

    def unique_best_nodes(self, graphs: np.ndarray, goal: int) -> tuple[np.ndarray, np.ndarray]:
        """For each given graph: whether one allowed action is best for ``goal`` by more than a
        tie, and the node that action sets (the test behind every held-out split)."""
        v = np.where(allowed_actions(goal)[None, :], self.values(graphs)[:, :, goal], -np.inf)
        ranked = np.sort(v, axis=1)
        return ranked[:, -1] - ranked[:, -2] > _TIE, action_node(v.argmax(axis=1))

    def goal_of(self, split: str) -> int | None:
        """The goal every episode of an evaluation split has (None for ``train``: any influenced node)."""
        if split not in SPLITS:
            raise InvalidArgument(f"split must be one of {SPLITS}, got {split!r}")
        return None if split == "train" else A_INDEX if split == "validation" else E_INDEX


@functools.lru_cache(maxsize=4)
def _shared_space(config: DagConfig) -> HypothesisSpace:
    space = HypothesisSpace(config)
    cached = _load_values(space)
    if cached is None:
        space.values(np.arange(len(space)))
        _save_values(space)
    else:
        space._values[:] = cached
        space._known[:] = True
    return space


def _values_cache(space: HypothesisSpace) -> Path | None:
    """Where the expected-value table of this world is kept between processes
    (``$BAYES_AGENT_CACHE``, default ``~/.cache/bayes_agent``; ``BAYES_AGENT_CACHE=off`` turns it
    off). The name hashes the world's constants and the source of the code that computes the
    table, so a change to either computes a fresh one."""
    root = os.environ.get("BAYES_AGENT_CACHE", str(Path.home() / ".cache" / "bayes_agent"))
    if root == "off":
        return None
    source = "".join(inspect.getsource(f) for f in (mechanism, propagate, expected_values, _gauss_hermite, _enumerate))
    key = hashlib.sha256(f"{_config_key(space.config)}|{_GAUSS_HERMITE_POINTS}|{source}".encode()).hexdigest()[:20]
    return Path(root) / f"dag-values-{key}.npy"


def _config_key(config: DagConfig) -> str:
    """The constants the expected values depend on (not the phase lengths)."""
    return f"{config.noise!r}|{config.intervention!r}|{config.max_edges!r}"


def _load_values(space: HypothesisSpace) -> np.ndarray | None:
    path = _values_cache(space)
    if path is None or not path.exists():
        return None
    try:
        table = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return table if table.shape == space._values.shape and np.isfinite(table).all() else None


def _save_values(space: HypothesisSpace) -> None:
    path = _values_cache(space)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy", delete=False) as f:
            np.save(f, space._values, allow_pickle=False)
        os.replace(f.name, path)  # complete or absent, never half written
    except OSError:
        pass  # a cache that cannot be written only costs the next process the computation


def _gauss_hermite(sigma: float, free: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``(K, free)`` and weights ``(K,)`` of the tensor Gauss-Hermite rule for ``free``
    independent ``N(0, σ²)`` noises (deterministic, so exact ties between actions stay exact)."""
    z, w = np.polynomial.hermite_e.hermegauss(_GAUSS_HERMITE_POINTS)
    w = w / w.sum()
    idx = np.array(list(itertools.product(range(len(z)), repeat=free)))
    return sigma * z[idx], np.prod(w[idx], axis=1)


def expected_values(weights: np.ndarray, config: DagConfig, chunk: int = 256) -> np.ndarray:
    """E[x_g | do(a)] for every graph, action and node: :func:`propagate` averaged over a
    5-point-per-node Gauss-Hermite rule for the four unpinned noises (625 points)."""
    points, probs = _gauss_hermite(config.noise, N_NODES - 1)
    out = np.zeros((len(weights), len(ACTIONS), N_NODES))
    for a in ACTIONS:
        k = action_node(a)
        noise = np.zeros((len(points), N_NODES))
        noise[:, [j for j in range(N_NODES) if j != k]] = points
        value = action_sign(a) * config.intervention
        for start in range(0, len(weights), chunk):
            w = weights[start:start + chunk, None]  # (c, 1, 5, 5) against (K, 5) noise
            x = propagate(w, noise, k, value)  # (c, K, 5)
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
    """``n`` tasks drawn uniformly from a split; training goals are nodes that have an ancestor,
    evaluation goals are the split's held-out goal (E, or A for ``validation``)."""
    n = expect_count(n, "the number of tasks")
    members = space.split_members(split)
    if len(members) == 0:
        raise InvalidArgument(f"split {split!r} is empty for max_edges={space.config.max_edges}")
    graphs = rng.choice(members, size=n)
    tasks = []
    goal = space.goal_of(split)
    for h in graphs:
        if goal is None:
            goals = np.flatnonzero(space.ancestors[h].any(axis=0))
            tasks.append(Task(int(h), int(rng.choice(goals))))
        else:
            tasks.append(Task(int(h), goal))
    return tasks


@dataclass
class EpisodeBatch:
    """What happened in a batch of episodes, trial by trial; what a policy may look at.

    ``goal[n, t]`` is -1 in experimentation trials; ``actions``/``outcomes`` are filled for trials
    already played, ``initial`` also for the trial being decided.
    """

    initial: np.ndarray  # (N, T, V): V = 5, or the cued world's variables
    goals: np.ndarray  # (N, T) int, -1 = no goal yet
    actions: np.ndarray  # (N, T) int, -1 = not played
    outcomes: np.ndarray  # (N, T, V)
    config: DagConfig
    cues: np.ndarray | None = None  # (N, V) bool: the cued world's multi-hot cue (None: no cue)

    @classmethod
    def empty(cls, n: int, config: DagConfig) -> "EpisodeBatch":
        t = config.n_trials
        return cls(np.zeros((n, t, N_NODES)), np.full((n, t), -1), np.full((n, t), -1),
                   np.zeros((n, t, N_NODES)), config)

    def __len__(self) -> int:
        return len(self.initial)

    def nodes(self, n: int) -> list[int]:
        """The variables episode ``n``'s strategies act on: the cued ones, or every variable."""
        if self.cues is None:
            return list(range(self.initial.shape[2]))
        return np.flatnonzero(self.cues[n]).tolist()

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
    for t in range(config.n_trials):
        if t >= config.n_explore:
            batch.goals[:, t] = goals
        batch.initial[:, t] = propagate(graphs, rng.normal(0.0, config.noise, (n, N_NODES)))
        chosen = check_actions(
            act(batch, t), n, len(ACTIONS), goals if t >= config.n_explore else None,
            lambda k, a: f"{NODES[goals[k]]} ({action_name(a, config)})")
        batch.actions[:, t] = chosen
        noise = rng.normal(0.0, config.noise, (n, N_NODES))
        for a in np.unique(chosen):
            rows = chosen == a
            batch.outcomes[rows, t] = propagate(
                graphs[rows], noise[rows], action_node(a), action_sign(a) * config.intervention
            )
    return batch

