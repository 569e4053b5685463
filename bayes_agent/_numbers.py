"""Numbers and probability rows in three arithmetics: exact rationals, sympy expressions, floats.

Every prior and kernel row passes through :func:`check_distribution` at the boundary, so bad
input (negative entries, rows that do not sum to one, NaN, text that is not a number) is refused
with a message naming the row and entry before any arithmetic happens. Text is parsed with
``fractions.Fraction`` only; nothing is ever evaluated as code. The SCM engine
(:mod:`bayes_agent.scm.model`), the teaching models and their commands parse and test numbers with
these same functions, so every entry point refuses the same inputs. sympy is imported only once
a value is already a sympy object (or a symbolic arithmetic is asked for).
"""

from __future__ import annotations

import math
import sys
from decimal import Decimal, localcontext
from fractions import Fraction
from numbers import Integral, Real
from typing import Any, Hashable, Iterable, Mapping

from .errors import FloatUnderflow, InvalidArgument

EXACT = "exact"
SYMBOLIC = "symbolic"
FLOAT = "float"
ARITHMETICS = (EXACT, SYMBOLIC, FLOAT)

#: Tolerance for a float row's sum to count as 1 (rows typed by hand carry rounding).
FLOAT_SUM_TOL = 1e-9


#: Numbers longer than this many characters are shortened in error messages (see :func:`short`).
SHORT_WIDTH = 24


def _significant(q: Fraction, digits: int) -> Decimal:
    """``q`` rounded to ``digits`` significant digits, computed from the fraction itself (no float,
    so neither underflow to 0 nor overflow to inf)."""
    with localcontext() as ctx:
        ctx.prec = digits
        return Decimal(q.numerator) / Decimal(q.denominator)


def short(x: Any, width: int = SHORT_WIDTH) -> str:
    """A number as message text: exact when it is short, else 6 significant digits (``≈1e+309``).

    A probability typed as ``"1e309"`` is a 310-digit rational; a message should say how big it is,
    not print every digit.
    """
    if isinstance(x, (Fraction, Integral)) and not isinstance(x, bool):
        q = Fraction(x)
        if max(q.numerator.bit_length(), q.denominator.bit_length()) <= 4 * width:
            text = str(x)  # (never str() of a huge integer: Python refuses past 4,300 digits)
            if len(text) <= width:
                return text
        return f"≈{_significant(q, 6).normalize():g}"
    text = str(x)
    if len(text) <= width:
        return text
    return text[: width - 1] + "…"


def decimal_text(x: Any, digits: int = 6) -> str:
    """An exact rational as a ``digits``-significant decimal computed from the fraction itself, so a
    tiny positive value reads ``1e-400`` (not float's 0) and a huge one ``1e+400`` (not inf)."""
    q = Fraction(x)
    if q == 0:
        return "0"
    mantissa, e, exponent = format(_significant(q, digits), f".{digits}g").partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return mantissa + e + exponent


def is_symbolic(x: Any) -> bool:
    """True for a sympy object; sympy is only consulted if something already imported it."""
    sympy = sys.modules.get("sympy")
    return sympy is not None and isinstance(x, sympy.Basic)


#: An exact number typed with more digits than this (numerator or denominator) is refused: its
#: products would soon pass Python's 4,300-digit limit on printing an integer.
MAX_DIGITS = 1000


def _held(q: Fraction, what: str) -> Fraction:
    if max(q.numerator.bit_length(), q.denominator.bit_length()) > MAX_DIGITS * 3.33:
        raise InvalidArgument(f"{what} = {short(q)} needs more than {MAX_DIGITS} digits as an exact fraction; "
                              f"give it with fewer digits")
    return q


def parse_number(x: Any, what: str = "value") -> Any:
    """Validate one probability-like number; strings go through ``Fraction`` (never ``eval``)."""
    if isinstance(x, bool):
        raise InvalidArgument(f"{what} must be a number, got the boolean {x!r}")
    if isinstance(x, Fraction):
        return _held(x, what)
    if isinstance(x, Integral):
        return _held(Fraction(int(x)), what)
    if isinstance(x, str):
        text = x.strip()
        try:
            q = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise InvalidArgument(
                f"{what}: {short(repr(x), 60)} is not a number; it must be a number such as 0.35 or 7/20"
            ) from None
        return _held(q, what)
    if isinstance(x, Decimal):
        if not x.is_finite():
            raise InvalidArgument(f"{what} must be finite, got {short(x)}")
        return _held(Fraction(x), what)
    if is_symbolic(x):
        sympy = _sympy()
        if not isinstance(x, sympy.Expr):
            raise InvalidArgument(f"{what} must be a number or a sympy expression, got {x!r}")
        if x.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) or (x.is_number and not x.is_finite):
            raise InvalidArgument(f"{what} must be finite, got {short(x)}")
        if x.is_real is False:
            raise InvalidArgument(f"{what} must be real, got {short(x)}")
        return x
    if isinstance(x, Real):  # float, numpy floating
        f = float(x)
        if not math.isfinite(f):
            raise InvalidArgument(f"{what} must be a finite number, got {x!r}")
        return f + 0.0  # -0.0 becomes 0.0, so no output shows a negative zero
    raise InvalidArgument(f"{what} must be a number, got {type(x).__name__} {x!r}")


def check_probability(value: Any, what: str) -> Any:
    """Parse one probability and check it lies in [0, 1] (symbols of unknown sign pass)."""
    x = parse_number(value, what)
    if is_negative(x) or is_negative(1 - x):
        raise InvalidArgument(f"{what} must be a probability in [0, 1], got {short(x)}")
    return x


def sympy_module():
    """sympy, imported on first use (only models and mixtures that hold symbols need it)."""
    import sympy

    return sympy


_sympy = sympy_module


def kind_of(values: Iterable[Any]) -> str:
    """The arithmetic a collection of parsed numbers calls for: symbolic > float > exact."""
    kind = EXACT
    for v in values:
        if is_symbolic(v):
            return SYMBOLIC
        if isinstance(v, float):
            kind = FLOAT
    return kind


def float_of(x: Any) -> float:
    """``x`` as a float64. An exact number (Fraction, int, sympy) that is not 0 but below float64's
    normal range (about 2.2e-308) is refused with :class:`~bayes_agent.errors.FloatUnderflow`: as a
    float it would read 0.0, or keep only a few bits, and a probability silently 0.0 turns into a
    wrong answer or a false ZeroEvidence later. A float is taken as it was typed."""
    f = float(x)
    if not isinstance(x, float) and abs(f) < sys.float_info.min and x != 0:
        raise FloatUnderflow(f"{short(x)} is not 0 but below the float64 range (about 2.2e-308): as a float it "
                             f"would read {f!r}; keep it in exact arithmetic (Fractions), or work in log space")
    return f


def convert(x: Any, kind: str) -> Any:
    """Bring a parsed number into an arithmetic. A float alone becomes the rational of its shortest
    repr; a float *row* goes through :func:`convert_row`, which keeps it summing to 1."""
    if kind == FLOAT:
        if is_symbolic(x) and x.free_symbols:
            raise InvalidArgument(f"cannot use the symbolic value {x} in float arithmetic")
        return float_of(x)
    if kind == EXACT:
        if isinstance(x, float):  # float(x): numpy's repr is "np.float64(0.1)", not a literal
            return Fraction(repr(float(x)))
        if is_symbolic(x):
            if x.free_symbols:
                raise InvalidArgument(
                    f"{x} holds the symbol(s) {', '.join(sorted(map(str, x.free_symbols)))}, but this "
                    f"computation runs in exact rationals (arithmetic='symbolic' keeps symbols)")
            if not x.is_Rational:
                raise InvalidArgument(f"{x} is not an exact rational")
            return Fraction(int(x.p), int(x.q))
        return Fraction(x)
    if kind == SYMBOLIC:
        sympy = _sympy()
        if is_symbolic(x):
            return x
        fx = Fraction(repr(float(x))) if isinstance(x, float) else Fraction(x)
        return sympy.Rational(fx.numerator, fx.denominator)
    raise InvalidArgument(f"arithmetic must be one of {ARITHMETICS}, got {kind!r}")


def is_negative(x: Any) -> bool:
    """True only when ``x`` is known to be < 0 (a sympy expression of unknown sign is not)."""
    if is_symbolic(x):
        return bool(x.is_negative)
    return x < 0


def is_zero(x: Any) -> bool:
    """Exact zero test (sympy expressions are simplified first)."""
    if is_symbolic(x):
        if x.is_zero is True:
            return True
        if x.is_number:
            return bool(x == 0) or _sympy().nsimplify(x) == 0
        return _sympy().simplify(x) == 0
    return x == 0


#: A float is read as the rational it was typed as (0.333… as 1/3) only when that rational's
#: denominator is at most this, when a float row is brought into exact or symbolic arithmetic
#: (:func:`convert_row`).
TYPED_DENOMINATOR = 10 ** 6


def typed_rational(x: float) -> Fraction | None:
    """The rational of smallest denominator, at most :data:`TYPED_DENOMINATOR`, less than one unit
    in the last place away from ``x`` (strictly between its neighbouring floats): 1/3 for
    0.3333333333333333, 2/3 for both 0.6666666666666666 and ``1 - 1/3`` (0.6666666666666667, one
    rounding off), 1/10 for 0.1; ``None`` when there is none, or ``x`` is negative or ≥ 4096.
    Below 4096 the neighbours are less than 2**-39 apart and two rationals of such denominators at
    least 10**-12, so at most one lies between them: the nearest, which ``limit_denominator`` finds."""
    if not 0 <= x < 4096:
        return None
    if x == 0:
        return Fraction(0)
    q = Fraction(x).limit_denominator(TYPED_DENOMINATOR)
    return q if Fraction(math.nextafter(x, 0)) < q < Fraction(math.nextafter(x, math.inf)) else None


def typed_symbolic_row(row: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
    """A row in symbolic arithmetic with each float, alone or inside an expression (0.3*a, and
    either sign), read as the rational it was typed as (:func:`typed_rational`; else its shortest
    decimal), when the row then sums to exactly 1; otherwise the row as it came (for the row check
    to judge). So 1/3 beside a and 2/3 - a is 1/3, a, 2/3 - a, with no float noise."""
    sympy = _sympy()
    if not any(isinstance(v, float) or (is_symbolic(v) and v.has(sympy.Float)) for v in row.values()):
        return dict(row)  # the usual row: nothing to read

    def rational(f: Any) -> Any:
        x = float(f)
        q = typed_rational(abs(x))
        q = q if q is not None else convert(abs(x), EXACT)
        return sympy.Rational(q.numerator, q.denominator) * (-1 if x < 0 else 1)

    out = {k: rational(v) if isinstance(v, float)
           else v.xreplace({f: rational(f) for f in v.atoms(sympy.Float)}) if is_symbolic(v) else v
           for k, v in row.items()}
    if out == dict(row) or sympy.simplify(sum(map(sympy.sympify, out.values())) - 1) != 0:
        return dict(row)
    return out

def float_tolerance(values: list[Any]) -> float:
    """How far a float row's sum may miss 1: :data:`FLOAT_SUM_TOL`, or more for numpy numbers of
    lower precision (float32 0.35 + 0.65 is 0.99999997), scaled by the row's length."""
    eps = 0.0
    for v in values:
        dtype = getattr(v, "dtype", None)
        if dtype is not None and getattr(dtype, "kind", "") == "f" and dtype.itemsize < 8:
            import numpy as np

            eps = max(eps, float(np.finfo(dtype).eps))
    return max(FLOAT_SUM_TOL, 4 * eps * len(values))


def convert_row(row: Mapping[Hashable, Any], kind: str, tol: float = FLOAT_SUM_TOL) -> dict[Hashable, Any]:
    """A probability row in arithmetic ``kind``. A row with float entries brought into exact or
    symbolic arithmetic is read by the first of these that sums to exactly 1, as every exact
    identity (§3.2, §3.3) needs:

    1. each float as the rational it was typed as (:func:`typed_rational`): the one of smallest
       denominator, at most :data:`TYPED_DENOMINATOR`, less than one unit in the last place from
       the float (0.333… and 0.666… are 1/3 and 2/3, and so is ``1 - 1/3``; 0.1 is 1/10);
    2. each float as its shortest decimal (0.1234567891 is 1234567891/10**10);
    3. the floats' exact binary values divided by their exact sum, when that sum is within the float
       tolerance ``tol`` of 1 (which moves no entry by more than ``tol``).

    Entries that are not floats are kept as they are. A row that none of these makes a
    distribution comes back as its shortest decimals, for the caller's row check to refuse.
    A row holding symbols or irrationals has no exact sum: its floats are their shortest decimals."""
    out = {k: convert(v, kind) for k, v in row.items()}
    if kind == FLOAT or not any(isinstance(v, float) for v in row.values()):
        return out
    if any(is_symbolic(v) and not v.is_Rational for v in row.values()):  # symbols, sqrt(2)/4: no exact sum
        return out
    exact = {k: convert(v, EXACT) for k, v in row.items()}
    typed = {k: typed_rational(float(v)) if isinstance(v, float) else exact[k] for k, v in row.items()}
    if None not in typed.values() and sum(typed.values(), Fraction(0)) == 1:
        exact = typed
    elif sum(exact.values(), Fraction(0)) != 1:
        values = {k: Fraction(float(v)) if isinstance(v, float) else exact[k] for k, v in row.items()}
        total = sum(values.values(), Fraction(0))
        if not (total > 0 and abs(total - 1) <= tol):  # not a distribution: left for the caller's check
            return out
        exact = {k: v / total for k, v in values.items()}
    return {k: convert(v, kind) for k, v in exact.items()}


def sums_to_one(total: Any, kind: str, *, approx: bool = False, tol: float = FLOAT_SUM_TOL) -> bool:
    """Does a row's total equal 1 in its arithmetic? Floats may miss by ``tol``
    (:data:`FLOAT_SUM_TOL` unless :func:`float_tolerance` allows more).

    ``approx=True`` extends that tolerance to a symbolic total that is a plain number (floats
    mixed into sympy expressions, as an SCM's CPT rows may be); symbols must still cancel exactly.
    """
    if kind == FLOAT:
        return abs(float(total) - 1.0) <= tol
    if kind == SYMBOLIC:
        diff = _sympy().simplify(total - 1)
        if diff == 0:
            return True
        return approx and bool(diff.is_number) and abs(float(diff)) <= tol
    return total == 1


def check_distribution(
    row: Mapping[Hashable, Any], what: str, *, normalize: bool = False, kind: str | None = None,
    tol: float | None = None, rescale_hint: bool = True,
) -> dict[Hashable, Any]:
    """Validate a probability row (non-empty, entries ≥ 0, sum 1) and convert it to one arithmetic.

    With ``normalize=True`` a row with a positive sum is divided by that sum instead of refused
    (``rescale_hint=False`` leaves that advice out of the message where no such option exists);
    otherwise a row is rescaled only when a float row that sums to 1 within ``tol`` (by default
    :func:`float_tolerance` of the row) is brought into exact arithmetic (:func:`convert_row`).
    """
    if not isinstance(row, Mapping):
        raise InvalidArgument(f"{what} must be a mapping from symbols to probabilities, got {type(row).__name__}")
    if len(row) == 0:
        raise InvalidArgument(f"{what} is empty: a distribution needs at least one symbol")
    if tol is None:
        tol = float_tolerance(list(row.values()))
    parsed = {}
    for key, value in row.items():
        try:
            hash(key)
        except TypeError:
            raise InvalidArgument(f"{what}: symbol {key!r} is not hashable") from None
        parsed[key] = parse_number(value, f"{what}[{key!r}]")
    own = kind_of(parsed.values())  # validate in the row's own arithmetic, then convert
    if own == SYMBOLIC:  # floats beside sympy values: read as typed when that sums to 1
        parsed = typed_symbolic_row(parsed)
    parsed = {k: convert(v, own) for k, v in parsed.items()}
    for key, value in parsed.items():
        if is_negative(value):
            raise InvalidArgument(f"{what}[{key!r}] = {short(value)} is negative; probabilities are ≥ 0")
    total = sum(parsed.values(), convert(0, own))
    if normalize:
        if is_zero(total) or is_negative(total):
            raise InvalidArgument(f"{what} sums to {short(total)}; cannot normalize a row without positive mass")
        parsed = {k: v / total for k, v in parsed.items()}
    elif not sums_to_one(total, own, tol=tol):
        raise InvalidArgument(
            f"{what} sums to {short(total)}{_gap(total)}, not 1" + (
                " (pass normalize=True, or --normalize on the command line, to rescale it explicitly)"
                if rescale_hint else "")
        )
    elif own == FLOAT and tol > FLOAT_SUM_TOL:  # float32 entries: widened, they sum to 1 in float64
        parsed = {k: v / total for k, v in parsed.items()}
    try:
        return convert_row(parsed, kind or own, tol)
    except FloatUnderflow as e:  # say which row: the message names only the number
        raise FloatUnderflow(f"{what}: {e}") from None


def _gap(total: Any) -> str:
    """`` (1 − 1e-16)`` after a total whose shortened text hides how far it is from 1."""
    if is_symbolic(total) or not short(total).startswith("≈") or total == 1:
        return ""
    if abs(total - 1) >= Fraction(1, 10**5):  # six digits already show how far it is from 1
        return ""
    return f" (1 {'+' if total > 1 else '−'} {short(abs(total - 1))})"  # (only exact totals are shortened)
