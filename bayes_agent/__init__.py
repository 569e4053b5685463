"""bayes_agent: an exact Bayesian agent whose own actions are interventions, not evidence.

Pure math (fractions, sympy, numpy); importing it never imports torch.
"""

from .errors import BayesAgentError, InvalidArgument, ZeroEvidence
from .transcript import Channel, Gate, Mode, Part, Rendering, Slot, Span, Transcript, render

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
])

__version__ = "0.1.0"
