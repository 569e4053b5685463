"""The causal-DAG world of the passive-strategies study (talk seed): tasks, splits, episodes.

Holds the world itself, the exact Bayesian experimenter that reads its gates from a transcript,
and the heuristic (correlational) baselines it is compared with. Pure math; no torch.
"""

from .world import DagConfig, HypothesisSpace, run_episodes, sample_tasks
from .experimenter import BayesianExperimenter, ObservationOnlyPolicy
from .studies import bystander_study, delusion_study
from .baselines import HeuristicPolicy
from .oracle import oracle_episodes

__all__ = sorted([
    "BayesianExperimenter", "DagConfig", "HeuristicPolicy", "HypothesisSpace", "ObservationOnlyPolicy",
    "bystander_study", "delusion_study",
    "oracle_episodes", "run_episodes", "sample_tasks",
])
