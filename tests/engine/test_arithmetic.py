"""Three arithmetics, one answer: exact rationals, sympy closed forms, float64 log space."""

import math
import random
from fractions import Fraction as F

import numpy as np
import pytest
import sympy
from hypothesis import given

from bayes_agent import (
    Channel, Gate, HistoryProgram, Mixture, Slot, Transcript,
    as_exact, as_float, as_symbolic, closed_form, two_action_closed_form, two_action_mixture,
)
from bayes_agent.arithmetic import latex, symbols
from bayes_agent.errors import ZeroEvidence
from bayes_agent.strategies import engine_cases


def _rel_close(exact: F, x: float, rel: float = 1e-12) -> bool:
    return x == 0.0 if exact == 0 else abs(x - float(exact)) <= rel * float(exact)


@given(engine_cases())
def test_float_log_space_agrees_with_exact_to_1e_12(case):
    m, h = case
    lf = as_float(m)
    for mode in ("do", "obs"):
        try:
            ex = m.posterior(h, mode)
        except ZeroEvidence:
            with pytest.raises(ZeroEvidence):
                lf.posterior(h, mode)
            continue
        for path in ("auto", "general"):
            got = lf.posterior(h, mode, path=path)
            assert all(_rel_close(ex[n], got[n]) for n in m.names), (ex, got)
        trace = np.exp(lf.log_posterior_trace(h, mode)[:, -1])
        assert all(_rel_close(ex[n], t) for n, t in zip(m.names, trace))


@given(engine_cases("symbolic", max_slots=5, max_programs=2))
def test_symbolic_agrees_with_exact(case):
    m, h = case
    ex = as_exact(m)
    try:
        want = ex.posterior(h)
    except ZeroEvidence:
        return
    got = m.posterior(h)
    assert all(sympy.Rational(want[n].numerator, want[n].denominator) == got[n] for n in m.names)


def test_two_action_closed_forms_simplify_and_substitute_to_the_paper():
    cf = two_action_closed_form()
    w, b, a = cf["symbols"]
    assert cf["w1"] == w  # the intervention leaves the prior alone, symbolically
    nums = {w: sympy.Rational(7, 20), b: sympy.Rational(1, 5), a: sympy.Rational(9, 10)}
    assert cf["pi_B_h0"].subs(nums) == sympy.Rational(69, 200)
    assert cf["w1_naive"].subs(nums) == sympy.Rational(14, 131)
    assert cf["w2"].subs(nums) == sympy.Rational(56, 69)
    assert cf["w2_naive"].subs(nums) == sympy.Rational(112, 229)
    # w_2 = w (1-b) / (w (1-b) + (1-w)(1-a)): the closed form is that ratio
    assert sympy.simplify(cf["w2"] - w * (1 - b) / (w * (1 - b) + (1 - w) * (1 - a))) == 0
    assert "\\frac" in cf["latex"]["w2"]


def test_symbolic_prior_with_numeric_kernels_gives_a_rational_function():
    (w,) = (symbols("w"),)
    m = Mixture(two_action_mixture().programs, {"p_B": w, "p_A": 1 - w})
    post = m.posterior(Transcript().world("B", channel="action"))["p_B"]
    assert sympy.simplify(post - 8 * w / (7 * w + 1)) == 0
    assert closed_form(post) == 8 * w / (7 * w + 1)
    assert latex(F(69, 200)) == "\\frac{69}{200}"


def test_symbolic_conversion_keeps_exact_values():
    s = as_symbolic(two_action_mixture())
    assert s.posterior(Transcript().agent("A").world("B", channel="action"))["p_B"] == sympy.Rational(56, 69)


def test_hundred_thousand_slots_do_not_underflow():
    m = two_action_mixture()
    r = random.Random(1)
    slots = tuple(Slot(r.choice("AB"), Gate.AGENT) if r.random() < 0.5
                  else Slot("B" if r.random() < 0.4 else "A", Gate.WORLD, Channel.ACTION)
                  for _ in range(100_000))
    h = Transcript(slots, "c")
    lf = as_float(m)
    logL = lf.log_likelihood(h)
    assert np.all(np.isfinite(logL)) and np.all(logL < -10_000)  # L itself is far below 1e-308
    # independent reference: count the world-written symbols by hand, L = Π ν(s)^n_s
    counts = {s: sum(1 for z in h if z.gate is Gate.WORLD and z.value == s) for s in "AB"}
    kern = {p.name: p.distribution(h, Channel.ACTION) for p in m.programs}
    want = {n: math.fsum(counts[s] * math.log(kern[n][s]) for s in "AB") for n in m.names}
    for n, got in zip(m.names, logL):
        assert abs(got - want[n]) <= 1e-12 * abs(want[n])
    joint = [math.log(m.prior[n]) + want[n] for n in m.names]
    top = max(joint)
    norm = top + math.log(math.fsum(math.exp(j - top) for j in joint))
    logw = lf.log_posterior(h)
    for j, got in zip(joint, logw):
        assert abs(got - (j - norm)) <= 1e-9 * max(1.0, abs(j - norm))
    assert logw.min() < -700  # this posterior weight underflows as a float; its log does not
    assert np.allclose(lf.log_posterior(h, path="general"), logw, rtol=1e-12)


def test_sufficient_statistics_count_evidence_cells():
    m = two_action_mixture()
    lf = as_float(m)
    h = Transcript().agent("A").world("B", channel="action").world("B", channel="action").agent("B")
    counts = lf.sufficient_statistics(h).sum(axis=0)
    assert counts.sum() == 2 and counts.max() == 2  # two world-written B's, the agent's slots not counted
    assert lf.sufficient_statistics(h, "obs").sum() == 4


def test_general_programs_go_through_the_matrix_path():
    def act(h):
        k = sum(1 for s in h if s.value == "A")
        return {"A": F(k + 1, k + 2), "B": F(1, k + 2)}

    m = Mixture([HistoryProgram("laplace", action=act), two_action_mixture().programs[0]], [F(1, 2), F(1, 2)])
    lf = as_float(m)
    assert not lf.all_tables
    h = Transcript().world("A", channel="action").agent("A").world("B", channel="action")
    ex = m.posterior(h)
    got = lf.posterior(h)
    assert all(_rel_close(ex[n], got[n]) for n in m.names)
    with pytest.raises(Exception, match="table path"):
        lf.log_likelihood(h, path="table")


@pytest.mark.parametrize("shape", [(8,), (1000,), (8, 40), (3, 20_000)], ids=str)
def test_log_sum_exp_over_programs_matches_a_high_precision_sum(shape):
    """The one log Σ exp behind every float posterior: exact to ~1e-15, true zeros stay -inf, silently."""
    import warnings

    import mpmath

    from bayes_agent._logspace import logsumexp as _logsumexp

    rng = np.random.default_rng(len(shape) * 1000 + shape[-1])
    x = rng.normal(size=shape) * 40 - 2000  # far below exp's range: a plain sum would underflow to 0
    x[0] = -np.inf  # one program with probability zero
    if x.ndim == 2:
        x[:, 1] = -np.inf  # a whole column of zeros: the log of a true zero
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = np.atleast_1d(_logsumexp(x, axis=0))
    cols = x.reshape(x.shape[0], -1)
    for j in range(0, cols.shape[1], max(1, cols.shape[1] // 25)):
        finite = [mpmath.mpf(float(v)) for v in cols[:, j] if np.isfinite(v)]
        if not finite:
            assert got[j] == -np.inf
            continue
        with mpmath.workdps(40):
            ref = float(mpmath.log(mpmath.fsum(mpmath.exp(v) for v in finite)))
        assert abs(got[j] - ref) <= 1e-15 * abs(ref), (j, got[j], ref)


def test_symbolic_posteriors_with_radicals_are_simplified():
    import sympy

    from bayes_agent import Mixture, TableProgram, Transcript

    r = sympy.sqrt(2) / 2
    half = sympy.Rational(1, 2)
    m = Mixture([TableProgram("a", action={"A": r, "B": 1 - r}), TableProgram("b", action={"A": half, "B": half})],
                [half, half])
    h = Transcript().world("A", channel="action").world("B", channel="action")
    w = m.posterior(h)
    assert sympy.simplify(w["a"] - (6 - 2 * sympy.sqrt(2)) / 7) == 0
    assert sympy.simplify(w["b"] - (1 + 2 * sympy.sqrt(2)) / 7) == 0
    assert str(w["a"]) == "(6 - 2*sqrt(2))/7"  # in lowest terms, not a nest of the raw product
    assert all(len(str(v)) < 30 for v in (*w.values(), *m.act(h).values()))


def test_as_float_answers_every_mixture_method_as_the_float_mixture_does():
    """as_float(m), like as_exact/as_symbolic, gives the whole Mixture API (issue: it lacked
    updater, likelihood, evidence, decide and the samplers); each agrees with Mixture(..., "float")."""
    from bayes_agent import LogSpaceMixture, Mixture, TableProgram, Transcript

    m = Mixture([TableProgram("p_B", action={"A": F(1, 5), "B": F(4, 5)}, observation_given_action={
                     "A": {"x": F(1, 3), "y": F(2, 3)}, "B": {"x": F(3, 4), "y": F(1, 4)}}),
                 TableProgram("p_A", action={"A": F(9, 10), "B": F(1, 10)}, observation={"x": F(1, 2), "y": F(1, 2)})],
                [F(7, 20), F(13, 20)])
    lf, fm = as_float(m), Mixture(m.programs, m.prior, arithmetic="float")
    assert isinstance(lf, LogSpaceMixture)  # the return type callers rely on is kept
    instance = lambda x: {n for n in dir(x) if not n.startswith("_")}  # noqa: E731
    assert instance(fm) <= instance(lf), instance(fm) - instance(lf)
    h = Transcript(context="c").agent("A").world("B", channel="action").agent("B")
    w = fm.posterior(h)
    close = lambda a, b: a.keys() == b.keys() and all(abs(a[k] - b[k]) <= 1e-12 for k in a)  # noqa: E731
    assert lf.arithmetic == "float" and lf.prior == fm.prior
    for mode in ("do", "obs"):
        assert close(lf.updater(mode, context="c").extend(h), fm.posterior(h, mode))
        assert close(lf.likelihood(h, mode), fm.likelihood(h, mode))
        assert abs(lf.evidence(h, mode) - fm.evidence(h, mode)) <= 1e-12
        assert lf.decide(h, "B", mode=mode) == fm.decide(h, "B", mode=mode)
        for seed in range(20):
            assert lf.sample_action(h, seed, mode) == fm.sample_action(h, seed, mode)
            assert lf.sample_program(h, seed, mode).name == fm.sample_program(h, seed, mode).name
    assert close(lf.act_from(w, h), fm.act_from(w, h)) and close(lf.predict_from(w, h), fm.predict_from(w, h))
    assert lf.decide_from(lf.act(h), "A") == fm.decide_from(fm.act(h), "A")
    assert [lf.sample_action_from(w, h, s) for s in range(10)] == [fm.sample_action_from(w, h, s) for s in range(10)]
    assert lf.factor(lf.programs[0], h, 1) == fm.factor(fm.programs[0], h, 1) == 0.8
