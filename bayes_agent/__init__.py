"""bayes_agent: an exact Bayesian agent whose own actions are interventions, not evidence.

Pure math (fractions, sympy, numpy); importing it never imports torch.
"""

from ._ctrl_c import quiet_start as _quiet_start

_quiet_start()  # first: in the bayes-agent command, Ctrl-C during the imports below is one line

from .errors import BayesAgentError, FloatUnderflow, InvalidArgument, TableTooLarge, ZeroEvidence
from .seeds import check_seed, seeded_random
from .transcript import Channel, Gate, Mode, Part, Rendering, Slot, Span, Transcript, render
from .programs import HistoryProgram, MarkovProgram, Program, TableProgram, latest_action
from .mixture import Decision, Mixture, Updater, evidence_slots, is_evidence
from .sequential import PosteriorTrace
from .arithmetic import LogSpaceMixture, as_exact, as_float, as_symbolic, closed_form, latex, symbols
from .worked import (
    INVOICE_CONTEXT,
    TWO_ACTION_KERNELS,
    TWO_ACTION_PRIOR,
    TwoActionDerivation,
    derive_two_action,
    invoice_dialogue,
    invoice_mixture,
    invoice_updates,
    two_action_closed_form,
    two_action_mixture,
)
from .invariants import (ACTION_CHANNELS_IRRELEVANT, AGENT_SLOTS_INERT, ALL_INVARIANTS, COINCIDENCE, DECOMPOSITION,
                         PRIOR_UNDER_DO, PROVENANCE, SEQUENTIAL_EQUALS_BATCH, Checked, EngineRegime,
                         InvariantViolation, Regime, check_action_channels_irrelevant, check_agent_slots_inert,
                         check_all, check_coincidence, check_decomposition, check_prior_under_do, check_provenance,
                         check_sequential_equals_batch, engine_regimes)
from .scm import (CLIMATES, MAX_TABLE_SIZE, SCM, ClimateRow, FireEngineDerivation, FireEngineParameters,
                  IceCreamMechanisms, Variable, bernoulli, chain_scm, climate_row, climate_table,
                  derive_fire_engine, elimination_order, fire_engine_model, ice_cream_model,
                  passive_vs_experiment, plot_climates, plot_more_data, point_mass, polytree_scm,
                  pooled_ice_cream_model, random_scm, row_from_model, windowed_scm)
from .simulate import (DEFAULT_LOCK_LEVEL, RECOVERY_LEVEL, Ensemble, Trajectory, plot_ensemble, plot_trajectory, simulate_many,
                       simulate_trajectory)
from .dag import (BayesianExperimenter, CueConfig, CuedExperimenter, CuedSpace, DagConfig, HeuristicPolicy,
                  HypothesisSpace, ObservationOnlyPolicy, bystander_study, delusion_study, oracle_episodes,
                  relevant_experiment_share, run_cued_episodes, run_episodes, sample_cued_tasks, sample_tasks)

__all__ = sorted([
    "BayesAgentError",
    "Channel",
    "FloatUnderflow",
    "Gate",
    "InvalidArgument",
    "Mode",
    "Part",
    "Rendering",
    "Slot",
    "TableTooLarge",
    "Span",
    "Transcript",
    "ZeroEvidence",
    "render",
    # seeds: non-negative ints, checked in one place
    "check_seed",
    "seeded_random",
    # engine (programs, mixture)
    "Decision",
    "HistoryProgram",
    "MarkovProgram",
    "Mixture",
    "PosteriorTrace",
    "Program",
    "TableProgram",
    "Updater",
    "evidence_slots",
    "is_evidence",
    "latest_action",
    # engine: arithmetics, worked examples, invariants
    "EngineRegime",
    "InvariantViolation",
    "LogSpaceMixture",
    "Regime",
    "TwoActionDerivation",
    "as_exact",
    "as_float",
    "as_symbolic",
    "check_all",
    "closed_form",
    "latex",
    "symbols",
    "derive_two_action",
    "engine_regimes",
    "invoice_dialogue",
    "invoice_mixture",
    "invoice_updates",
    "two_action_closed_form",
    "two_action_mixture",
    # the invariants one by one, their names, and the worked examples' stated numbers
    "ACTION_CHANNELS_IRRELEVANT",
    "AGENT_SLOTS_INERT",
    "ALL_INVARIANTS",
    "COINCIDENCE",
    "Checked",
    "DECOMPOSITION",
    "PRIOR_UNDER_DO",
    "PROVENANCE",
    "SEQUENTIAL_EQUALS_BATCH",
    "check_action_channels_irrelevant",
    "check_agent_slots_inert",
    "check_coincidence",
    "check_decomposition",
    "check_prior_under_do",
    "check_provenance",
    "check_sequential_equals_batch",
    "INVOICE_CONTEXT",
    "TWO_ACTION_KERNELS",
    "TWO_ACTION_PRIOR",
    # structural causal models and the teaching examples (scm/)
    "CLIMATES",
    "MAX_TABLE_SIZE",
    "ClimateRow",
    "FireEngineDerivation",
    "FireEngineParameters",
    "IceCreamMechanisms",
    "SCM",
    "Variable",
    "bernoulli",
    "chain_scm",
    "elimination_order",
    "polytree_scm",
    "random_scm",
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
    "windowed_scm",
    # the delusion simulator (simulate)
    "DEFAULT_LOCK_LEVEL",
    "Ensemble",
    "RECOVERY_LEVEL",
    "Trajectory",
    "plot_ensemble",
    "plot_trajectory",
    "simulate_many",
    "simulate_trajectory",
    # causal-DAG world, exact experimenter, baselines (dag/)
    "BayesianExperimenter",
    "CueConfig",
    "CuedExperimenter",
    "CuedSpace",
    "DagConfig",
    "HeuristicPolicy",
    "HypothesisSpace",
    "ObservationOnlyPolicy",
    "bystander_study",
    "delusion_study",
    "oracle_episodes",
    "relevant_experiment_share",
    "run_cued_episodes",
    "run_episodes",
    "sample_cued_tasks",
    "sample_tasks",
])

__version__ = "0.1.0"
