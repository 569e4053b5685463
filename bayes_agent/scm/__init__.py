"""Structural causal models (paper §2): variables with mechanisms, do() by graph surgery, queries.

Also the two teaching models built on them: the fire engine of §2.1 and shorts / ice cream / sun
across climates. Pure math, like the rest of :mod:`bayes_agent`.
"""

from .model import SCM, Variable, bernoulli, point_mass
from .fire_engine import FireEngineDerivation, FireEngineParameters, derive_fire_engine, fire_engine_model
from .ice_cream import (CLIMATES, ClimateRow, IceCreamMechanisms, climate_row, climate_table,
                        ice_cream_model, passive_vs_experiment, plot_climates, plot_more_data,
                        pooled_ice_cream_model, row_from_model)

__all__ = sorted([
    "CLIMATES", "ClimateRow", "FireEngineDerivation", "FireEngineParameters", "IceCreamMechanisms",
    "SCM", "Variable", "bernoulli", "climate_row", "climate_table", "derive_fire_engine",
    "fire_engine_model", "ice_cream_model", "passive_vs_experiment", "plot_climates",
    "plot_more_data", "point_mass", "pooled_ice_cream_model", "row_from_model",
])
