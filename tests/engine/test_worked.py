"""The paper's worked examples as computed data (§4 two-action, §3.1 invoice dialogue)."""

from fractions import Fraction as F

import pytest

from bayes_agent import Gate, InvalidArgument, ZeroEvidence, derive_two_action, invoice_dialogue, invoice_updates
from bayes_agent.worked import TWO_ACTION_KERNELS, TWO_ACTION_PRIOR


def test_section_4_3_exact_values():
    d = derive_two_action()
    assert d.policy_b == F(69, 200) and d.action == "A"
    assert d.w1["p_B"] == F(7, 20)
    assert d.w1_naive["p_B"] == F(14, 131)
    assert d.w2["p_B"] == F(56, 69)
    assert d.w2_naive["p_B"] == F(112, 229)
    # the paper's rounded decimals
    assert (round(float(d.w1_naive["p_B"]), 4), round(float(d.w2["p_B"]), 4), round(float(d.w2_naive["p_B"]), 4)) == (0.1069, 0.8116, 0.4891)
    assert d.L2_do == {"p_B": F(4, 5), "p_A": F(1, 10)}
    assert d.L2_obs == {"p_B": F(4, 25), "p_A": F(9, 100)}
    assert d.history.gates == (Gate.AGENT, Gate.WORLD)


def test_both_updaters_side_by_side_are_the_sequential_traces():
    d = derive_two_action()
    assert d.trace_do == [d.w1, d.w2] and d.trace_obs == [d.w1_naive, d.w2_naive]


def test_custom_prior_and_kernels_change_the_decision():
    d = derive_two_action({"p_B": "0.6", "p_A": "0.4"}, {**TWO_ACTION_KERNELS, "p_A": {"A": "1/2", "B": "1/2"}})
    assert d.policy_b == F(3, 5) * F(4, 5) + F(2, 5) * F(1, 2) and d.action == "B"
    assert d.w1 == {"p_B": F(3, 5), "p_A": F(2, 5)}
    naive = F(3, 5) * F(4, 5) / (F(3, 5) * F(4, 5) + F(2, 5) * F(1, 2))
    assert d.w1_naive["p_B"] == naive


def test_text_latex_and_dict_show_the_same_numbers():
    d = derive_two_action()
    text = d.text()
    for s in ("69/200", "0.3450", "14/131", "0.1069", "56/69", "0.8116", "112/229", "0.4891"):
        assert s in text
    tex = d.latex()
    assert tex.startswith("\\begin{align*}") and "\\frac{69}{200}" in tex and "\\frac{112}{229}" in tex
    js = d.to_dict()
    assert js["pi_B_h0"] == {"exact": "69/200", "float": 0.345}
    assert js["w2_naive"]["p_B"]["exact"] == "112/229"
    assert js["prior"]["p_B"] == {"exact": "7/20", "float": 0.35}


def test_bad_custom_values_are_refused():
    with pytest.raises(InvalidArgument, match="prior sums to 11/10"):
        derive_two_action({"p_B": "0.6", "p_A": "0.5"})
    d = derive_two_action({"p_B": "6", "p_A": "4"}, normalize=True)
    assert d.mixture.prior == {"p_B": F(3, 5), "p_A": F(2, 5)}
    assert TWO_ACTION_PRIOR["p_B"] == F(7, 20)


def test_invoice_dialogue_slots_and_updates():
    h = invoice_dialogue()
    assert h.gates == (1, 1, 0, 1, 0, 0)
    assert h.slots[1].speaker == "Agent tool call" and h.slots[2].speaker == "Tool observation"
    rows = invoice_updates()
    assert [r["slot"] for r in rows if r["evidence"]] == [3, 5, 6]
    assert [r["slot"] for r in rows if r["moved"]] == [3, 5, 6]
    naive = [r["naive_weights"] for r in rows]
    assert naive[0] != {"duplicate_charge": F(1, 2), "other_billing_error": F(1, 2)}  # naive moves on slot 1
    assert rows[-1]["weights"] == {"duplicate_charge": F(8, 17), "other_billing_error": F(9, 17)}


def test_three_actions_are_refused_with_a_hint_that_exists():
    """derive_two_action has no otherwise= parameter, so its message must not suggest one."""
    import inspect

    from bayes_agent import InvalidArgument, derive_two_action

    three = {"p_B": {"A": "1/5", "B": "3/5", "C": "1/5"}, "p_A": {"A": "1/2", "B": "1/4", "C": "1/4"}}
    with pytest.raises(InvalidArgument, match="exactly two actions, got 3") as e:
        derive_two_action(kernels=three)
    if "otherwise=" in str(e.value).split("Mixture.decide")[0]:
        assert "otherwise" in inspect.signature(derive_two_action).parameters


def test_closed_form_latex_covers_every_closed_form():
    import sympy

    from bayes_agent import two_action_closed_form

    cf = two_action_closed_form()
    forms = {k for k in cf if k not in ("symbols", "latex")}
    assert forms == {"pi_B_h0", "w1", "w1_naive", "w2", "w2_naive"}
    assert set(cf["latex"]) == forms
    assert all(cf["latex"][k] == sympy.latex(cf[k]) for k in forms)


def test_only_the_naive_updater_meeting_zero_evidence_leaves_the_interventional_answer():
    # ν(B) = 0 under both programs, threshold 0: the agent writes B anyway (π(B) = 0 ≥ 0), a symbol
    # no program could have written, so the naive updater meets 0/0 at slot 1; the interventional
    # one ignores that slot and conditions on the world's A
    kernels = {"p_B": {"A": 1, "B": 0}, "p_A": {"A": 1, "B": 0}}
    d = derive_two_action(kernels=kernels, threshold=0, world="A")
    assert d.action == "B" and d.w1 == d.w2 == {"p_B": F(7, 20), "p_A": F(13, 20)}
    assert d.w1_naive is None and d.w2_naive is None and d.trace_obs == []
    assert "slot 1" in d.naive_undefined
    assert d.to_dict()["w1_naive"] is None and "undefined (0/0)" in d.text() and r"\text{undefined" in d.latex()
    with pytest.raises(ZeroEvidence):  # both fail: the world's B is impossible too
        derive_two_action(kernels=kernels, threshold=0, world="B")
