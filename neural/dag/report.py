"""The passive-causal-strategies study's report, assembled from its parts.

:mod:`.runs` (data, training, model choice on validation, one play of the held-out splits),
:mod:`.agreement` (behaviour analyses and the summary over seeds), :mod:`.explanations` (the
explanation experiment), :mod:`.figures` and :mod:`.markdown`. This module keeps the names
callers already import from here.
"""

from __future__ import annotations

from bayes_agent.dag.world import HypothesisSpace, sample_tasks

from .agreement import COMPARED, METHODS
from .explanations import CONFOUND
from .markdown import IN_DISTRIBUTION_NOTE
from .runs import (CONFIGS, DATA_SOURCES, FIRST_LEARNER, ReportConfig, Selection, TrainedLearner, run_causal_report,
                   train_on_validation, usable_cpus)

__all__ = ["COMPARED", "CONFIGS", "CONFOUND", "DATA_SOURCES", "FIRST_LEARNER", "HypothesisSpace",
           "IN_DISTRIBUTION_NOTE", "METHODS", "ReportConfig", "Selection", "TrainedLearner",
           "run_causal_report", "sample_tasks", "train_on_validation", "usable_cpus"]
