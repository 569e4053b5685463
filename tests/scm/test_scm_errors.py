"""Every bad call into the SCM engine and the teaching models raises the project's error, with a
message that names the problem, before any arithmetic."""

from __future__ import annotations

import re
from fractions import Fraction as F

import pytest
import sympy

from bayes_agent import (SCM, FireEngineParameters, IceCreamMechanisms, Variable, bernoulli, climate_row,
                         fire_engine_model, ice_cream_model, passive_vs_experiment, point_mass,
                         pooled_ice_cream_model)
from bayes_agent.errors import BayesAgentError, InvalidArgument, TableTooLarge, ZeroEvidence
from bayes_agent.scm.generate import chain_scm, polytree_scm, random_scm, windowed_scm

YN = (False, True)


def chain() -> SCM:
    return SCM([
        Variable("A", YN, cpt=bernoulli(F(1, 2))),
        Variable("B", YN, ("A",), {True: bernoulli(F(1, 3)), False: bernoulli(0)}),
        Variable("C", ("lo", "hi"), ("B",), {True: {"hi": 1}, False: {"lo": 1}}),
    ])


def symbolic() -> SCM:
    return SCM([Variable("A", YN, cpt=bernoulli(sympy.Symbol("p")))])


BAD = [
    # --- building variables
    ("empty name", lambda: Variable("", YN, cpt=bernoulli(F(1, 2))), InvalidArgument, "non-empty string"),
    ("empty domain", lambda: Variable("A", (), cpt={}), InvalidArgument, "domain is empty"),
    ("string domain", lambda: Variable("A", "ab", cpt={}), InvalidArgument, "sequence of values"),
    ("repeated value", lambda: Variable("A", (1, 1), cpt={1: 1}), InvalidArgument, "repeats a value"),
    ("unhashable value", lambda: Variable("A", ([1], [2]), cpt={}), InvalidArgument, "hashable"),
    ("self parent", lambda: Variable("A", YN, ("A",), cpt={}), InvalidArgument, "itself as a parent"),
    ("repeated parent", lambda: Variable("A", YN, ("B", "B"), cpt={}), InvalidArgument, "repeat a name"),
    ("cpt not mapping", lambda: Variable("A", YN, cpt=[0.5, 0.5]), InvalidArgument, "CPT must be a mapping"),
    # --- building models
    ("no variables", lambda: SCM([]), InvalidArgument, "at least one variable"),
    ("not variables", lambda: SCM(["A"]), InvalidArgument, "Variable objects"),
    ("duplicate names", lambda: SCM([Variable("A", YN, cpt=bernoulli(0)), Variable("A", YN, cpt=bernoulli(0))]),
     InvalidArgument, "two variables are named 'A'"),
    ("unknown parent", lambda: SCM([Variable("A", YN, ("Q",), {True: bernoulli(0), False: bernoulli(0)})]),
     InvalidArgument, "unknown parent 'Q'"),
    ("cycle", lambda: SCM([
        Variable("A", YN, ("B",), {True: bernoulli(0), False: bernoulli(0)}),
        Variable("B", YN, ("C",), {True: bernoulli(0), False: bernoulli(0)}),
        Variable("C", YN, ("A",), {True: bernoulli(0), False: bernoulli(0)}),
    ]), InvalidArgument, "has a cycle: A -> C -> B -> A"),
    ("missing row", lambda: SCM([Variable("A", YN, cpt=bernoulli(0)),
                                 Variable("B", YN, ("A",), {True: bernoulli(0)})]),
     InvalidArgument, "no row for A=False"),
    ("row key outside parent domain", lambda: SCM([
        Variable("A", YN, cpt=bernoulli(0)),
        Variable("B", YN, ("A",), {True: bernoulli(0), False: bernoulli(0), 7: bernoulli(0)})]),
     InvalidArgument, "outside its domain"),
    ("named row value outside parent domain", lambda: SCM([  # in the form written, not as (3, 'y')
        Variable("A", (0, 1), cpt={0: F(1, 2), 1: F(1, 2)}), Variable("B", ("x", "y"), cpt={"x": 1}),
        Variable("C", YN, ("A", "B"), [({"A": a, "B": b}, bernoulli(0)) for a in (0, 3) for b in "xy"])]),
     InvalidArgument, re.escape("the row for {'A': 3, 'B': 'x'} gives parent 'A' the value 3, outside its domain (0, 1)")),
    ("row key wrong arity", lambda: SCM([
        Variable("A", YN, cpt=bernoulli(0)), Variable("C", YN, cpt=bernoulli(0)),
        Variable("B", YN, ("A", "C"), {True: bernoulli(0)})]),
     InvalidArgument, "must be a tuple of values for the parents"),
    ("value outside domain in row", lambda: SCM([Variable("A", YN, cpt={True: F(1, 2), "maybe": F(1, 2)})]),
     InvalidArgument, "'maybe' is outside the domain"),
    ("negative entry", lambda: SCM([Variable("A", YN, cpt={True: F(3, 2), False: F(-1, 2)})]),
     InvalidArgument, r"P\(A=False\) = -1/2 is negative"),
    ("row sums to less", lambda: SCM([Variable("A", YN, cpt={True: F(1, 3), False: F(1, 3)})]),
     InvalidArgument, "sum to 2/3, not 1"),
    ("float row sums to more", lambda: SCM([Variable("A", YN, cpt={True: 0.6, False: 0.6})]),
     InvalidArgument, "not 1"),
    ("symbolic row not one", lambda: SCM([Variable("A", YN, cpt={True: sympy.Symbol("p"), False: F(1, 2)})]),
     InvalidArgument, "not 1"),
    ("nan entry", lambda: SCM([Variable("A", YN, cpt={True: float("nan"), False: 0.5})]),
     InvalidArgument, "finite"),
    ("inf entry", lambda: SCM([Variable("A", YN, cpt={True: float("inf"), False: 0.5})]),
     InvalidArgument, "finite"),
    ("bool entry", lambda: SCM([Variable("A", YN, cpt={True: True, False: False})]),
     InvalidArgument, "got the bool"),
    ("text entry", lambda: SCM([Variable("A", YN, cpt={True: "half", False: "1/2"})]),
     InvalidArgument, "'half' is not a number"),
    ("code is never evaluated", lambda: SCM([Variable("A", YN, cpt={True: "__import__('os')", False: 0})]),
     InvalidArgument, "is not a number"),
    ("row not mapping", lambda: SCM([Variable("A", YN, cpt=bernoulli(0)),
                                     Variable("B", YN, ("A",), {True: [1, 0], False: bernoulli(0)})]),
     InvalidArgument, "row must be a mapping"),
    ("bernoulli text", lambda: bernoulli("lots"), InvalidArgument, "not a number"),
    ("point mass outside", lambda: point_mass(3, (1, 2)), InvalidArgument, "not in the domain"),
    # --- queries
    ("unknown query variable", lambda: chain().probability({"Q": True}), InvalidArgument, "unknown variable 'Q'"),
    ("query value outside domain", lambda: chain().probability({"C": "mid"}), InvalidArgument,
     "C='mid' is outside the domain"),
    ("unknown evidence variable", lambda: chain().probability({"A": True}, given={"Z": 1}), InvalidArgument,
     "unknown variable 'Z'"),
    ("evidence value outside domain", lambda: chain().distribution("A", given={"B": 2}), InvalidArgument,
     "B=2 is outside the domain"),
    ("unknown do variable", lambda: chain().do(Z=True), InvalidArgument, "unknown variable 'Z'"),
    ("do value outside domain", lambda: chain().probability({"A": True}, do={"C": "mid"}), InvalidArgument,
     "C='mid' is outside the domain"),
    ("do given twice", lambda: chain().do({"A": True}, A=False), InvalidArgument, "given 'A' twice"),
    ("event not mapping", lambda: chain().probability(["A"]), InvalidArgument, "must be a mapping"),
    ("unknown distribution variable", lambda: chain().distribution("Q"), InvalidArgument, "unknown variable"),
    ("unhashable query value", lambda: chain().probability({"A": [1]}), InvalidArgument, "outside the domain"),
    ("mechanism of a non-parent", lambda: chain().mechanism("B", True, {"C": "hi"}), InvalidArgument,
     "not a parent of 'B'"),
    ("mechanism missing parent", lambda: chain().mechanism("B", True), InvalidArgument, "needs values for the parents"),
    ("zero evidence", lambda: chain().probability({"A": True}, given={"B": True, "A": False}), ZeroEvidence,
     "B=True, A=False: it has probability 0"),
    ("zero evidence after do", lambda: chain().distribution("A", do={"B": True}, given={"B": False}),
     ZeroEvidence, r"B=False \(under do\(B=True\)\)"),
    ("zero evidence downstream", lambda: chain().joint(given={"C": "hi", "A": False}), ZeroEvidence,
     "C='hi', A=False"),
    ("sample negative n", lambda: chain().sample(-1), InvalidArgument, "non-negative int"),
    ("sample symbolic", lambda: symbolic().sample(5), InvalidArgument, "substitute values for"),
    ("float of symbolic", lambda: symbolic().to_float(), InvalidArgument, "substitute values for"),
    ("substitute unknown symbol", lambda: symbolic().substitute({"q": F(1, 2)}), InvalidArgument,
     "'q' is not a symbol of this model"),
    ("substitute out of range", lambda: symbolic().substitute({"p": F(3, 2)}), InvalidArgument, "negative"),
    ("expectation of junk", lambda: chain().expectation(lambda a: "x"), InvalidArgument, "not a number"),
    # --- teaching models
    ("fire prior above one", lambda: fire_engine_model(FireEngineParameters(p_fire=F(3, 2))), InvalidArgument,
     r"p_fire must be a probability in \[0, 1\]"),
    ("fire negative false alarm", lambda: fire_engine_model(FireEngineParameters(p_report_given_no_fire=-0.1)),
     InvalidArgument, "p_report_given_no_fire"),
    ("ice p_sun above one", lambda: ice_cream_model(F(5, 4)), InvalidArgument, r"p_sun must be a probability"),
    ("ice p_sun text", lambda: ice_cream_model("sunny"), InvalidArgument, "'sunny' is not a number"),
    ("ice direct effect too big", lambda: ice_cream_model(F(1, 2), IceCreamMechanisms(direct_effect=F(1, 2))),
     InvalidArgument, "direct_effect 1/2 takes P\\(ice | sun=True, shorts\\) to 6/5"),
    ("pooled weights mismatch", lambda: pooled_ice_cream_model({"a": F(1, 2)}, {"b": 1}), InvalidArgument,
     "exactly the climates"),
    ("pooled empty", lambda: pooled_ice_cream_model({}), InvalidArgument, "non-empty mapping"),
    # --- the generators (an empty domain used to loop forever looking for a row with weight)
    ("chain domain 0", lambda: chain_scm(3, domain_size=0), InvalidArgument, "domain size must be a positive int, got 0"),
    ("chain domain 1.5", lambda: chain_scm(3, domain_size=1.5), InvalidArgument, "got 1.5"),
    ("polytree domain -1", lambda: polytree_scm(3, domain_size=-1), InvalidArgument, "got -1"),
    ("windowed domain 0", lambda: windowed_scm(3, window=2, domain_size=0), InvalidArgument, "got 0"),
    ("random domains (0,)", lambda: random_scm(3, domain_sizes=(0,)), InvalidArgument, "got 0"),
    ("random domains ()", lambda: random_scm(3, domain_sizes=()), InvalidArgument, "non-empty sequence"),
    ("random domains 5", lambda: random_scm(3, domain_sizes=5), InvalidArgument, "non-empty sequence"),
    ("random max_parents -1", lambda: random_scm(3, max_parents=-1), InvalidArgument, "max_parents must be an int ≥ 0"),
    ("polytree max_parents -2", lambda: polytree_scm(3, max_parents=-2), InvalidArgument, "max_parents must be an int ≥ 0"),
    ("windowed max_parents 0", lambda: windowed_scm(3, window=2, max_parents=0), InvalidArgument, "max_parents must be an int ≥ 1"),
    ("random edge probability 2", lambda: random_scm(3, edge_probability=2), InvalidArgument, r"edge_probability must be a number in \[0, 1\]"),
    # --- enumeration and its bound
    ("joint past max_table_size", lambda: SCM(chain_scm(20).variables, max_table_size=1000).joint(), TableTooLarge,
     "joint\\(\\) walks all 1.05e\\+06 assignments"),
    ("expectation past max_table_size", lambda: SCM(chain_scm(20).variables, max_table_size=1000).expectation(
        lambda a: a["X1"]), TableTooLarge, "expectation\\(\\) walks all"),
    ("max_table_size set later", lambda: setattr(chain_scm(3), "max_table_size", -5), InvalidArgument,
     "max_table_size must be a number of entries >= 1, got -5"),
    ("a climate without shade", lambda: climate_row(0), InvalidArgument,  # was ZeroEvidence about sun=True
     re.escape("P(sun): 0 must lie strictly between 0 and 1; the row conditions on both sun and no sun")),
    ("a climate without sun", lambda: climate_row(1), InvalidArgument, "P\\(sun\\): 1 must lie strictly"),
    ("a target climate without shade", lambda: passive_vs_experiment({"a": F(1, 2)}, 0, n_max=20), InvalidArgument,
     "target: 0 must lie strictly"),
    ("a 5000-digit probability", lambda: SCM([Variable("A", YN, cpt=bernoulli("1e-5000"))]), InvalidArgument,
     "needs more than 1000 digits"),
]


@pytest.mark.parametrize("call, error, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_call_raises_a_specific_project_error(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert isinstance(info.value, BayesAgentError)


def test_errors_are_value_errors_too():
    """Callers that catch ValueError keep working."""
    with pytest.raises(ValueError):
        chain().probability({"Q": True})
