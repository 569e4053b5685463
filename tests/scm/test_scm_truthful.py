"""Issue 15: the SCM's silent or misleading cases now get a clear error or the right answer."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from bayes_agent import SCM, FloatUnderflow, InvalidArgument, Variable, ZeroEvidence, bernoulli, fire_engine_model

YN = (False, True)


def _sprinkler(wet_cpt) -> SCM:
    return SCM([
        Variable("rain", YN, cpt=bernoulli("1/5")),
        Variable("sprinkler", YN, cpt=bernoulli("1/2")),
        Variable("wet", YN, ("rain", "sprinkler"), wet_cpt),
    ])


# P(wet | rain, sprinkler) by name; the table is deliberately asymmetric in the two parents
WET = {(False, False): "0", (False, True): "1/4", (True, False): "9/10", (True, True): "1"}


def test_cpt_rows_keyed_by_parent_name_cannot_be_mixed_up():
    positional = _sprinkler({k: bernoulli(v) for k, v in WET.items()})
    named = _sprinkler([({"sprinkler": s, "rain": r}, bernoulli(v)) for (r, s), v in WET.items()])
    assert named.cpt("wet") == positional.cpt("wet")
    # by hand: Σ_{r,s} P(r) P(s) P(wet | r, s)
    by_hand = sum(F(v) * (F(1, 5) if r else F(4, 5)) * F(1, 2) for (r, s), v in WET.items())
    assert named.probability({"wet": True}) == positional.probability({"wet": True}) == by_hand
    # the same numbers keyed positionally in the wrong order answer a different question
    swapped = _sprinkler({(s, r): bernoulli(v) for (r, s), v in WET.items()})
    assert swapped.probability({"wet": True}) != by_hand


def test_named_row_must_name_exactly_the_parents():
    with pytest.raises(InvalidArgument, match="must name exactly the parents"):
        _sprinkler([({"rain": True}, bernoulli(1))])


def test_positional_key_in_the_wrong_parent_order_is_an_error_when_domains_tell():
    season = Variable("season", ("summer", "winter"), cpt={"summer": F(1, 2), "winter": F(1, 2)})
    rain = Variable("rain", YN, cpt=bernoulli("1/3"))
    wrong = {(r, s): bernoulli("1/2") for r in YN for s in ("summer", "winter")}  # (rain, season)
    with pytest.raises(InvalidArgument, match=r"does not fit the declared parent order \('season', 'rain'\) "
                                              r"but fits \('rain', 'season'\).*by name"):
        SCM([season, rain, Variable("wet", YN, ("season", "rain"), wrong)])


def test_probability_of_none_is_an_error():
    with pytest.raises(InvalidArgument, match="event must be a mapping.*None"):
        fire_engine_model().probability(None)


def test_boolean_values_count_as_zero_one_in_expectation():
    m = fire_engine_model()
    assert m.expectation(lambda a: a["fire"]) == m.probability({"fire": True})
    assert m.expectation(lambda a: a["fire"], do={"engine": True}) == m.probability({"fire": True})


def test_numbers_in_scm_messages_are_shortened():
    with pytest.raises(InvalidArgument) as info:
        SCM([Variable("A", YN, cpt={True: "1e309", False: 0})])
    assert "≈1e+309" in str(info.value) and len(str(info.value)) < 200


def _rare_pair(p) -> SCM:
    """X → Y with P(X) = p and P(Y | X) = p, P(Y | not X) = 0: P(Y) = p², and P(X | Y) = 1."""
    return SCM([Variable("X", YN, cpt=bernoulli(p)),
                Variable("Y", YN, ("X",), {False: bernoulli(0), True: bernoulli(p)})])


def test_float_evidence_below_the_float_range_names_underflow_where_it_cannot_be_avoided():
    m = _rare_pair(1e-200)  # P(Y) = 1e-400: positive, below float64
    with pytest.raises(FloatUnderflow, match="underflow.*to_exact"):  # enumeration sums P(Y) itself
        m.probability({"X": True}, given={"Y": True}, method="enumeration")
    assert m.to_exact().probability({"X": True}, given={"Y": True}) == 1
    # elimination keeps its tables in range (powers of two taken out), so it answers what exact does
    assert m.probability({"X": True}, given={"Y": True}) == 1.0
    assert m.distribution("X", given={"Y": True}) == {False: 0.0, True: 1.0}
    assert m.marginals(given={"Y": True})["X"] == {False: 0.0, True: 1.0}


def test_elimination_keeps_d_separated_evidence_out_of_the_float_product():
    """41 rare events in a chain: P(evidence) = 1e-400 underflows, but given X1 the rest of the
    evidence is d-separated from X0, so elimination never multiplies it in and answers exactly."""
    out = [Variable("X0", YN, cpt=bernoulli(1e-10))]
    out += [Variable(f"X{i}", YN, (f"X{i - 1}",), {False: bernoulli(1e-10), True: bernoulli(1e-10)})
            for i in range(1, 41)]
    evidence = {f"X{i}": True for i in range(1, 41)}
    assert SCM(out).probability({"X0": True}, given=evidence) == pytest.approx(1e-10, rel=1e-12)
    with pytest.raises(FloatUnderflow):
        SCM(out).probability({"X0": True}, given=evidence, method="enumeration")


def test_float_evidence_of_true_probability_zero_is_still_zero_evidence():
    m = _rare_pair(0.0)
    with pytest.raises(ZeroEvidence, match="it has probability 0"):
        m.distribution("X", given={"Y": True})


def test_no_scm_entry_point_evaluates_text(tmp_path):
    """Every place an SCM takes a number as text: a payload that would leave a file behind if it
    were ever evaluated is refused as "not a number", and no file appears."""
    import sympy

    marker = tmp_path / "marker"
    payload = f"__import__('pathlib').Path({str(marker)!r}).write_text('evaluated')"
    symbolic = SCM([Variable("A", YN, cpt=bernoulli(sympy.Symbol("p", positive=True)))])
    calls = [
        lambda: bernoulli(payload),
        lambda: SCM([Variable("A", YN, cpt={True: payload, False: 0})]),
        lambda: symbolic.substitute({"p": payload}),
        lambda: fire_engine_model().expectation(lambda a: payload),
    ]
    for call in calls:
        with pytest.raises(InvalidArgument, match="is not a number"):
            call()
    with pytest.raises(InvalidArgument, match="is not a symbol of this model"):
        symbolic.substitute({payload: "1/2"})
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["exact", "symbolic"])
def test_numpy_floats_convert_to_the_rational_they_print_as(kind):
    """numpy 2 prints np.float64(0.1) with its type; converting one into exact or symbolic
    arithmetic must still give the rational of the float's shortest repr, 1/10."""
    import numpy as np
    import sympy
    from fractions import Fraction

    from bayes_agent._numbers import convert

    got = convert(np.float64(0.1), kind)
    assert got == (Fraction(1, 10) if kind == "exact" else sympy.Rational(1, 10))


def test_to_exact_reads_float_rows_as_typed_like_as_exact():
    """A float row 1/3, 1/3, 1/3 is the thirds it was typed as in exact arithmetic, as for a
    Mixture (as_exact); three such variables give 37/90, not a 32-digit neighbour of it."""
    from fractions import Fraction

    m = SCM([Variable("a", (0, 1, 2), cpt={0: 1 / 3, 1: 1 / 3, 2: 1 / 3})]).to_exact()
    assert m.cpt("a")[()] == {0: Fraction(1, 3), 1: Fraction(1, 3), 2: Fraction(1, 3)}
    odd = SCM([Variable("a", (0, 1), cpt={0: 0.1234567891, 1: 0.8765432109})]).to_exact().cpt("a")[()]
    assert sum(odd.values()) == 1 and all(isinstance(x, Fraction) for x in odd.values())


def test_to_exact_refuses_symbols_instead_of_returning_a_symbolic_model():
    import sympy

    f = sympy.Symbol("f")
    m = SCM([Variable("fire", (False, True), cpt=bernoulli(f))])
    with pytest.raises(InvalidArgument, match=r"symbol\(s\) f; substitute"):
        m.to_exact()


def test_float32_rows_get_the_same_tolerance_as_in_a_mixture():
    import numpy as np

    row = {0: np.float32(0.1), 1: np.float32(0.2), 2: np.float32(0.7)}  # sums to 0.99999999 in float64
    m = SCM([Variable("a", (0, 1, 2), cpt=row)])
    assert abs(sum(m.cpt("a")[()].values()) - 1) < 1e-15
    with pytest.raises(InvalidArgument, match="sum to"):  # float64 entries keep the tight tolerance
        SCM([Variable("a", (0, 1, 2), cpt={0: 0.1, 1: 0.2, 2: 0.69999999})])


def test_bernoulli_refuses_a_p_outside_the_unit_interval():
    with pytest.raises(InvalidArgument, match=r"bernoulli\(p\) must be a probability in \[0, 1\], got 2"):
        bernoulli(2)


def test_substitute_names_the_value_that_made_a_row_invalid():
    import sympy

    f = sympy.Symbol("f")
    m = SCM([Variable("fire", (False, True), cpt=bernoulli(f))])
    with pytest.raises(InvalidArgument, match=r"substitute\(f=2\): .*negative"):
        m.substitute({f: 2})


def test_a_cpt_list_mixing_named_and_positional_rows_names_the_odd_item():
    with pytest.raises(InvalidArgument, match=r"item \(1, \{0: 1\}\) is not such a pair \(do not mix the two forms\)"):
        SCM([Variable("a", (0, 1)), Variable("b", (0, 1), ("a",), [({"a": 0}, {0: 1}), (1, {0: 1})])])


def test_cpt_list_refusals_say_what_is_wrong_with_the_list():
    parent = Variable("a", (0, 1), cpt={0: F(1, 2), 1: F(1, 2)})
    cases = {
        "a list whose item \\(0, \\{0: 1\\}\\) is not such a pair \\(positional keys go in a mapping": [(0, {0: 1}), (1, {0: 1})],
        "a tuple whose item \\(0, \\{0: 1\\}\\)": ((0, {0: 1}), (1, {0: 1})),
        "\\(1, \\{0: 1\\}\\) is not such a pair \\(do not mix the two forms\\)": [({"a": 0}, {0: 1}), (1, {0: 1})],
        "an empty list": [],
    }
    for message, cpt in cases.items():
        with pytest.raises(InvalidArgument, match=message):
            SCM([parent, Variable("b", (0, 1), ("a",), cpt)])
    with pytest.raises(InvalidArgument, match=r"item 0\.5 is not such a pair \(a root's CPT is one row"):
        SCM([Variable("r", (0, 1), cpt=[0.5, 0.5])])


def test_to_exact_names_the_row_it_cannot_convert():
    import sympy

    m = SCM([Variable("q", (0, 1), cpt={0: 0.5, 1: 0.5}),
             Variable("w", (0, 1), ("q",), {0: {0: sympy.sqrt(2) / 2, 1: 1 - sympy.sqrt(2) / 2}, 1: {0: 1}})])
    with pytest.raises(InvalidArgument, match=r"exact rationals: variable 'w', row q=0: sqrt\(2\)/2 is not an exact rational"):
        m.to_exact()
