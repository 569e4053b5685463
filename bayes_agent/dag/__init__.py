"""The causal-DAG world of the passive-strategies study (talk seed): tasks, splits, episodes.

Holds the world itself, the exact Bayesian experimenter that reads its gates from a transcript,
and the heuristic (correlational) baselines it is compared with; :mod:`.cued` is the talk's
cued world (more variables, a cue naming the relevant ones). Pure math; no torch.
"""

from .world import DagConfig, HypothesisSpace, run_episodes, sample_tasks
from .experimenter import BayesianExperimenter, ObservationOnlyPolicy
from .studies import bystander_study, delusion_study
from .baselines import HeuristicPolicy
from .oracle import oracle_episodes
from .cued import (CueConfig, CuedExperimenter, CuedSpace, relevant_experiment_share, run_cued_episodes,
                   sample_cued_tasks)

__all__ = sorted([
    "BayesianExperimenter", "CueConfig", "CuedExperimenter", "CuedSpace", "DagConfig", "HeuristicPolicy",
    "HypothesisSpace", "ObservationOnlyPolicy",
    "bystander_study", "delusion_study",
    "oracle_episodes", "relevant_experiment_share", "run_cued_episodes", "run_episodes",
    "sample_cued_tasks", "sample_tasks",
])
