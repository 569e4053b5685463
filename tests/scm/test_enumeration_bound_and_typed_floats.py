"""Enumeration held to max_table_size, float rows read as typed rationals (to_exact undoes
to_float; one number kind in a symbolic model with a float row), and the wording of
describe()/repr and of TableTooLarge."""

from __future__ import annotations

import re
from fractions import Fraction as F

import pytest
import sympy

from bayes_agent import MAX_TABLE_SIZE, SCM, TableTooLarge, Variable, bernoulli
from bayes_agent.scm.generate import chain_scm, random_scm

YN = (0, 1)


# --- 1. enumeration refuses a walk above max_table_size before walking --------------------------

def test_enumeration_refuses_a_walk_past_the_default_bound_at_once(monkeypatch):
    """max_table_size=None bounds a walk by MAX_WALK (2**20: chain_scm(40)'s X39 would walk 2**40);
    lowered here so that a broken check walks 2**12 assignments instead of hanging."""
    from bayes_agent.scm import queries

    assert queries.MAX_WALK == 2 ** 20 < MAX_TABLE_SIZE["exact"]
    monkeypatch.setattr(queries, "MAX_WALK", 2 ** 11)
    with pytest.raises(TableTooLarge, match=r"method='enumeration' walks all 4\.1e\+03 assignments of the "
                                            r"12 variables it sums over, above 2\.05e\+03, the bound on a walk when the model sets no "
                                            r"max_table_size") as e:
        chain_scm(12).distribution("X11", method="enumeration")
    assert e.value.size == 2 ** 12 and e.value.width == 11
    assert chain_scm(11).distribution("X10", method="enumeration") == chain_scm(11).distribution("X10")
    monkeypatch.undo()
    with pytest.raises(TableTooLarge, match=r"walks all 2\.1e\+06 assignments .*above 1\.05e\+06, the bound on a walk"):
        chain_scm(21).distribution("X20", method="enumeration")  # 2**21 walked, over 2**20


@pytest.mark.parametrize("ask, walked", [
    (lambda m: m.probability({"X11": 1}, method="enumeration"), 11),  # X11 fixed by the event
    (lambda m: m.distribution("X11", method="enumeration"), 12),
    (lambda m: m.probability({"X0": 1}, given={"X11": 1}, method="enumeration"), 11),
])
def test_enumeration_keeps_the_models_max_table_size(ask, walked):
    """The bound is 16; enumeration's walk over a 12-variable chain is refused before it starts."""
    m = SCM(chain_scm(12).variables, max_table_size=16)
    with pytest.raises(TableTooLarge, match=rf"walks all {re.escape(f'{2 ** walked:.3g}')} assignments of the {walked} "
                                            rf"variables .*max_table_size=16; use method='elimination'") as e:
        ask(m)
    assert e.value.size == 2 ** walked
    # the count is what the walk visits: variables fixed by the event, the evidence or do() are
    # walked at one value, so the same query under do(X6) walks X7..X10 only (2**4 = 16: allowed)
    assert m.probability({"X11": 1}, do={"X6": 1}, method="enumeration") == \
        m.probability({"X11": 1}, do={"X6": 1})
    assert SCM(chain_scm(4).variables, max_table_size=16).distribution("X3", method="enumeration") == \
        chain_scm(4).distribution("X3")  # 2**4 values of X0..X3: at the bound, allowed


# --- 2. float rows come back as the rationals they were typed as ----------------------------------

def test_bernoulli_of_a_float_third_is_thirds_in_exact_arithmetic():
    # 1 - 1/3 is 0.6666666666666667, one rounding away from 2/3's float
    assert SCM([Variable("a", YN, cpt=bernoulli(1 / 3))]).to_exact().cpt("a") == {(): {0: F(2, 3), 1: F(1, 3)}}
    sevenths = SCM([Variable("a", (0, 1, 2), cpt={0: 1 / 7, 1: 1 / 7, 2: 5 / 7})]).to_exact().cpt("a")[()]
    assert sevenths == {0: F(1, 7), 1: F(1, 7), 2: F(5, 7)}


@pytest.mark.parametrize("seed", range(40))
def test_to_exact_undoes_to_float_on_models_with_small_integer_rows(seed):
    m = random_scm(6, seed=seed, max_parents=2, domain_sizes=(1, 2, 3), zeros=True)
    back = m.to_float().to_exact()
    assert {n: back.cpt(n) for n in m.names} == {n: m.cpt(n) for n in m.names}


# --- 3. a symbolic model with a float row answers in one form and one number kind ----------------

def _symbolic_with_a_float_row() -> SCM:
    a = sympy.Symbol("a")
    return SCM([Variable("x", YN, cpt=bernoulli(a)),
                Variable("y", YN, ("x",), cpt={(0,): {0: 0.3, 1: 0.7}, (1,): {0: F(1, 2), 1: F(1, 2)}})])


def test_a_symbolic_model_reads_its_float_rows_as_typed_rationals():
    m = _symbolic_with_a_float_row()
    a = sympy.Symbol("a")
    assert m.cpt("y")[(0,)] == {0: sympy.Rational(3, 10), 1: sympy.Rational(7, 10)}
    want = {0: sympy.Rational(3, 10) + a / 5, 1: sympy.Rational(7, 10) - a / 5}
    for got in (m.marginals()["y"], m.distribution("y"), m.distribution("y", method="enumeration")):
        assert got == want  # structurally equal: no float noise, no normaliser left over
    at0 = {0: sympy.Rational(3, 10), 1: sympy.Rational(7, 10)}
    for got in (m.distribution("y", given={"x": 0}), m.marginals(given={"x": 0})["y"],
                m.distribution("y", do={"x": 0}), m.marginals(do={"x": 0})["y"]):
        assert got == at0 and all(isinstance(v, sympy.Rational) for v in got.values())


def test_floats_inside_a_symbolic_entry_are_read_the_same_way():
    a = sympy.Symbol("a")
    m = SCM([Variable("x", YN, cpt={0: 0.3 * a, 1: 1 - 0.3 * a})])
    assert m.cpt("x")[()] == {0: 3 * a / 10, 1: 1 - 3 * a / 10}
    assert not any(v.atoms(sympy.Float) for v in m.distribution("x").values())


def test_a_plain_float_beside_a_symbol_is_read_as_typed():
    a = sympy.Symbol("a")
    m = SCM([Variable("x", (0, 1, 2), cpt={0: 1 / 3, 1: a, 2: sympy.Rational(2, 3) - a})])
    assert m.cpt("x")[()] == {0: sympy.Rational(1, 3), 1: a, 2: sympy.Rational(2, 3) - a}
    assert m.marginals()["x"] == m.cpt("x")[()]  # the row sums to exactly 1: nothing to divide by
    third = SCM([Variable("x", YN, cpt={0: (1 / 3) * a, 1: 1 - (1 / 3) * a})])  # -0.333…*a: a negative float
    assert third.cpt("x")[()] == {0: a / 3, 1: 1 - a / 3} and third.marginals()["x"] == {0: a / 3, 1: 1 - a / 3}


# --- 4. messages and names -------------------------------------------------------------------------

def test_table_too_large_blames_density_only_when_elimination_grows_a_table():
    one = SCM([Variable("p", YN, cpt=bernoulli("1/2"))], max_table_size=1)
    with pytest.raises(TableTooLarge, match=r"a table of about 2 entries .* over 1 variable\), above "
                                            r"max_table_size=1; a mechanism's own table is that large") as e:
        one.distribution("p")
    assert "dense" not in str(e.value)
    # a ring of children over three-valued roots: elimination builds tables larger than any mechanism
    roots = [Variable(f"R{i}", (0, 1, 2), cpt={0: F(1, 3), 1: F(1, 3), 2: F(1, 3)}) for i in range(8)]
    kids = [Variable(f"C{i}", YN, (f"R{i}", f"R{(i + 1) % 8}"), cpt={(r, s): bernoulli("1/3") for r in range(3)
                                                                   for s in range(3)}) for i in range(8)]
    with pytest.raises(TableTooLarge, match="too densely connected"):
        SCM([*roots, *kids], max_table_size=20).probability({f"C{i}": 1 for i in range(8)})


def test_names_that_are_not_identifiers_are_quoted_in_describe_and_repr():
    m = SCM([Variable("1", YN, cpt=bernoulli("1/2")),
             Variable("my var", YN, ("1",), cpt={0: bernoulli("1/2"), 1: bernoulli("1/3")}),
             Variable("c", YN, ("my var",), cpt={0: bernoulli("1/2"), 1: bernoulli("1/3")})])
    assert repr(m) == "SCM(['1', 'my var'<-('1'), c<-('my var')])"
    text = m.describe()
    assert "'1' in [0, 1]\n    P('1') = {0: 1/2, 1: 1/2}" in text
    assert "'my var' in [0, 1]  <- '1'" in text and "P(c | 'my var'=1) = {0: 2/3, 1: 1/3}" in text
    assert repr(m.do({"my var": 1})).endswith("do={'my var': 1})")
    assert "[do('my var'=1)" in m.do({"my var": 1}).describe()
