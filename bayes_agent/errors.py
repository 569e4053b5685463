"""One error family for the whole project, raised at the boundary before any arithmetic."""

from __future__ import annotations

__all__ = ["BayesAgentError", "FloatUnderflow", "InvalidArgument", "TableTooLarge", "ZeroEvidence"]


class BayesAgentError(Exception):
    """Base of every error this project raises on purpose."""


class InvalidArgument(BayesAgentError, ValueError):
    """A caller passed something the paper's definitions do not allow (bad prior, bad gate, ...)."""


class ZeroEvidence(BayesAgentError, ValueError):
    """Every program gives the history probability zero, so the posterior is undefined (0/0)."""

    @classmethod
    def at_slot(cls, i: int, value: object) -> "ZeroEvidence":
        """The error for the slot h[i], counted from 1 as the paper counts slots (z_1, z_2, ...)."""
        return cls(f"slot {i + 1} (h[{i}] = {value!r}) has probability zero under every program still "
                   f"holding weight; the posterior is undefined")

    @classmethod
    def everywhere(cls, mode: object) -> "ZeroEvidence":
        """The error for a whole history: every program with prior weight above zero gives it
        probability zero (a program at prior 0 may give it any probability; it is not named)."""
        mode_name = str(getattr(mode, "name", mode)).lower()  # a Mode, or its name
        return cls(f"every program holding prior weight gives this history probability zero under the "
                   f"{mode_name} likelihood, so the posterior is undefined (0/0)")


class FloatUnderflow(BayesAgentError, ArithmeticError):
    """A positive probability fell below float64's normal range (about 2.2e-308): as a float it
    would read 0.0, or keep only a few of its bits.

    Raised instead of :class:`ZeroEvidence` when the zero is an artefact of float arithmetic;
    the message names the exact or log-space arithmetic that does not underflow.
    """


class TableTooLarge(InvalidArgument):
    """An exact query would build a table above the model's ``max_table_size`` entries.

    Raised before any arithmetic, from the elimination plan's estimate: ``size`` is the largest
    table's number of entries and ``width`` the elimination width (that table's variables less one).
    """

    def __init__(self, message: str, *, size: int = 0, width: int = 0) -> None:
        super().__init__(message)
        self.size, self.width = size, width
