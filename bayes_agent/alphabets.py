"""The default symbol alphabets of generated programs, in a module that imports nothing heavy.

:mod:`bayes_agent.strategies` (which needs hypothesis) and the neural regimes (which must import
without it) both draw their defaults from here.
"""

from __future__ import annotations

__all__ = ["ACTIONS", "OBSERVATIONS"]

#: Default action alphabet for generated programs.
ACTIONS: tuple[str, ...] = ("A", "B")
#: Default observation alphabet for generated programs.
OBSERVATIONS: tuple[str, ...] = ("x", "y", "z")
