"""The passive learner of the causal-strategies study: a behaviour-cloning agent and its report.

It learns from an exact experimenter's recorded episodes (world: :mod:`bayes_agent.dag`) and is
compared with the experimenter and the correlational baselines.
"""

from .passive_learner import BCConfig, BCPolicy, PassiveLearner, train_passive_learner
from .report import run_causal_report

__all__ = sorted(["BCConfig", "BCPolicy", "PassiveLearner", "run_causal_report", "train_passive_learner"])
