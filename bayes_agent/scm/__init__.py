"""Structural causal models (paper §2): variables with mechanisms, do() by graph surgery, queries.

Queries are answered by variable elimination (:mod:`.elimination`); enumeration stays available
as the reference (``method="enumeration"``). Also the two teaching models built on them: the fire
engine of §2.1 and shorts / ice cream / sun across climates, and seeded chains, polytrees and
random DAGs for tests and benchmarks (:mod:`.generate`). Pure math, like the rest of
:mod:`bayes_agent`.
"""

from .model import SCM, Variable, bernoulli, point_mass
from .plans import MAX_TABLE_SIZE
from .elimination import elimination_order
from .generate import chain_scm, polytree_scm, random_scm, windowed_scm
from .fire_engine import FireEngineDerivation, FireEngineParameters, derive_fire_engine, fire_engine_model
from .ice_cream import (CLIMATES, ClimateRow, IceCreamMechanisms, climate_row, climate_table,
                        ice_cream_model, passive_vs_experiment, plot_climates, plot_more_data,
                        pooled_ice_cream_model, row_from_model)

__all__ = sorted([
    "CLIMATES", "ClimateRow", "MAX_TABLE_SIZE", "FireEngineDerivation", "FireEngineParameters", "IceCreamMechanisms",
    "SCM", "Variable", "bernoulli", "chain_scm", "climate_row", "climate_table", "derive_fire_engine",
    "elimination_order", "fire_engine_model", "ice_cream_model", "passive_vs_experiment", "plot_climates",
    "plot_more_data", "point_mass", "polytree_scm", "pooled_ice_cream_model", "random_scm",
    "row_from_model", "windowed_scm",
])
