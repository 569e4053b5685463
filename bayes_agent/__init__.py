"""bayes_agent: an exact Bayesian agent whose own actions are interventions, not evidence.

Pure math (fractions, sympy, numpy); importing it never imports torch.
"""

from .errors import BayesAgentError, InvalidArgument, ZeroEvidence
from .transcript import Channel, Gate, Mode, Part, Rendering, Slot, Span, Transcript, render
from .scm import SCM, Variable, bernoulli, point_mass
from .fire_engine import (FireEngineDerivation, FireEngineParameters, derive_fire_engine,
                          fire_engine_model)
from .ice_cream import (CLIMATES, ClimateRow, IceCreamMechanisms, climate_row, climate_table,
                        ice_cream_model, passive_vs_experiment, plot_climates, plot_more_data,
                        pooled_ice_cream_model, row_from_model)

__all__ = sorted([
    "BayesAgentError",
    "Channel",
    "Gate",
    "InvalidArgument",
    "Mode",
    "Part",
    "Rendering",
    "Slot",
    "Span",
    "Transcript",
    "ZeroEvidence",
    "render",
    # structural causal models (scm) and the teaching examples (fire_engine, ice_cream)
    "CLIMATES",
    "ClimateRow",
    "FireEngineDerivation",
    "FireEngineParameters",
    "IceCreamMechanisms",
    "SCM",
    "Variable",
    "bernoulli",
    "climate_row",
    "climate_table",
    "derive_fire_engine",
    "fire_engine_model",
    "ice_cream_model",
    "passive_vs_experiment",
    "plot_climates",
    "plot_more_data",
    "point_mass",
    "pooled_ice_cream_model",
    "row_from_model",
])

__version__ = "0.1.0"
