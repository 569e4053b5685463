"""The oracle expert: a second, vectorised source of demonstrations for the passive learner.

It experiments as the seed's expert does (each node once at +v, in a random order) and then
exploits with the *true* graph's best action - the choice the exact experimenter converges to,
made without any posterior, so that 100,000 episodes take seconds instead of hours. Its episodes
are drawn from the ``train`` split only: a held-out dependency (D → E, C → A) never appears.
"""

from __future__ import annotations

import numpy as np

from .world import N_NODES, EpisodeBatch, HypothesisSpace, Task, run_episodes
from .._checks import expect_count

__all__ = ["oracle_episodes", "oracle_tasks"]


def oracle_tasks(space: HypothesisSpace, n: int, rng: np.random.Generator) -> list[Task]:
    """``n`` training tasks drawn at once: a ``train``-split graph uniformly, then a goal uniformly
    among its nodes that have an ancestor (the distribution of :func:`~.world.sample_tasks`)."""
    n = expect_count(n, "the number of oracle episodes")
    graphs = rng.choice(space.split_members("train"), size=n)
    influenced = space.ancestors[graphs].any(axis=1)  # (n, 5): node has an ancestor
    keys = np.where(influenced, rng.random((n, N_NODES)), -1.0)
    goals = keys.argmax(axis=1)
    return [Task(int(h), int(g)) for h, g in zip(graphs, goals)]


def oracle_episodes(space: HypothesisSpace, n: int, rng: np.random.Generator
                    ) -> tuple[list[Task], EpisodeBatch]:
    """``n`` oracle-expert episodes on ``train`` tasks: the tasks and the played batch."""
    tasks = oracle_tasks(space, n, rng)
    config = space.config
    graphs = np.array([t.graph for t in tasks])
    goals = np.array([t.goal for t in tasks])
    order = np.argsort(rng.random((n, N_NODES)), axis=1)  # each node once, random order
    best = np.empty(n, dtype=int)
    for g in np.unique(goals):
        rows = goals == g
        best[rows] = space.best_actions(graphs[rows], int(g))

    def act(batch: EpisodeBatch, t: int) -> np.ndarray:
        if t < config.n_explore:
            return 2 * order[:, t % N_NODES]
        return best

    return tasks, run_episodes(act, tasks, space, rng)
