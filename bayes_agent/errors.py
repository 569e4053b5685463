"""One error family for the whole project, raised at the boundary before any arithmetic."""

from __future__ import annotations

__all__ = ["BayesAgentError", "FloatUnderflow", "InvalidArgument", "ZeroEvidence"]


class BayesAgentError(Exception):
    """Base of every error this project raises on purpose."""


class InvalidArgument(BayesAgentError, ValueError):
    """A caller passed something the paper's definitions do not allow (bad prior, bad gate, ...)."""


class ZeroEvidence(BayesAgentError, ValueError):
    """Every program gives the history probability zero, so the posterior is undefined (0/0)."""


class FloatUnderflow(BayesAgentError, ArithmeticError):
    """A positive probability fell below the smallest float64 (about 1e-308) and became 0.0.

    Raised instead of :class:`ZeroEvidence` when the zero is an artefact of float arithmetic;
    the message names the exact or log-space arithmetic that does not underflow.
    """
