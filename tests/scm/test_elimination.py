"""Variable elimination against enumeration, the test oracle: same numbers, same errors.

Random SCMs (random DAGs, domains of 2-3 values, zeros in the mechanisms) with random queries:
do, conditioning, conditioning after do, events of one or two variables. The default profile
runs 60 models; ``--hypothesis-profile=thorough`` runs the issue's 1,000.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, strategies as st

from bayes_agent import SCM, InvalidArgument, Variable, ZeroEvidence, bernoulli
from bayes_agent.scm.elimination import Factor, contract, elimination_order
from bayes_agent.scm.generate import chain_scm, polytree_scm, random_scm


def _query(model: SCM, rng: random.Random) -> tuple[str, dict]:
    names = list(model.names)
    pick = lambda k: {n: rng.choice(model.domain(n)) for n in rng.sample(names, min(k, len(names)))}  # noqa: E731
    do = pick(rng.randint(0, 2))
    given = pick(rng.randint(0, 2))
    if rng.random() < 0.5:
        return "distribution", {"name": rng.choice(names), "given": given, "do": do}
    return "probability", {"event": pick(rng.randint(1, 2)), "given": given, "do": do}


def _ask(model: SCM, kind: str, query: dict, method: str):
    try:
        if kind == "distribution":
            return getattr(model, kind)(query["name"], given=query["given"], do=query["do"], method=method)
        return model.probability(query["event"], given=query["given"], do=query["do"], method=method)
    except ZeroEvidence as e:
        return ("ZeroEvidence", str(e))


def _close(a, b) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return a == b
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-300)


@given(seed=st.integers(0, 2**32 - 1))
def test_elimination_equals_enumeration_on_random_scms(seed):
    rng = random.Random(seed)
    model = random_scm(rng.randint(1, 7), seed=seed, max_parents=3, domain_sizes=(2, 3), zeros=True)
    floats = model.to_float()
    for _ in range(4):
        kind, query = _query(model, rng)
        exact = _ask(model, kind, query, "enumeration")
        assert _ask(model, kind, query, "elimination") == exact  # Fractions: exactly equal
        assert _close(_ask(floats, kind, query, "elimination"), exact)  # floats: to 1e-12


def test_elimination_order_is_min_fill():
    # a star X - {A, B, C}: eliminating a leaf adds no edge, eliminating the hub adds three
    order = elimination_order([("A", "X"), ("B", "X"), ("C", "X")])
    assert order[-1] == "X" or order.index("X") == len(order) - 2
    assert order[0] in "ABC"
    assert elimination_order([("A", "B"), ("B", "C")], keep=("C",)) == ["A", "B"]


def test_contract_multiplies_and_sums_out():
    f = Factor(("A", "B"), np.array([[F(1, 2), F(1, 2)], [F(0), F(1)]], dtype=object))
    g = Factor(("B", "C"), np.array([[F(1, 3), F(0)], [F(1, 4), F(3, 4)]], dtype=object))
    h = contract([f, g], ("C", "A"))
    by_hand = [[sum(f.values[a, b] * g.values[b, c] for b in (0, 1)) for a in (0, 1)] for c in (0, 1)]
    assert h.scope == ("C", "A") and h.values.tolist() == by_hand
    assert contract([f, g], ()).values[()] == sum(sum(row) for row in by_hand)


def test_long_chain_is_answered_exactly():
    """N = 200 binary chain: enumeration would need 2^199 terms; elimination is exact."""
    m = chain_scm(200, seed=3)
    p = m.probability({"X199": 1}, do={"X0": 1})
    # the chain's marginal is the product of 2x2 transition matrices: compute it directly
    row = {0: F(0), 1: F(1)}
    for i in range(1, 200):
        cpt = m.cpt(f"X{i}")
        row = {v: sum(row[u] * cpt[(u,)][v] for u in (0, 1)) for v in (0, 1)}
    assert p == row[1]
    assert m.to_float().probability({"X199": 1}, do={"X0": 1}) == pytest.approx(float(p), rel=1e-12)


def test_polytree_and_random_dag_conditioning_after_do_match_enumeration():
    for model in (polytree_scm(9, seed=5), random_scm(9, seed=6, max_parents=3)):
        given = {model.names[-1]: 1}
        do = {model.names[2]: 0}
        for name in model.names[:4]:
            assert model.distribution(name, given=given, do=do) == \
                model.distribution(name, given=given, do=do, method="enumeration")


def test_d_separated_evidence_of_probability_zero_is_still_refused():
    # A and B are independent roots; B=True is impossible, so P(A | B=True) is undefined
    m = SCM([Variable("A", (False, True), cpt=bernoulli("1/2")), Variable("B", (False, True), cpt=bernoulli(0))])
    for method in ("elimination", "enumeration"):
        with pytest.raises(ZeroEvidence, match="B=True: it has probability 0"):
            m.distribution("A", given={"B": True}, method=method)


def test_unknown_method_is_refused():
    with pytest.raises(InvalidArgument, match="method must be one of"):
        chain_scm(3).probability({"X0": 1}, method="sampling")
