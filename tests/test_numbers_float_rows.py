"""How a float row is read in exact arithmetic (bayes_agent._numbers.convert_row): the first of
typed rationals, shortest decimals, exact values over their exact sum that sums to exactly 1."""

from __future__ import annotations

import math
import random
from fractions import Fraction as F

import pytest

from bayes_agent import Mixture, TableProgram, Transcript, as_exact
from bayes_agent._numbers import TYPED_DENOMINATOR, convert_row, typed_rational


@pytest.mark.parametrize("x, want", [(1 / 3, F(1, 3)), (2 / 3, F(2, 3)), (1 - 1 / 3, F(2, 3)), (0.1, F(1, 10)),
                                     (0.1 + 0.2, F(3, 10)), (1 / 7, F(1, 7)), (5 / 7, F(5, 7)), (0.0, F(0)),
                                     (1.0, F(1)), (1e-6, F(1, 10 ** 6)), (0.999999, F(999999, 10 ** 6))])
def test_typed_rational_reads_a_float_as_typed(x, want):
    assert typed_rational(x) == want


@pytest.mark.parametrize("x", [0.123456789, 0.3333333, 1e-7, 1e-300, 5e-324])
def test_typed_rational_is_none_past_the_denominator_bound(x):
    assert typed_rational(x) is None


def test_typed_rational_gives_every_small_rational_back_from_its_float():
    for d in range(1, 120):
        for n in range(d + 1):
            assert typed_rational(n / d) == F(n, d), (n, d)
    rng = random.Random(0)
    for _ in range(300):  # near the bound: distinct rationals there differ by far more than an ulp
        d = rng.randint(TYPED_DENOMINATOR // 2, TYPED_DENOMINATOR)
        q = F(rng.randint(0, d), d)
        assert typed_rational(float(q)) == q


def test_typed_rational_has_the_smallest_denominator_between_the_neighbouring_floats():
    rng = random.Random(1)
    for _ in range(200):  # a rational's float, or that float one step off (as 1 - 1/3 is)
        r = F(rng.randint(1, 999), rng.randint(1000, 5000))
        x = rng.choice([float(r), math.nextafter(float(r), 0), math.nextafter(float(r), 1)])
        lo, hi = F(math.nextafter(x, 0)), F(math.nextafter(x, 1))
        q = typed_rational(x)
        if lo < r < hi:
            assert q is not None and q.denominator <= r.denominator
        if q is None:
            continue
        assert lo < q < hi
        for d in range(1, q.denominator):
            assert not any(lo < F(n, d) < hi for n in (math.floor(x * d), math.ceil(x * d))), (x, q, d)


@pytest.mark.parametrize("kind", ["exact", "symbolic"])
def test_convert_row_takes_typed_rationals_first(kind):
    got = convert_row({"a": 1 / 7, "b": 1 / 7, "c": 5 / 7}, kind)
    assert got == {"a": F(1, 7), "b": F(1, 7), "c": F(5, 7)}
    assert convert_row({"x": 1 / 3, "y": 1 - 1 / 3}, kind) == {"x": F(1, 3), "y": F(2, 3)}
    # (decimals that also sum to 1 no longer win: 0.3333333333333333 + 0.6666666666666667 is 1)
    assert F(repr(1 / 3)) + F(repr(1 - 1 / 3)) == 1


def test_convert_row_then_shortest_decimals_then_exact_values_over_their_sum():
    a, b = 0.1234567891, 0.8765432109  # no typed rational: the decimals sum to 1
    assert convert_row({0: a, 1: b}, "exact") == {0: F("0.1234567891"), 1: F("0.8765432109")}
    a, b = 0.3818873095, 0.1275345129
    c = 1 - a - b  # 0.49057817760000005: neither typed nor decimal readings sum to 1
    got = convert_row({0: a, 1: b, 2: c}, "exact")
    total = F(a) + F(b) + F(c)
    assert got == {0: F(a) / total, 1: F(b) / total, 2: F(c) / total} and sum(got.values()) == 1
    # a row outside the tolerance is not a distribution: left as decimals for the caller to refuse
    assert convert_row({0: 0.5, 1: 0.6}, "exact") == {0: F(1, 2), 1: F(3, 5)}


def test_as_exact_reads_a_mixtures_float_rows_by_the_same_rule():
    m = as_exact(Mixture([TableProgram("p", observation={"x": 1 / 3, "y": 1 - 1 / 3})], [1.0]))
    assert m.programs[0].distribution(Transcript(), "observation") == {"x": F(1, 3), "y": F(2, 3)}


def test_a_symbolic_mixture_reads_floats_beside_sympy_values_as_typed():
    import sympy

    from bayes_agent import Mixture, TableProgram, Transcript, symbols

    a = symbols("a")
    m = Mixture([TableProgram("p", observation={"x": 1 / 3, "y": a, "z": 2 / 3 - a})], [1], arithmetic="symbolic")
    got = m.predict(Transcript(), None)
    assert got["x"] == sympy.Rational(1, 3) and sympy.simplify(got["z"] - (sympy.Rational(2, 3) - a)) == 0
    assert not any(v.atoms(sympy.Float) for v in got.values())
    plain = Mixture([TableProgram("p", observation={"x": 1 / 3, "y": sympy.Rational(2, 3)})], [1], arithmetic="symbolic")
    assert plain.predict(Transcript(), None) == {"x": sympy.Rational(1, 3), "y": sympy.Rational(2, 3)}
