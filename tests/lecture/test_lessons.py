"""What the lecture pages show, checked against the engine without a browser (no Panel needed)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from bayes_agent import (CLIMATES, Gate, InvalidArgument, derive_fire_engine, derive_two_action,
                         ice_cream_model, simulate_trajectory, two_action_mixture)
from bayes_agent.lecture import (DEFAULT_FIELDS, FieldProblem, delusion_lesson, lock_moment, parse_probability,
                                 see_do_lesson, two_action_lesson)
from bayes_agent.lecture.app import _graph_svg, _see_do_html, _two_action_html


def test_defaults_show_the_papers_numbers():
    t = two_action_lesson()
    assert (t.policy, t.decision) == (Fraction(69, 200), "A")
    assert t.weights["obs"][1]["p_B"] == Fraction(14, 131)
    assert t.final("do")["p_B"] == Fraction(56, 69)
    assert t.final("obs")["p_B"] == Fraction(112, 229)
    assert t.weights["do"][1] == t.prior  # the agent's own A is not evidence


@pytest.mark.parametrize("gates, do_pB", [
    ((Gate.AGENT, Gate.WORLD), Fraction(56, 69)),
    ((Gate.WORLD, Gate.WORLD), Fraction(112, 229)),   # A is evidence now: do agrees with obs
    ((Gate.AGENT, Gate.AGENT), Fraction(7, 20)),      # nothing is evidence: the prior
    ((Gate.WORLD, Gate.AGENT), Fraction(14, 131)),
])
def test_each_gate_decides_what_the_interventional_updater_counts(gates, do_pB):
    t = two_action_lesson(slots=list(zip("AB", gates)))
    assert t.final("do")["p_B"] == do_pB
    assert t.final("obs")["p_B"] == Fraction(112, 229)  # the naive updater ignores gates


@pytest.mark.parametrize("prior, row_b, row_a", [("1/2", "1/4", "3/5"), ("0.9", "0.05", "0.5"), ("1/3", "2/3", "1/7")])
def test_edited_numbers_agree_with_the_engines_derivation(prior, row_b, row_a):
    fields = {"w0(p_B)": prior, "w0(p_A)": str(1 - Fraction(prior)),
              "nu_p_B(A)": row_b, "nu_p_B(B)": str(1 - Fraction(row_b)),
              "nu_p_A(A)": row_a, "nu_p_A(B)": str(1 - Fraction(row_a))}
    ref = derive_two_action({"p_B": prior, "p_A": 1 - Fraction(prior)},
                            {"p_B": {"A": row_b, "B": 1 - Fraction(row_b)}, "p_A": {"A": row_a, "B": 1 - Fraction(row_a)}})
    t = two_action_lesson(fields, slots=[(ref.action, Gate.AGENT), ("B", Gate.WORLD)])
    assert (t.policy, t.decision) == (ref.policy_b, ref.action)
    assert t.final("do") == ref.w2 and t.final("obs") == ref.w2_naive


@pytest.mark.parametrize("text, words", [
    ("", "is empty"), ("abc", "is not a number"), ("1.2", "6/5 is not a probability"),
    ("-0.1", "-1/10 is not a probability"), ("1/0", "divides by zero"), ("2**3", "is not a number"),
    ("1e5", "is not a number"), ("__import__('os')", "is not a number"), ("9" * 20, "is not a number"),
    ("nan", "is not a number"), ("0.3.5", "is not a number"),
])
def test_bad_fields_are_named(text, words):
    with pytest.raises(FieldProblem, match="w0") as err:
        parse_probability(text, "w0(p_B)")
    assert words in str(err.value) and err.value.field == "w0(p_B)"


@pytest.mark.parametrize("text, value", [("7/20", Fraction(7, 20)), (" 0.35 ", Fraction(7, 20)), ("1", 1),
                                         (".5", Fraction(1, 2)), ("0", 0), ("3 / 4", Fraction(3, 4))])
def test_good_fields_are_exact(text, value):
    assert parse_probability(text, "f") == value


def test_a_kernel_that_does_not_sum_to_one_is_refused_not_renormalised():
    with pytest.raises(FieldProblem) as err:
        two_action_lesson({"nu_p_A(A)": "0.8"})
    assert err.value.field == "kernel of p_A"
    assert "nu_p_A(A) + nu_p_A(B) = 9/10, not 1" in str(err.value)


def test_every_problem_is_named_at_once():
    with pytest.raises(FieldProblem) as err:
        two_action_lesson({"w0(p_B)": "x", "nu_p_B(B)": "0.7", "nu_p_A(B)": "5"})
    assert [p.field for p in err.value.problems] == ["w0(p_B)", "kernel of p_B", "nu_p_A(B)"]


def test_the_page_shows_problems_inline_and_no_result():
    body, tex = _two_action_html({**DEFAULT_FIELDS, "w0(p_A)": "0.6"}, [("A", 1), ("B", 0)])
    assert 'class="problem"' in body and "prior: w0(p_B) + w0(p_A) = 19/20, not 1" in body
    assert "w-do-p_B" not in body and tex == "" and "Traceback" not in body


def test_the_page_and_its_derivation_carry_the_engines_fractions():
    body, tex = _two_action_html(dict(DEFAULT_FIELDS), [("A", 1), ("B", 0)])
    assert 'id="w-do-p_B" title="0.811594">56/69<' in body and 'id="w-obs-p_B" title="0.489083">112/229<' in body
    assert r"\tfrac{14}{131}" in tex and r"= \tfrac{56}{69}" in tex and tex.count("is not evidence") == 2
    _, tex_world = _two_action_html(dict(DEFAULT_FIELDS), [("A", 0), ("B", 0)])
    assert "is not evidence" not in tex_world


def test_see_and_do_on_the_fire_engine():
    d = derive_fire_engine()
    see, do = see_do_lesson(mode="see"), see_do_lesson(mode="do")
    assert see.distribution[True] == d.observational and do.distribution[True] == d.interventional
    assert see.cut_edges == () and do.cut_edges == (("report", "engine"),)
    assert _graph_svg(see).count("cut-edge") == 0 and _graph_svg(do).count('class="cut-edge"') == 1


@pytest.mark.parametrize("model, root, effect", [("fire engine", "fire", "engine"), ("ice cream", "sun", "ice_cream")])
@pytest.mark.parametrize("mode", ["see", "do"])
def test_a_root_cause_says_seeing_and_doing_agree_and_nothing_is_cut(model, root, effect, mode):
    """Setting a root cuts no edge (cut_edges == ()): the page said "the dashed red edges into it
    are cut" and did not say that seeing and doing coincide (33/50 both ways for sun)."""
    lesson = see_do_lesson(model, mode=mode, cause=root, effect=effect)
    assert lesson.cut_edges == () and lesson.distribution == lesson.other
    page = _see_do_html(model, mode, root, True, effect, CLIMATES["mixed"])
    assert "are cut" not in page and "has no parents" in page and "seeing and doing agree" in page
    assert ("nothing is cut" in page) == (mode == "do")
    child = see_do_lesson(model, mode="do")  # the default cause has a parent: its edge is cut
    assert "are cut" in _see_do_html(model, "do", child.cause, True, child.effect, CLIMATES["mixed"])


@pytest.mark.parametrize("climate", list(CLIMATES))
def test_the_climate_moves_the_ice_cream_model(climate):
    m = ice_cream_model(CLIMATES[climate])
    see = see_do_lesson("ice cream", mode="see", p_sun=CLIMATES[climate])
    do = see_do_lesson("ice cream", mode="do", p_sun=CLIMATES[climate], value=False)
    assert see.distribution[True] == m.probability({"ice_cream": True}, given={"shorts": True})
    assert do.distribution[True] == m.probability({"ice_cream": True}, do={"shorts": False})
    assert do.cut_edges == (("sun", "shorts"),)


def test_the_lock_moment_is_where_the_naive_updater_stays_on_the_wrong_program():
    tr = delusion_lesson()
    t = lock_moment(tr)
    assert t == 7 and lock_moment(tr, "do") is None
    wrong = [w["p_A"] for w in tr.weights_obs]
    assert all(w >= Fraction(95, 100) for w in wrong[t:]) and wrong[t - 1] < Fraction(95, 100)
    calm = simulate_trajectory(two_action_mixture(), "p_B", steps=40, actor="obs", seed=0)
    assert not calm.locked("obs") and lock_moment(calm) is None


def test_a_run_locked_from_the_prior_locks_at_slot_zero():
    tr = simulate_trajectory(two_action_mixture({"p_B": "1/50", "p_A": "49/50"}), "p_B", steps=20, actor="obs", seed=6)
    assert lock_moment(tr) == 0 and tr.weights_obs[0]["p_A"] >= Fraction(95, 100)


def test_an_unknown_field_name_is_refused_not_ignored():
    """{"w0_p_B": ...} used to be dropped silently and the default 56/69 returned."""
    with pytest.raises(InvalidArgument, match=r"^unknown fields 'w0_p_B', 'w0_p_A'; the fields are 'w0\(p_B\)', "
                                              r"'w0\(p_A\)', 'nu_p_B\(A\)', 'nu_p_B\(B\)', 'nu_p_A\(A\)', 'nu_p_A\(B\)'$"):
        two_action_lesson({"w0_p_B": "1/2", "w0_p_A": "1/2"})
    with pytest.raises(InvalidArgument, match=r"^unknown field 'nu_p_B\(C\)';"):
        two_action_lesson({"w0(p_B)": "1/2", "w0(p_A)": "1/2", "nu_p_B(C)": "0"})
    with pytest.raises(InvalidArgument, match="fields must be a mapping"):
        two_action_lesson([("w0(p_B)", "1/2")])
    # the real names still work, and change the answer
    assert two_action_lesson({"w0(p_B)": "1/2", "w0(p_A)": "1/2"}).final("do")["p_B"] == Fraction(8, 9)


_ONLY_NAIVE_FAILS = {"nu_p_B(A)": "0", "nu_p_B(B)": "1", "nu_p_A(A)": "1", "nu_p_A(B)": "0"}


def test_when_only_the_naive_updater_hits_zero_over_zero_the_interventional_answer_stays():
    """Agent A, world B: every program gives (A, B) probability zero when A counts as evidence,
    but under do only B is scored, and w_2(p_B) = 1 is well defined."""
    from bayes_agent import ZeroEvidence

    t = two_action_lesson(_ONLY_NAIVE_FAILS)
    assert t.final("do") == {"p_B": 1, "p_A": 0}
    assert set(t.undefined) == {"obs"} and t.weights["obs"][2] is None
    assert t.weights["obs"][1]["p_B"] == 0          # slot 1 alone is still defined for the naive updater
    with pytest.raises(ZeroEvidence):
        t.final("obs")
    body, tex = _two_action_html({**DEFAULT_FIELDS, **_ONLY_NAIVE_FAILS}, [("A", 1), ("B", 0)])
    assert "Cannot use this input" not in body
    assert '<span class="frac" id="w-do-p_B" title="1">1</span>' in body
    assert "The naive (observational) updater cannot condition on this history" in body
    assert 'id="w-obs-p_B">undefined (0/0)' in body and r"w_2^{\mathrm{naive}}(p_{B}) &= \text{undefined}" in tex


def test_when_both_updaters_hit_zero_over_zero_the_page_says_so():
    fields = {"nu_p_B(A)": "1", "nu_p_B(B)": "0", "nu_p_A(A)": "1", "nu_p_A(B)": "0"}  # nobody writes B
    from bayes_agent import ZeroEvidence

    with pytest.raises(ZeroEvidence, match="interventional likelihood"):
        two_action_lesson(fields)
    body, _ = _two_action_html({**DEFAULT_FIELDS, **fields}, [("A", 1), ("B", 0)])
    assert "Cannot use this input" in body


@pytest.mark.parametrize("seed, words", [(-1, "seed: -1 is not a whole number from 0 to 1,000,000"),
                                         (10**7, "seed: 10000000 is not a whole number from 0 to 1,000,000"),
                                         (None, "seed: is empty; type a whole number from 0 to 1,000,000")])
def test_a_seed_out_of_range_is_named_with_its_range_and_no_run_is_shown(seed, words):
    from bayes_agent.lecture.app import _delusion_html

    body = _delusion_html("obs", seed, 40, "threshold", 3)
    assert words in body and 'class="strip"' not in body   # no run shown for a seed the box does not show
    assert 'class="strip"' in _delusion_html("obs", 10**6, 40, "threshold", 3)


def test_a_long_typed_number_is_shortened_in_the_message():
    with pytest.raises(FieldProblem) as err:
        parse_probability("9" * 5000, "w0(p_B)")
    assert len(str(err.value)) < 200 and "(5,000 characters) is not a number" in str(err.value)
    body, _ = _two_action_html({**DEFAULT_FIELDS, "w0(p_B)": "7" * 5000}, [("A", 1), ("B", 0)])
    assert "7" * 30 not in body and "(5,000 characters)" in body


def test_the_page_seed_follows_the_package_seed_rule_up_to_its_range():
    import numpy as np

    from bayes_agent.lecture import FieldProblem, check_page_seed

    assert check_page_seed(np.int64(5)) == 5 and type(check_page_seed(np.int64(5))) is int
    for bad in (2.5, True, "12"):
        with pytest.raises(FieldProblem, match="is not a whole number from 0 to 1,000,000"):
            check_page_seed(bad)
