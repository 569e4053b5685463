"""The neural regimes of the one invariant suite, and assertions for users' own training code.

A torch mixture of programs (the exact bridge: posterior = prior − gradient of the masked NLL)
and a transformer under masked SFT, each adapted to the checks in :mod:`bayes_agent.invariants`.
"""

from .mixture_torch import TorchMixture, evidence_mask
from .adapters import (TorchMixtureRegime, TransformerCase, TransformerRegime, micro_transformer_case,
                       neural_regimes)
from .assertions import assert_agent_tokens_inert, assert_step_inert

__all__ = sorted([
    "TorchMixture", "evidence_mask", "TorchMixtureRegime", "TransformerCase", "TransformerRegime",
    "micro_transformer_case", "neural_regimes", "assert_agent_tokens_inert", "assert_step_inert",
])
