"""Float queries whose intermediate products leave float64's range still answer what the exact
model answers: a float sum that may have lost bits to float64's range is done again exactly over the
floats' own values (plans.Block.exactly), and a marginal whose messages came near the subnormals is
asked by elimination. A positive probability that is itself below the range is named, never 0.0."""

from fractions import Fraction

import pytest

from bayes_agent.errors import FloatUnderflow, ZeroEvidence
from bayes_agent.scm import SCM, Variable


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


def test_a_true_zero_within_float_range_is_summed_once(monkeypatch):
    """A 0.0 in a float result is summed again exactly only when an underflow could have made it:
    with every mechanism entry far from float64's limits the zero is structural, one pass suffices.
    Where a product can leave the range (tiny likelihoods), the exact sum still happens."""
    from bayes_agent.scm import plans

    again = []
    exactly = plans.Block.exactly
    monkeypatch.setattr(plans.Block, "exactly", lambda self, pos: again.append(self.names) or exactly(self, pos))
    a = Variable("a", (0, 1), cpt={0: 0.25, 1: 0.75})
    b = Variable("b", (0, 1, 2), ("a",), {0: {0: 0.5, 1: 0.5, 2: 0.0}, 1: {0: 0.0, 1: 0.4, 2: 0.6}})
    model = SCM([a, b])
    assert model.distribution("b", do={"a": 0}) == {0: 0.5, 1: 0.5, 2: 0.0}
    assert model.distribution("a", given={"b": 0}) == {0: 1.0, 1: 0.0}
    assert again == []
    tiny = _star(2, 1e-200, 1e-150)
    assert tiny.distribution("R", given={"E1": 1, "E2": 1})[0] > 0
    assert again


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


def _exact_values(model: SCM, name: str, given: dict) -> dict:
    """The exact model's answer (the floats read as the rationals they are), as floats."""
    return {v: float(p) for v, p in model.to_exact().distribution(name, given=given).items()}


def test_evidence_below_float_range_through_tiny_entries_answers_what_exact_does():
    """Found from outside: P(given) ≈ 7e-403 reached through entries of 1e-200 and 5e-201; the
    power-of-two rescaling kept each table's largest entry in range but not its small ones, and the
    answer came back 3.5 % off (0.6638 for 0.6878) with no error."""
    t = 1e-200
    cells = [({"A": a, "C": c}, {0: .5, 1: .5}) for a in (0, 1, 2) for c in (0, 1)]
    cells += [({"A": 0, "C": 2}, {0: 1.0, 1: 5e-201}), ({"A": 1, "C": 2}, {0: .5, 1: .5}),
              ({"A": 2, "C": 2}, {0: .125, 1: .875})]
    m = SCM([Variable("A", (0, 1, 2), cpt={0: 0.2, 1: 0.8, 2: t}),
             Variable("B", (0, 1), ("A",), cpt={0: {0: 0.6, 1: 0.4}, 1: {0: 1.0}, 2: {0: 0.8, 1: 0.2}}),
             Variable("C", (0, 1, 2), ("B",), cpt={0: {0: 0.5, 1: 0.25, 2: 0.25}, 1: {2: 1.0}}),
             Variable("D", (0, 1), ("A", "C"), cpt=cells),
             Variable("E", (0, 1), ("C",), cpt={0: {1: 1.0}, 1: {0: .5, 1: .5}, 2: {0: 1.0, 1: 4e-202}}),
             Variable("F", (0, 1), ("D",), cpt={0: {0: 1.0, 1: 1.35e-200}, 1: {0: .6875, 1: .3125}})])
    given = {"B": 1, "E": 1, "F": 1}
    want = _exact_values(m, "A", given)
    assert want[0] == pytest.approx(0.68783, abs=1e-5)
    for got in (m.distribution("A", given=given), m.marginals(given=given)["A"],
                {v: m.probability({"A": v}, given=given) for v in (0, 1, 2)}):
        assert got == pytest.approx(want, rel=1e-12, abs=0)


def test_a_positive_answer_inside_float_range_is_not_a_false_zero():
    """Found from outside: P(Y=0 | C=0, D=1) = 6.29e-250 came back 0.0 from distribution and
    marginals, and probability() called it below the float range."""
    t = 1e-250
    m = SCM([Variable("A", (0, 1), cpt={0: 1.0, 1: t}),
             Variable("B", (0, 1), ("A",), cpt={0: {0: t, 1: 1.0}, 1: {0: .5, 1: .5}}),
             Variable("C", (0, 1), ("B",), cpt={0: {0: .5, 1: .5}, 1: {0: t, 1: 1.0}}),
             Variable("D", (0, 1), ("C",), cpt={0: {0: 1.0, 1: t}, 1: {0: .5, 1: .5}}),
             Variable("Y", (0, 1), ("D", "A"), cpt={(0, 0): {0: .5, 1: .5}, (0, 1): {0: .5, 1: .5},
                                                    (1, 0): {0: 6 * t, 1: 1.0}, (1, 1): {0: 8 * t, 1: 1.0}})])
    given = {"C": 0, "D": 1}
    want = _exact_values(m, "Y", given)
    assert 6e-250 < want[0] < 7e-250
    assert m.distribution("Y", given=given) == pytest.approx(want, rel=1e-12, abs=0)
    assert m.marginals(given=given)["Y"] == pytest.approx(want, rel=1e-12, abs=0)
    assert m.probability({"Y": 0}, given=given) == pytest.approx(want[0], rel=1e-12, abs=0)


def test_evidence_below_float_range_with_a_certain_answer_answers_it():
    """Found from outside: P(given) = 1e-400 and P(R | given) = (1, 0, 0) exactly; the float model
    raised FloatUnderflow instead. The same for the point mass of an evidence variable itself."""
    t = 1e-200
    m = SCM([Variable("R", (0, 1, 2), cpt={0: t, 1: .5, 2: .5}),
             Variable("E1", (0, 1), ("R",), cpt={0: {0: 1.0, 1: t}, 1: {0: 1.0}, 2: {0: .5, 1: .5}}),
             Variable("E2", (0, 1), ("R",), cpt={0: {1: 1.0}, 1: {0: .5, 1: .5}, 2: {0: 1.0}})])
    given = {"E1": 1, "E2": 1}
    assert m.distribution("R", given=given) == {0: 1.0, 1: 0.0, 2: 0.0}
    assert m.marginals(given=given)["R"] == {0: 1.0, 1: 0.0, 2: 0.0}
    assert m.probability({"R": 0}, given=given) == 1.0
    assert m.distribution("E1", given=given) == {0: 0.0, 1: 1.0}
    assert m.distribution("E1", given=given, do={"R": 0}) == {0: 0.0, 1: 1.0}
    with pytest.raises(ZeroEvidence):
        m.distribution("E1", given={"E1": 1, "E2": 0}, do={"R": 0})


def test_every_method_names_a_positive_probability_below_float_range():
    """Found from outside: P(C=1) ≈ 1e-400 raised FloatUnderflow from probability() but came back
    0.0 from distribution, enumeration, marginals, joint and expectation."""
    m = SCM([Variable("R", (0, 1), cpt={1: 1e-200, 0: 1.0}),
             Variable("C", (0, 1), ("R",), cpt={0: {0: 1.0}, 1: {1: 1e-200, 0: 1.0}})])
    calls = [lambda: m.probability({"C": 1}), lambda: m.distribution("C"),
             lambda: m.distribution("C", method="enumeration"), lambda: m.marginals(), lambda: m.joint(),
             lambda: m.expectation(lambda a: a["C"])]
    for call in calls:
        with pytest.raises(FloatUnderflow, match="float64"):
            call()
    assert m.distribution("R") == {0: 1.0, 1: 1e-200}  # in range: answered


def test_an_exact_entry_below_float_range_in_a_float_model_is_named():
    """Found from outside: a Fraction of 1e-400 beside float rows read as a structural zero."""
    from fractions import Fraction

    t = Fraction(1, 10 ** 400)
    m = SCM([Variable("A", (0, 1), cpt={0: 1 - t, 1: t}), Variable("B", (0, 1), cpt={0: .25, 1: .75})])
    for call in (lambda: m.probability({"A": 1}), lambda: m.distribution("A"), lambda: m.marginals(),
                 lambda: m.probability({"A": 1}, method="enumeration"), lambda: m.to_exact().to_float()):
        with pytest.raises(FloatUnderflow, match="float64"):
            call()
    assert m.to_exact().probability({"A": 1}) == t


def test_a_subnormal_answer_is_named_and_a_large_event_divides_before_scaling():
    """Found from outside (second probe): P(B=1) = 1e-310 came back as a subnormal with lost bits;
    an event of 32 joint values given evidence of 1e-200 came back 1.1e-5 off (1e-120) or as a
    false FloatUnderflow (1e-150), the numerator scaled back below range before the division."""
    A = Variable("A", (0, 1), cpt={0: 1.0, 1: 1e-160})
    B = Variable("B", (0, 1), ("A",), {(0,): {0: 1.0, 1: 0.0}, (1,): {0: 1.0, 1: 1e-150}})
    m = SCM([A, B])
    for call in (lambda: m.probability({"B": 1}), lambda: m.distribution("B"), lambda: m.marginals()):
        with pytest.raises(FloatUnderflow):
            call()
    for p, want in ((1e-24, 1e-120), (1e-30, 1e-150)):
        H = Variable("H", (0, 1), cpt={0: 1.0, 1: 1e-200})
        G = Variable("G", (0, 1), ("H",), {(0,): {0: 1.0, 1: 0.0}, (1,): {0: 0.0, 1: 1.0}})
        X = [Variable(f"X{i}", (0, 1), ("H",), {(0,): {0: 1.0, 1: 0.0}, (1,): {0: 1.0, 1: p}}) for i in range(5)]
        exact = float(Fraction(p) ** 5)
        assert exact == pytest.approx(want, rel=1e-9)
        got = SCM([H, G, *X]).probability({f"X{i}": 1 for i in range(5)}, given={"G": 1})
        assert got == pytest.approx(exact, rel=1e-12, abs=0)
