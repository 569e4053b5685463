"""Float queries whose intermediate products leave float64's range still answer what the exact
model answers: tables with a tiny largest entry are rescaled by powers of two (contraction.in_range),
and a marginal whose unrescaled messages came near the subnormals is asked by elimination."""

from fractions import Fraction

import numpy as np
import pytest

from bayes_agent.errors import FloatUnderflow
from bayes_agent.scm import SCM, Variable
from bayes_agent.scm.contraction import in_range


def _star(children: int, low: float, high: float) -> SCM:
    """A fair root R with ``children`` binary effects, P(E=1 | R=0) = low, P(E=1 | R=1) = high."""
    root = Variable("R", (0, 1), cpt={0: 0.5, 1: 0.5})
    effects = [Variable(f"E{i}", (0, 1), ("R",), {0: {0: 1 - low, 1: low}, 1: {0: 1 - high, 1: high}})
               for i in range(1, children + 1)]
    return SCM([root, *effects])


def _exact_posterior(children: int, low: float, high: float) -> float:
    """P(R=0 | every E=1), from the floats' exact binary values (Fractions), not from the engine."""
    a, b = Fraction(low) ** children, Fraction(high) ** children
    return float(a / (a + b))


CASES = [(2, 1e-200, 1e-150), (108, 0.001, 0.002), (2, 3e-160, 1e-150), (3, 1e-130, 1e-120)]


@pytest.mark.parametrize("children, low, high", CASES)
def test_posterior_through_tiny_likelihoods_matches_exact(children, low, high):
    model = _star(children, low, high)
    given = {f"E{i}": 1 for i in range(1, children + 1)}
    want = _exact_posterior(children, low, high)
    assert 0 < want < 1
    assert model.probability({"R": 0}, given=given) == pytest.approx(want, rel=1e-12, abs=0)
    assert model.distribution("R", given=given)[0] == pytest.approx(want, rel=1e-12, abs=0)
    assert model.marginals(given=given)["R"][0] == pytest.approx(want, rel=1e-12, abs=0)
    assert model.distribution("R", given=given)[1] == pytest.approx(1 - want, rel=1e-12, abs=0)


def test_an_answer_below_float_range_is_still_named_underflow():
    model = _star(2, 1e-200, 1e-150)
    with pytest.raises(FloatUnderflow, match="below the float64 range"):
        model.probability({"E1": 1, "E2": 1, "R": 0})  # P = 0.5e-400: the answer itself underflows


def test_tables_in_range_are_left_alone_and_tiny_ones_scaled_by_a_power_of_two():
    normal = np.array([0.25, 1e-300, 0.5])
    out, exp = in_range(normal)
    assert out is normal and exp == 0  # in-range answers are bit for bit what they were
    tiny = np.array([3e-160, 1e-150])
    out, exp = in_range(tiny)
    assert 0.5 <= out.max() < 1 and exp < 0
    assert np.array_equal(np.ldexp(out, exp), tiny)  # a power of two: nothing rounded
    zero = np.zeros(3)
    assert in_range(zero)[1] == 0


def test_a_true_zero_within_float_range_is_summed_once(monkeypatch):
    """A 0.0 in a float result is rerun kept in range only when an underflow could have made it:
    with every mechanism entry far from float64's limits the zero is structural, one pass suffices.
    Where a product can leave the range (tiny likelihoods), the rerun still happens."""
    from bayes_agent.scm import plans

    passes = []
    contract = plans.Block._contract
    monkeypatch.setattr(plans.Block, "_contract", lambda self, slots, scaled: passes.append(scaled) or
                        contract(self, slots, scaled))
    a = Variable("a", (0, 1), cpt={0: 0.25, 1: 0.75})
    b = Variable("b", (0, 1, 2), ("a",), {0: {0: 0.5, 1: 0.5, 2: 0.0}, 1: {0: 0.0, 1: 0.4, 2: 0.6}})
    model = SCM([a, b])
    assert model.distribution("b", do={"a": 0}) == {0: 0.5, 1: 0.5, 2: 0.0}
    assert model.distribution("a", given={"b": 0}) == {0: 1.0, 1: 0.0}
    assert passes and not any(passes), passes
    passes.clear()
    tiny = _star(2, 1e-200, 1e-150)
    assert tiny.distribution("R", given={"E1": 1, "E2": 1})[0] > 0
    assert True in passes


def test_float_marginals_ask_a_true_zero_nothing_more(monkeypatch):
    """A 0.0 in a float marginal used to send its variable to a separate elimination query, in
    case it was an underflow; where the mechanisms' smallest entries rule that out it is a true
    zero and the one pass answers it. Tiny likelihoods still get the separate query."""
    from bayes_agent.scm import queries

    asked = []
    distribution = queries.Elimination.distribution
    monkeypatch.setattr(queries.Elimination, "distribution",
                        lambda self, model, name, *a: asked.append(name) or distribution(self, model, name, *a))
    a = Variable("a", (0, 1), cpt={0: 0.25, 1: 0.75})
    b = Variable("b", (0, 1, 2), ("a",), {0: {0: 0.5, 1: 0.5, 2: 0.0}, 1: {0: 0.0, 1: 0.4, 2: 0.6}})
    c = Variable("c", (0, 1), ("b",), {0: {0: 1.0, 1: 0.0}, 1: {0: 0.3, 1: 0.7}, 2: {0: 0.2, 1: 0.8}})
    got = SCM([a, b, c]).marginals(given={"b": 0})
    assert got == {"a": {0: 1.0, 1: 0.0}, "b": {0: 1.0, 1: 0.0, 2: 0.0}, "c": {0: 1.0, 1: 0.0}}
    assert asked == []
    children = 2
    tiny = _star(children, 1e-200, 1e-150)
    got = tiny.marginals(given={"E1": 1, "E2": 1})
    assert got["R"][0] == pytest.approx(_exact_posterior(children, 1e-200, 1e-150), rel=1e-12, abs=0)
    assert "R" in asked
