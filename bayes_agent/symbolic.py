"""Exact and symbolic arithmetic for the engine: rationals, sympy closed forms, LaTeX (§3).

:func:`as_exact` and :func:`as_symbolic` give a :class:`~bayes_agent.mixture.Mixture` over
``fractions.Fraction`` or sympy numbers; :func:`symbols`, :func:`closed_form` and :func:`latex`
build and print closed forms. No text is ever evaluated: strings go through the number parser.
"""

from __future__ import annotations

import re
from typing import Any

from ._numbers import EXACT, SYMBOLIC, is_symbolic, parse_number, short
from ._checks import expect
from .errors import InvalidArgument
from .mixture import Mixture

__all__ = ["as_exact", "as_symbolic", "closed_form", "latex", "symbols"]


def as_exact(mixture: Mixture) -> Mixture:
    """The mixture in exact rationals; each float row becomes rationals that sum to exactly 1
    (:func:`~bayes_agent._numbers.convert_row`: 0.333… is 1/3)."""
    expect(mixture, Mixture, "as_exact's argument")
    return Mixture(mixture.programs, mixture.prior, arithmetic=EXACT)


def as_symbolic(mixture: Mixture) -> Mixture:
    """The mixture with sympy numbers, so its answers can be simplified and printed as LaTeX."""
    expect(mixture, Mixture, "as_symbolic's argument")
    return Mixture(mixture.programs, mixture.prior, arithmetic=SYMBOLIC)


_SYMBOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def symbols(names: str, **assumptions: Any) -> Any:
    """sympy symbols for priors or kernel entries; positive by default (probabilities in (0, 1)).

    ``names`` is a comma- or space-separated list of identifiers such as ``"p q_B"``; anything
    else is refused before sympy sees it.
    """
    import sympy

    if not isinstance(names, str):
        raise InvalidArgument(f"symbols() takes a string of names, got {type(names).__name__}")
    parts = [n for n in re.split(r"[,\s]+", names) if n]
    bad = [n for n in parts if not _SYMBOL_NAME.fullmatch(n)]
    if not parts or bad:
        raise InvalidArgument(
            f"symbols(): names must be identifiers such as 'p' or 'q_B', got {short(repr(names), 60)}"
        )
    assumptions.setdefault("positive", True)
    return sympy.symbols(names, **assumptions)


def _sympy_value(expr: Any, what: str) -> Any:
    """A sympy object for ``expr`` without evaluating text: strings go through the number parser.

    ``sympy.sympify`` (and every sympy function that calls it on a string) runs Python code, so
    only numbers and sympy objects ever reach sympy here.
    """
    import sympy

    if is_symbolic(expr):
        if not isinstance(expr, sympy.Basic):  # pragma: no cover - is_symbolic checks Basic
            raise InvalidArgument(f"{what} must be a number or a sympy expression, got {expr!r}")
        return expr
    x = parse_number(expr, what)  # Fraction or float; text is parsed by Fraction, never evaluated
    if isinstance(x, float):
        return sympy.nsimplify(x)
    return sympy.Rational(x.numerator, x.denominator)


def closed_form(expr: Any) -> Any:
    """Simplify a symbolic posterior or predictive to a factored closed form."""
    import sympy

    return sympy.factor(sympy.simplify(_sympy_value(expr, "closed_form(expr)")))


def latex(expr: Any) -> str:
    """LaTeX for a number or expression (exact fractions print as ``\\frac``).

    Text is read as a number (``"7/20"``, ``"0.35"``) and never evaluated as code.
    """
    import sympy

    return sympy.latex(_sympy_value(expr, "latex(expr)"))
