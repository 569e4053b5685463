"""One error family for the whole project, raised at the boundary before any arithmetic."""

from __future__ import annotations

__all__ = ["BayesAgentError", "InvalidArgument", "ZeroEvidence"]


class BayesAgentError(Exception):
    """Base of every error this project raises on purpose."""


class InvalidArgument(BayesAgentError, ValueError):
    """A caller passed something the paper's definitions do not allow (bad prior, bad gate, ...)."""


class ZeroEvidence(BayesAgentError, ValueError):
    """Every program gives the history probability zero, so the posterior is undefined (0/0)."""
