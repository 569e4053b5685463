"""The SCM engine: exact enumeration, do() by graph surgery (§2.2), conditioning after surgery,
symbolic and float arithmetic, and property tests on random small DAGs."""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

from bayes_agent import SCM, Variable, bernoulli, point_mass
from bayes_agent.errors import InvalidArgument, ZeroEvidence

YN = (False, True)


def confounded(p_z=F(1, 2)) -> SCM:
    """Z -> X, Z -> Y, X -> Y with hand-checkable numbers."""
    return SCM([
        Variable("Z", YN, cpt=bernoulli(p_z)),
        Variable("X", YN, ("Z",), {True: bernoulli(F(3, 4)), False: bernoulli(F(1, 4))}),
        Variable("Y", YN, ("Z", "X"), {
            (True, True): bernoulli(F(9, 10)), (True, False): bernoulli(F(7, 10)),
            (False, True): bernoulli(F(3, 10)), (False, False): bernoulli(F(1, 10)),
        }),
    ])


# ---------------------------------------------------------------------------------------------
# exact values, computed by hand


def test_observational_conditional_by_hand():
    m = confounded()
    # P(X=1) = 1/2*3/4 + 1/2*1/4 = 1/2; P(Y=1, X=1) = 1/2*3/4*9/10 + 1/2*1/4*3/10 = 27/80 + 3/80
    assert m.probability({"X": True}) == F(1, 2)
    assert m.probability({"Y": True, "X": True}) == F(30, 80)
    assert m.probability({"Y": True}, given={"X": True}) == F(3, 4)


def test_interventional_is_adjustment_over_the_confounder():
    m = confounded()
    # P(Y | do(X=1)) = sum_z P(z) P(Y | z, X=1) = 1/2*9/10 + 1/2*3/10 = 3/5, not 3/4
    assert m.probability({"Y": True}, do={"X": True}) == F(3, 5)
    assert m.probability({"Y": True}, do={"X": False}) == F(2, 5)
    assert m.probability({"Y": True}, given={"X": False}) == F(1, 4)


def test_results_are_exact_fractions():
    value = confounded().probability({"Y": True}, given={"X": True})
    assert type(value) is F


def test_joint_sums_to_one_and_has_every_assignment():
    m = confounded()
    joint = m.joint()
    assert len(joint) == 8
    assert sum(joint.values()) == 1
    assert joint[(True, True, True)] == F(1, 2) * F(3, 4) * F(9, 10)


def test_distribution_and_marginals():
    m = confounded()
    dist = m.distribution("Y", given={"X": True})
    assert dist == {False: F(1, 4), True: F(3, 4)}
    margs = m.marginals()
    assert set(margs) == {"Z", "X", "Y"}
    assert all(sum(d.values()) == 1 for d in margs.values())


def test_expectation():
    m = confounded()
    assert m.expectation(lambda a: int(a["Y"]) + int(a["X"])) == m.probability({"Y": True}) + F(1, 2)


# ---------------------------------------------------------------------------------------------
# surgery semantics (the paper's, not Pyro's split site)


def test_do_makes_the_intervened_value_certain():
    m = confounded()
    after = m.do(X=False)
    assert after.distribution("X") == {False: 1, True: 0}
    assert after.probability({"X": False}) == 1
    assert after.parents("X") == ()
    assert m.parents("X") == ("Z",)       # the original model is untouched
    assert after.intervened == {"X": False}


def test_do_leaves_the_parents_marginal_but_conditioning_moves_it():
    m = confounded(F(1, 3))
    assert m.distribution("Z", do={"X": True}) == m.distribution("Z")
    # observing X=1 is evidence about Z; imposing X=1 is not (§2.2: P(p | do(a)) = P(p))
    assert m.probability({"Z": True}, given={"X": True}) != F(1, 3)
    assert m.probability({"Z": True}, do={"X": True}) == F(1, 3)


def test_no_unintervened_copy_survives():
    """Pyro's do leaves a fresh site named X drawing from the old mechanism (for counterfactuals);
    after the paper's surgery the variable X simply is x*, in the joint and in samples."""
    after = confounded().do(X=True)
    assert set(after.names) == {"Z", "X", "Y"}
    joint = after.joint()
    assert all(p == 0 for (z, x, y), p in joint.items() if x is False)
    samples = after.sample(500, seed=3)
    assert bool(samples["X"].all())


def test_conditioning_after_intervention():
    m = confounded()
    # P(Y | do(X=1), Z=1) is the mechanism entry P(Y | Z=1, X=1)
    assert m.probability({"Y": True}, do={"X": True}, given={"Z": True}) == F(9, 10)
    # conditioning on a descendant of X after surgery: P(Z | do(X=1), Y=1) via Bayes on the cut graph
    num = F(1, 2) * F(9, 10)
    den = num + F(1, 2) * F(3, 10)
    assert m.probability({"Z": True}, do={"X": True}, given={"Y": True}) == num / den
    # the same through the explicit post-intervention model
    assert m.do(X=True).probability({"Z": True}, given={"Y": True}) == num / den


def test_conditioning_on_the_opposite_of_an_intervention_is_zero_evidence():
    with pytest.raises(ZeroEvidence, match=r"X=True.*do\(X=False\)"):
        confounded().probability({"Y": True}, do={"X": False}, given={"X": True})


def test_multiple_interventions_simultaneous_equals_chained():
    m = confounded()
    both = m.do({"X": True, "Z": False})
    chained = m.do(X=True).do(Z=False)
    assert both.joint() == chained.joint()
    assert both.probability({"Y": True}) == F(3, 10)
    assert m.probability({"Y": True}, do={"X": True, "Z": False}) == F(3, 10)


def test_intervening_twice_on_the_same_variable_keeps_the_last():
    m = confounded().do(X=True).do(X=False)
    assert m.distribution("X") == {False: 1, True: 0}
    assert m.intervened == {"X": False}


def test_structure_queries():
    m = confounded()
    assert m.order.index("Z") < m.order.index("X") < m.order.index("Y")
    assert m.ancestors("Y") == {"Z", "X"}
    assert m.descendants("Z") == {"X", "Y"}
    assert m.children("X") == ("Y",)
    assert m.mechanism("Y", True, {"Z": False, "X": True}) == F(3, 10)
    assert "do(X=True)" in m.do(X=True).describe()


def test_point_mass_and_bernoulli():
    assert point_mass("b", ("a", "b", "c")) == {"a": 0, "b": 1, "c": 0}
    assert bernoulli("1/3") == {False: F(2, 3), True: F(1, 3)}


def test_rows_may_omit_zero_entries_and_single_parent_keys_may_be_bare():
    m = SCM([
        Variable("A", ("x", "y"), cpt={"x": F(1, 4), "y": F(3, 4)}),
        Variable("B", (0, 1, 2), ("A",), {"x": {0: 1}, ("y",): {1: F(1, 2), 2: F(1, 2)}}),
    ])
    assert m.distribution("B") == {0: F(1, 4), 1: F(3, 8), 2: F(3, 8)}


def test_string_and_int_entries_are_parsed_exactly():
    m = SCM([Variable("A", YN, cpt={False: "0.1", True: "9/10"})])
    assert m.probability({"A": False}) == F(1, 10)


# ---------------------------------------------------------------------------------------------
# symbols and floats


def test_symbolic_cpt_gives_closed_forms_that_simplify():
    p, a, b = sympy.symbols("p a b", positive=True)
    m = SCM([
        Variable("Z", YN, cpt=bernoulli(p)),
        Variable("X", YN, ("Z",), {True: bernoulli(a), False: bernoulli(b)}),
    ])
    posterior = m.probability({"Z": True}, given={"X": True})
    assert sympy.simplify(posterior - p * a / (p * a + (1 - p) * b)) == 0
    assert m.probability({"Z": True}, do={"X": True}) == p        # simplified to the bare prior
    assert sympy.simplify(m.probability({"X": True}) - (p * a + (1 - p) * b)) == 0
    assert m.free_symbols == {p, a, b}


def test_symbolic_substitution_matches_the_exact_model():
    p = sympy.Symbol("p", positive=True)
    sym = confounded(p)
    exact = confounded(F(1, 3))
    sub = sym.substitute({"p": F(1, 3)})
    q = {"Y": True}
    assert sub.probability(q, given={"X": True}) == exact.probability(q, given={"X": True})
    closed = sym.probability(q, given={"X": True})
    assert sympy.Rational(exact.probability(q, given={"X": True})) == closed.subs(p, sympy.Rational(1, 3))


def test_a_float_substituted_for_a_symbol_is_a_python_float():
    """substitute({"p": 0.5}) gave sympy Floats (0.500000000000000) in the CPTs and answers."""
    import json

    p = sympy.Symbol("p", positive=True)
    sub = confounded(p).substitute({"p": 0.25})
    answer = sub.probability({"Y": True}, given={"X": True})
    assert type(answer) is float and not sub.free_symbols
    assert answer == pytest.approx(float(confounded(F(1, 4)).probability({"Y": True}, given={"X": True})), rel=1e-12)
    json.dumps(sub.marginals())


def test_floats_agree_with_exact():
    exact = confounded(F(2, 7))
    floats = exact.to_float()
    for query in ({"given": {"X": True}}, {"do": {"X": True}}, {"do": {"X": False}, "given": {"Z": True}}):
        e = exact.probability({"Y": True}, **query)
        f = floats.probability({"Y": True}, **query)
        assert type(f) is float
        assert math.isclose(f, float(e), rel_tol=1e-12)


def _answers(m: SCM, do: dict, given: dict | None = None) -> list:
    """Every kind of answer to queries under ``do`` (and ``given``), flattened to its numbers."""
    out = []
    for name in m.names:
        for method in ("elimination", "enumeration"):
            out += m.distribution(name, do=do, given=given, method=method).values()
            out.append(m.probability({name: m.domain(name)[0]}, do=do, given=given, method=method))
        out += m.do(do).distribution(name).values()
    out += [x for d in m.marginals(do=do, given=given).values() for x in d.values()]
    out += m.joint(do=do, given=given).values()
    out.append(m.expectation(lambda a: a[m.names[0]] == m.domain(m.names[0])[0], do=do, given=given))
    return out


def test_every_answer_is_in_the_models_number_kind():
    """A float model answered Fractions when every mechanism a query touched was replaced by do
    (point masses are exact), and a symbolic one answered Fractions for a query touching only its
    exact mechanisms: every answer comes in the model's own kind."""
    import json

    floats = confounded(F(2, 7)).to_float()
    for do in ({"X": True}, {"Z": False, "X": True}, {"Z": True, "X": False, "Y": True}):
        answers = _answers(floats, do)
        assert answers and all(type(x) is float for x in answers), answers
        json.dumps(floats.marginals(do=do))
    p = sympy.Symbol("p", positive=True)
    symbolic = SCM([Variable("A", YN, cpt=bernoulli(p)),
                    Variable("C", ("v", "w"), ("A",), {False: {"v": F(1, 2), "w": F(1, 2)},
                                                       True: {"v": F(1, 3), "w": F(2, 3)}}),
                    Variable("D", ("z",), ("C",), {"v": {"z": 1}, "w": {"z": 1}})])
    for do, given in (({"A": True}, None), ({"A": True, "C": "v"}, None), ({}, {"C": "v"})):
        answers = _answers(symbolic, do, given)
        assert all(isinstance(x, sympy.Expr) for x in answers), answers
    assert symbolic.distribution("C", do={"A": True}) == {"v": sympy.Rational(1, 3), "w": sympy.Rational(2, 3)}
    exact = confounded()
    assert all(type(x) is F for x in _answers(exact, {"Z": True, "X": False, "Y": True}))


def test_float_rows_with_decimal_round_off_are_accepted():
    m = SCM([Variable("A", ("a", "b", "c"), cpt={"a": 0.1, "b": 0.2, "c": 0.7})])
    assert math.isclose(m.probability({"A": "c"}), 0.7)


def test_sampling_is_seeded_and_matches_the_probabilities():
    m = confounded(F(1, 3))
    a = m.sample(40_000, seed=11)
    b = m.sample(40_000, seed=11)
    assert (a["Y"] == b["Y"]).all()
    assert abs(a["Y"].mean() - float(m.probability({"Y": True}))) < 0.015
    sel = a["X"]
    assert abs(a["Y"][sel].mean() - float(m.probability({"Y": True}, given={"X": True}))) < 0.02
    d = m.sample(40_000, seed=5, do={"X": True})
    assert abs(d["Y"].mean() - float(m.probability({"Y": True}, do={"X": True}))) < 0.015
    assert abs(d["Z"].mean() - 1 / 3) < 0.015


@pytest.mark.parametrize("domain", [(0, "a"), (False, "no"), (True, 2), (0.5, 1), ((1, 2), "b"), (0, 1), ("a", "b")])
def test_samples_hold_the_domains_own_values(domain):
    # np.asarray((0, "a")) is a str array ('0'), np.asarray((True, 2)) an int one (1): samples
    # must be the domain's values themselves, so each can be passed back as evidence
    m = SCM([Variable("X", domain, cpt=dict.fromkeys(domain, F(1, 2))),
             Variable("Y", YN, ("X",), dict.fromkeys(domain, bernoulli(F(1, 3))))])
    drawn = m.sample(40, seed=1)["X"].tolist()
    assert set(map(repr, drawn)) == set(map(repr, domain))  # both values drawn, each as typed
    for v in drawn:
        assert m.probability({"Y": True}, given={"X": v}) == F(1, 3)


# ---------------------------------------------------------------------------------------------
# property tests on random small DAGs


@st.composite
def random_scm(draw, positive: bool = False) -> SCM:
    n = draw(st.integers(1, 4))
    sizes = [draw(st.integers(1, 3)) for _ in range(n)]
    low = 1 if positive else 0
    variables = []
    for i in range(n):
        parents = tuple(f"V{j}" for j in range(i) if draw(st.booleans()))
        domain = tuple(range(sizes[i]))
        rows = {}
        keys = [()]
        for p in parents:
            keys = [k + (v,) for k in keys for v in range(sizes[int(p[1:])])]
        for key in keys:
            weights = [draw(st.integers(low, 4)) for _ in domain]
            if sum(weights) == 0:
                weights[draw(st.integers(0, len(domain) - 1))] = 1
            total = sum(weights)
            rows[key] = {v: F(w, total) for v, w in zip(domain, weights)}
        cpt = rows[()] if not parents else rows
        variables.append(Variable(f"V{i}", domain, parents, cpt))
    # shuffle the declaration order so the engine has to sort topologically
    order = draw(st.permutations(variables))
    return SCM(order)


@given(random_scm(), st.data())
def test_probabilities_sum_to_one(m, data):
    assert sum(m.joint().values()) == 1
    name = data.draw(st.sampled_from(m.names))
    target = data.draw(st.sampled_from(m.names))
    value = data.draw(st.sampled_from(m.domain(name)))
    assert sum(m.distribution(target, do={name: value}).values()) == 1
    if m.probability({name: value}) > 0:
        assert sum(m.distribution(target, given={name: value}).values()) == 1


@given(random_scm(), st.data())
def test_after_do_the_value_is_certain(m, data):
    name = data.draw(st.sampled_from(m.names))
    value = data.draw(st.sampled_from(m.domain(name)))
    dist = m.distribution(name, do={name: value})
    assert dist[value] == 1
    assert sum(dist.values()) == 1


@given(random_scm(), st.data())
def test_do_leaves_non_descendants_unchanged(m, data):
    name = data.draw(st.sampled_from(m.names))
    value = data.draw(st.sampled_from(m.domain(name)))
    for other in m.names:
        if other != name and other not in m.descendants(name):
            assert m.distribution(other, do={name: value}) == m.distribution(other)


@given(random_scm(), st.data())
def test_intervening_on_a_root_equals_conditioning_on_it(m, data):
    roots = [n for n in m.names if not m.parents(n)]
    root = data.draw(st.sampled_from(roots))
    value = data.draw(st.sampled_from(m.domain(root)))
    assume(m.probability({root: value}) > 0)
    for target in m.names:
        assert m.distribution(target, do={root: value}) == m.distribution(target, given={root: value})


@given(random_scm(positive=True), st.data())
def test_do_equals_adjustment_for_the_parents(m, data):
    """P(y | do(x)) = sum_pa P(y | x, pa) P(pa): the surgery agrees with the back-door formula."""
    name = data.draw(st.sampled_from(m.names))
    value = data.draw(st.sampled_from(m.domain(name)))
    target = data.draw(st.sampled_from([n for n in m.names if n != name] or [name]))
    parents = m.parents(name)
    keys = [()]
    for p in parents:
        keys = [k + (v,) for k in keys for v in m.domain(p)]
    for y in m.domain(target):
        adjusted = F(0)
        for key in keys:
            pa = dict(zip(parents, key))
            adjusted += m.probability({target: y}, given={**pa, name: value}) * m.probability(pa)
        assert m.probability({target: y}, do={name: value}) == adjusted


@given(random_scm(), st.data())
def test_float_model_agrees_with_exact(m, data):
    name = data.draw(st.sampled_from(m.names))
    value = data.draw(st.sampled_from(m.domain(name)))
    target = data.draw(st.sampled_from(m.names))
    fm = m.to_float()
    exact = m.distribution(target, do={name: value})
    approx = fm.distribution(target, do={name: value})
    for v in exact:
        assert math.isclose(approx[v], float(exact[v]), rel_tol=1e-9, abs_tol=1e-12)


@given(random_scm(), st.data())
def test_zero_probability_evidence_raises(m, data):
    name = data.draw(st.sampled_from(m.names))
    value = data.draw(st.sampled_from(m.domain(name)))
    target = data.draw(st.sampled_from(m.names))
    if m.probability({name: value}) == 0:
        with pytest.raises(ZeroEvidence, match=f"{name}={value!r}"):
            m.distribution(target, given={name: value})
    else:
        assert sum(m.distribution(target, given={name: value}).values()) == 1


def test_sample_checks_its_seed_and_size():
    """Found from outside: seed=None drew different samples each call, -1 / 1.5 / "x" and a huge n
    ended in numpy's bare errors."""
    m = confounded(F(1, 3))
    for seed in (None, -1, 1.5, "x", True):
        with pytest.raises(InvalidArgument, match=r"sample\(seed\)"):
            m.sample(5, seed=seed)
    with pytest.raises(InvalidArgument, match=r"sample\(n\): cannot hold"):
        m.sample(2 ** 70)
    assert (m.sample(50, seed=np.int64(3))["Y"] == m.sample(50, seed=3)["Y"]).all()
