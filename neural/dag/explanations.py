"""The talk's explanation experiment in the causal-DAG world: confounded training, deconfounded test.

Two behaviour-cloned learners see the same confounded data (only the expert episodes where the
``largest_change`` heuristic chose as the expert did); one also predicts, per token, whether the
node changed because of the last intervention. Both are scored where the two strategies disagree.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from bayes_agent.dag.baselines import HeuristicPolicy
from bayes_agent.dag.evaluation import evaluate_split
from bayes_agent.dag.experimenter import BayesianExperimenter
from bayes_agent.dag.world import EpisodeBatch, HypothesisSpace

from .passive_learner import BCPolicy, explanation_targets, train_passive_learner

if TYPE_CHECKING:
    from .runs import ReportConfig

__all__ = ["CONFOUND", "explanation_experiment", "subset"]

#: the heuristic that the confounded training data always agrees with
CONFOUND = "largest_change"


def explanation_experiment(config: "ReportConfig", space: HypothesisSpace, expert: EpisodeBatch,
                            tasks: list, seed: int) -> dict:
    """The talk's explanation result in this world. Confounded training: only the expert
    episodes in which the ``largest_change`` heuristic would have chosen exactly as the expert
    did. Deconfounded test: fresh training-split episodes, scored only where the two disagree
    (read off the experimenter's own run of the same episodes, same noise for every agent).
    Two BC agents, same data and budget, with and without the explanation target."""
    e = config.world.n_explore
    heuristic = HeuristicPolicy(CONFOUND, seed)
    agree = np.ones(len(expert), dtype=bool)
    for t in range(e, config.world.n_trials):
        agree &= heuristic.act(expert, t) == expert.actions[:, t]
    keep = np.flatnonzero(agree)
    data = subset(expert, keep)
    why = explanation_targets(data, space.ancestors[[tasks[i].graph for i in keep]])
    test_tasks, batches = evaluate_split(space, "train", config.n_eval, 70_000 + seed, lambda ts: {
        "experimenter": BayesianExperimenter(space, 100 + seed)})
    reference = batches["experimenter"]
    differ = np.zeros(len(reference), dtype=bool)
    for t in range(e, config.world.n_trials):
        differ |= HeuristicPolicy(CONFOUND, seed).act(reference, t) != reference.actions[:, t]
    out = {"n_confounded": int(len(keep)), "n_expert": int(len(expert)),
           "n_deconfounded": int(differ.sum()), "n_test": int(len(reference))}
    bc = replace(config.bc, steps=config.explain_steps, warmup=min(config.bc.warmup, config.explain_steps // 10))
    for arm, weight in (("without", 0.0), ("with", config.explain_weight)):
        model, _ = train_passive_learner(data, replace(bc, explain_weight=weight), seed, explanations=why)
        _, played = evaluate_split(space, "train", config.n_eval, 70_000 + seed,
                                   lambda ts: {"bc": BCPolicy(model.eval(), 80_000 + seed)})
        batch = played["bc"]
        own = batch.actions[:, e:]
        expert_choice = np.stack([BayesianExperimenter(space, seed).act(batch, t)
                                  for t in range(e, config.world.n_trials)], axis=1)
        heur_choice = np.stack([HeuristicPolicy(CONFOUND, seed).act(batch, t)
                                for t in range(e, config.world.n_trials)], axis=1)
        out[arm] = {
            "deconfounded_reward": float(batch.rewards()[differ].mean()) if differ.any() else float("nan"),
            "confounded_reward": float(batch.rewards()[~differ].mean()) if (~differ).any() else float("nan"),
            "matches_experimenter": float((own == expert_choice)[differ].mean()) if differ.any() else float("nan"),
            "matches_confound": float((own == heur_choice)[differ].mean()) if differ.any() else float("nan"),
        }
    out["experimenter_deconfounded_reward"] = float(reference.rewards()[differ].mean()) if differ.any() else float("nan")
    return out


def subset(batch: EpisodeBatch, rows: np.ndarray) -> EpisodeBatch:
    """The episodes ``rows`` of a batch."""
    return EpisodeBatch(batch.initial[rows], batch.goals[rows], batch.actions[rows], batch.outcomes[rows],
                        batch.config)

