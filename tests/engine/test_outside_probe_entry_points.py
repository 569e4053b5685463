"""Entry points an outside probe found unchecked or wrong (2026-12-04): each test fails without its
fix. decide_from took any mapping, knows / check_unscored / check_agent_slot ended in bare
AttributeError or IndexError, factor scored programs the mixture does not hold (in their own
arithmetic), a Fraction below float64's range became 0.0 in a float mixture, evidence in the
subnormal range came back with most of its bits lost, and irrational weights could not be sampled."""

from __future__ import annotations

import math
from fractions import Fraction as F

import pytest
import sympy

from bayes_agent import FloatUnderflow, InvalidArgument, Mixture, TableProgram, Transcript, as_float

PB = TableProgram("p_B", action={"A": "0.20", "B": "0.80"})
PA = TableProgram("p_A", action={"A": "0.90", "B": "0.10"})


@pytest.mark.parametrize("dist, words", [
    ({"A": float("nan"), "B": 0.5}, "finite"), ({"A": 5, "B": 7}, "sums to 12"),
    ({"A": -1, "B": 2}, "negative"), ("AB", "mapping"), (None, "mapping")])
def test_decide_from_checks_its_distribution(dist, words):
    m = Mixture([PB, PA], prior=["0.35", "0.65"])
    with pytest.raises(InvalidArgument, match=words):
        m.decide_from(dist, "B")
    assert m.decide_from(m.act(Transcript()), "B").action == "A"  # 69/200 < 1/2


def test_slot_checks_name_the_bad_history_or_index():
    m = Mixture([PB, PA], prior=["0.35", "0.65"])
    h = Transcript().agent("A")
    for call, words in [(lambda: m.knows([1], 0), "Transcript"), (lambda: m.knows(h, 5), "outside"),
                        (lambda: m.check_unscored([1]), "Transcript"), (lambda: m.check_agent_slot(h, 9), "outside"),
                        (lambda: m.check_agent_slot(h, 0.5), "int"), (lambda: m.factor(PB, h, -2), "outside")]:
        with pytest.raises(InvalidArgument, match=words):
            call()
    assert m.knows(h, -1) and m.knows(h, 0)


def test_factor_scores_the_mixtures_own_programs_in_its_arithmetic():
    a = TableProgram("a", observation={"x": "1/4", "y": "3/4"})
    b = TableProgram("b", observation={"x": "1/2", "y": "1/2"})
    floats = Mixture([a, b], prior=[0.5, 0.5])
    h = Transcript().world("x")
    assert floats.factor(a, h, 0) == 0.25 and type(floats.factor(a, h, 0)) is float
    with pytest.raises(InvalidArgument, match="'zz' is not in this mixture"):
        floats.factor(TableProgram("zz", observation={"x": "9/10", "y": "1/10"}), h, 0)


def test_an_exact_probability_below_float_range_is_named_in_a_float_mixture():
    t = F(1, 10 ** 400)
    tiny = TableProgram("a", observation={"x": t, "y": 1 - t})
    with pytest.raises(FloatUnderflow, match="program 'a' observation kernel"):
        Mixture([tiny], prior=[1.0])
    with pytest.raises(FloatUnderflow, match="the prior"):
        as_float(Mixture([TableProgram("a", observation={"x": 1}), TableProgram("b", observation={"y": 1})],
                         prior=[t, 1 - t]))
    exact = Mixture([tiny], prior=[1])
    assert exact.log_evidence(Transcript().world("x")) == pytest.approx(-400 * math.log(10), rel=1e-15)


def test_evidence_in_the_subnormal_range_is_named_not_returned_with_lost_bits():
    m = Mixture([TableProgram("a", observation={"x": "1/3", "y": "2/3"})], prior=[1.0])
    h = Transcript()
    for _ in range(678):  # (1/3)^678 ≈ 3.3e-324: a subnormal, 52 % off as a float
        h = h.world("x")
    for call in (lambda: m.evidence(h), lambda: m.likelihood(h)):
        with pytest.raises(FloatUnderflow, match="below the float64 range"):
            call()
    assert m.log_evidence(h) == pytest.approx(678 * math.log(1 / 3), rel=1e-14)
    assert m.posterior(h) == {"a": 1.0}


def test_irrational_weights_are_sampled_exactly_as_float_draws_are():
    r = sympy.sqrt(2) / 2
    m = Mixture([TableProgram("r", action={"A": r, "B": 1 - r}), TableProgram("s", action={"A": "1/2", "B": "1/2"})],
                prior=["1/2", "1/2"])
    floats = as_float(m)
    h = Transcript().world("A", channel="action")
    assert [m.sample_action(Transcript(), s) for s in range(200)] == [floats.sample_action(Transcript(), s)
                                                                      for s in range(200)]
    assert [m.sample_program(h, s).name for s in range(200)] == [floats.sample_program(h, s).name for s in range(200)]


def test_numpy_gates_are_gates():
    """Indices and seeds took numpy integers, gates did not (found from outside)."""
    import numpy as np

    from bayes_agent import Gate

    want = Transcript().agent("A").world("x")
    assert Transcript.from_values(["A", "x"], np.array([1, 0])) == want
    assert Transcript.from_values(np.array(["A", "x"]), [np.int64(1), np.False_]) == want
    assert Transcript().append("A", np.True_) == Transcript().append("A", np.int8(1)) == Transcript().agent("A")
    for bad in (np.int64(2), np.float64(1.0), np.array([True]), np.array([1])):
        with pytest.raises(InvalidArgument, match="a gate must be 0"):
            Gate.of(bad)
