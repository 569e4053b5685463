"""The seed's simpler strategies for the causal-DAG world, and two reference points.

All of them experiment like the expert (every node once, positive, random order) and differ
only in how they exploit:

* ``best_value`` - repeat the experiment after which the goal node was highest;
* ``largest_change`` - the experiment that changed the goal most (initial → outcome), reversed
  when the change was negative;
* ``total_correlation`` - regress the goal on each other node alone over every vector seen in
  the episode; intervene on the largest slope, in its sign;
* ``partial_correlation`` - one regression of the goal on all other nodes together (controlling
  for them); the largest coefficient, in its sign;
* ``random`` - any allowed action (the floor); ``oracle`` - the best action under the true graph
  (the ceiling, which no learner can reach on every episode).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .world import EpisodeBatch, HypothesisSpace, Task, action_node
from ..errors import InvalidArgument
from ..seeds import check_seed
from .experimenter import explore_action

__all__ = ["BASELINES", "HeuristicPolicy", "OraclePolicy", "RandomPolicy"]

BASELINES: tuple[str, ...] = ("best_value", "largest_change", "total_correlation", "partial_correlation")


def _signed(node: int, sign: float) -> int:
    return 2 * node + (0 if sign >= 0 else 1)


def _allowed(batch: EpisodeBatch, n: int, goal: int) -> list[int]:
    """The actions a strategy may exploit with in episode ``n``: both signs on every node it acts
    on (:meth:`~.world.EpisodeBatch.nodes`) other than the goal, in ascending order."""
    return [2 * k + s for k in batch.nodes(n) if k != goal for s in (0, 1)]


def _episode_data(batch: EpisodeBatch, n: int, t: int) -> np.ndarray:
    """Every value vector seen so far in episode ``n``: initial samples and outcomes."""
    return np.concatenate([batch.initial[n, : t + 1], batch.outcomes[n, :t]])


class HeuristicPolicy:
    """One of :data:`BASELINES` (see the module docstring); ``seed`` fixes the experiment order."""

    def __init__(self, rule: str, seed: int = 0) -> None:
        if rule not in BASELINES:
            raise InvalidArgument(f"rule must be one of {BASELINES}, got {rule!r}")
        self.rule = rule
        self.rng = np.random.default_rng(check_seed(seed))

    def act(self, batch: EpisodeBatch, t: int) -> np.ndarray:
        out = np.zeros(len(batch), dtype=int)
        for n in range(len(batch)):
            if t < batch.config.n_explore:
                out[n] = explore_action(batch, n, t, self.rng)
            else:
                out[n] = self._exploit(batch, n, t, int(batch.goals[n, t]))
        return out

    def _exploit(self, batch: EpisodeBatch, n: int, t: int, goal: int) -> int:
        e = batch.config.n_explore
        others = [k for k in batch.nodes(n) if k != goal]  # in the cued world: the cued ones
        if self.rule in ("best_value", "largest_change"):
            trials = [s for s in range(e) if action_node(batch.actions[n, s]) in others]
            if not trials:
                return int(self.rng.choice(_allowed(batch, n, goal)))
            after = batch.outcomes[n, trials, goal]
            if self.rule == "best_value":
                return int(batch.actions[n, trials[int(np.argmax(after))]])
            change = after - batch.initial[n, trials, goal]
            s = trials[int(np.argmax(np.abs(change)))]
            return _signed(action_node(batch.actions[n, s]), np.sign(change[trials.index(s)]))
        data = _episode_data(batch, n, t)
        y = data[:, goal] - data[:, goal].mean()
        xs = data[:, others] - data[:, others].mean(axis=0)
        if self.rule == "total_correlation":
            var = (xs ** 2).sum(axis=0)
            coef = np.where(var > 0, xs.T @ y / np.where(var > 0, var, 1.0), 0.0)
        else:
            coef = np.linalg.lstsq(xs, y, rcond=None)[0]
        k = int(np.argmax(np.abs(coef)))
        return _signed(others[k], coef[k])


class RandomPolicy:
    """Experiments like the expert, then picks any allowed action at random."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(check_seed(seed))

    def act(self, batch: EpisodeBatch, t: int) -> np.ndarray:
        if t < batch.config.n_explore:
            return np.array([explore_action(batch, n, t, self.rng) for n in range(len(batch))])
        return np.array([int(self.rng.choice(_allowed(batch, n, int(g))))
                         for n, g in enumerate(batch.goals[:, t])])


class OraclePolicy:
    """Knows each episode's true graph: exploits with its best action (experiments are idle)."""

    def __init__(self, space: HypothesisSpace, tasks: Sequence[Task], seed: int = 0) -> None:
        self.space, self.tasks = space, list(tasks)
        self.rng = np.random.default_rng(check_seed(seed))

    def act(self, batch: EpisodeBatch, t: int) -> np.ndarray:
        if len(batch) != len(self.tasks):
            raise InvalidArgument(f"the oracle knows {len(self.tasks)} tasks, the batch has {len(batch)}")
        if t < batch.config.n_explore:
            return np.array([explore_action(batch, n, t, self.rng) for n in range(len(batch))])
        return np.array([int(self.space.best_actions([k.graph], k.goal)[0]) for k in self.tasks])
