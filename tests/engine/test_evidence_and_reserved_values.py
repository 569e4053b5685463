"""Float evidence beside an underflowing likelihood (log_evidence), None reserved for "no action
yet" and a Markov program's start, and the messages for zero evidence, free symbols in the
invariant checks and a missing observation kernel: each test fails with the old behaviour."""

from __future__ import annotations

import math
from fractions import Fraction as F

import pytest

from bayes_agent import (Channel, FloatUnderflow, HistoryProgram, InvalidArgument, MarkovProgram,
                         Mixture, TableProgram, Transcript, ZeroEvidence, as_float, check_all,
                         engine_regimes, latest_action, symbols, two_action_mixture)


# -- 4: the float evidence is summed in log space -------------------------------------------------
def _underflowing_program(n: int = 200) -> tuple[Mixture, Transcript]:
    p1 = TableProgram("p1", observation={"x": F(1, 10**6), "y": 1 - F(1, 10**6)})
    p2 = TableProgram("p2", observation={"x": F(1, 2), "y": F(1, 2)})
    return Mixture([p1, p2], [F(1, 2), F(1, 2)]), Transcript.from_values(["x"] * n, [0] * n)


def _float_forms(m: Mixture) -> list:
    return [Mixture(m.programs, m.prior, arithmetic="float"), as_float(m)]


def test_float_evidence_fits_although_one_likelihood_underflows():
    m, h = _underflowing_program()
    exact = m.evidence(h)  # 1/2 * 2^-200 + 1/2 * 10^-1200: the second term is far below float64
    assert exact == F(1, 2) * F(1, 2**200) + F(1, 2) * F(1, 10**1200)
    for fm in _float_forms(m):
        assert fm.evidence(h) == pytest.approx(float(exact), rel=1e-13)
        assert fm.log_evidence(h) == pytest.approx(-201 * math.log(2), rel=1e-14)
    assert m.log_evidence(h) == pytest.approx(-201 * math.log(2), rel=1e-14)  # exact: the log of the number


def test_float_evidence_below_the_float_range_is_refused_pointing_at_log_evidence():
    m, _ = _underflowing_program()
    h = Transcript.from_values(["x"] * 1100, [0] * 1100)  # 2^-1101: below 1e-308, log ≈ -763
    for fm in _float_forms(m):
        with pytest.raises(FloatUnderflow, match=r"evidence exp\(-763\.\d+\).*use log_evidence\(\)"):
            fm.evidence(h)
        assert fm.log_evidence(h) == pytest.approx(-1101 * math.log(2), rel=1e-14)
    # an exact evidence below the float range still has its log (from numerator and denominator)
    assert m.log_evidence(h) == pytest.approx(-1101 * math.log(2), rel=1e-14)


def test_zero_evidence_is_zero_and_log_minus_infinity():
    p = TableProgram("p", observation={"x": 1, "y": 0})
    m = Mixture([p], [1])
    h = Transcript().world("y")
    assert m.evidence(h) == 0 and m.log_evidence(h) == -math.inf
    for fm in _float_forms(m):
        assert fm.evidence(h) == 0.0 and fm.log_evidence(h) == -math.inf


def test_log_evidence_of_a_symbolic_mixture_needs_numbers():
    w = symbols("w")
    p = TableProgram("p", observation={"x": F(1, 3), "y": F(2, 3)})
    q = TableProgram("q", observation={"x": F(1, 2), "y": F(1, 2)})
    m = Mixture([p, q], {"p": w, "q": 1 - w})
    with pytest.raises(InvalidArgument, match="free symbols w.*log_evidence gives floats"):
        m.log_evidence(Transcript().world("x"))
    numeric = Mixture([p, q], {"p": F(1, 4), "q": F(3, 4)}, arithmetic="symbolic")
    assert numeric.log_evidence(Transcript().world("x")) == pytest.approx(math.log(F(11, 24)))



def test_log_evidence_below_the_float_range_holds_for_exact_and_irrational_symbolic_numbers():
    import sympy

    h = Transcript.from_values(["x"] * 700, [0] * 700)
    exact = Mixture([TableProgram("p", observation={"x": F(1, 3), "y": F(2, 3)})], [1])
    assert exact.log_evidence(h) == pytest.approx(700 * math.log(1 / 3), rel=1e-12)
    pi = Mixture([TableProgram("p", observation={"x": sympy.pi / 10, "y": 1 - sympy.pi / 10})], [1],
                 arithmetic="symbolic")
    assert pi.log_evidence(h) == pytest.approx(700 * math.log(math.pi / 10), rel=1e-12)

# -- 5: None is reserved for "no action yet" and "the start" --------------------------------------
def _conditioned() -> Mixture:
    p = TableProgram("p", observation_given_action={None: {"x": 1, "y": 0}, "a": {"x": 0, "y": 1}})
    q = TableProgram("q", observation_given_action={None: {"x": 0, "y": 1}, "a": {"x": 1, "y": 0}})
    return Mixture([p, q], [F(1, 2), F(1, 2)])


def _markov() -> Mixture:
    m = MarkovProgram("m", observation={None: {"x": 1, "y": 0}, "x": {"x": F(1, 2), "y": F(1, 2)}})
    n = MarkovProgram("n", observation={None: {"x": 0, "y": 1}, "x": {"x": F(1, 2), "y": F(1, 2)}})
    return Mixture([m, n], [F(1, 2), F(1, 2)])


def test_none_is_refused_as_an_action_symbol_and_a_markov_symbol():
    with pytest.raises(InvalidArgument, match=r"program 'p' action kernel has the symbol None; None is reserved "
                                              r"for \"no action yet\""):
        TableProgram("p", action={None: F(1, 2), "a": F(1, 2)})
    with pytest.raises(InvalidArgument, match=r"row after 'x' has the symbol None; None is reserved for \"the start\""):
        MarkovProgram("m", action={"x": {None: 1}})
    history_none = Mixture([HistoryProgram("hp", action=lambda h: {None: 1}, observation=lambda h: {"x": 1})], [1])
    with pytest.raises(InvalidArgument, match=r"program 'hp' action kernel after 0 slots has the symbol None"):
        history_none.sample_action(Transcript(), 0)
    # None as the *key* of the row before any action / of the start row is what it is for
    assert _conditioned().posterior(Transcript().world("x")) == {"p": 1, "q": 0}
    assert _markov().posterior(Transcript().world("x")) == {"m": 1, "n": 0}


@pytest.mark.parametrize("build, match", [
    (_conditioned, r"action slot 1 \(h\[0\]\) holds None, read by the observation kernel of program 'p'; "
                   r"None is reserved for \"no action yet\""),
    (_markov, r"slot 1 \(h\[0\]\) holds None, read by program 'm' as the previous value; None is reserved "
              r"for \"the start\""),
], ids=["latest-action", "markov"])
def test_a_slot_holding_none_that_a_table_reads_as_its_key_is_refused(build, match):
    m = build()
    h = Transcript().agent(None).world("x")  # before: scored with the "no action yet" / start row
    assert latest_action(h) is None  # the ambiguity itself: public, kept
    calls = [lambda: m.posterior(h), lambda: m.updater().extend(h), lambda: m.predict(Transcript(), None),
             lambda: Mixture(m.programs, m.prior, arithmetic="float").posterior(h),
             lambda: as_float(m).posterior(h), lambda: as_float(m).posterior(h, path="general"),
             lambda: as_float(m).log_posterior_trace(h), lambda: as_float(m).log_evidence(h)]
    for call in calls:
        with pytest.raises(InvalidArgument, match=match):
            call()


# -- 6: ZeroEvidence names the programs holding weight --------------------------------------------
def test_zero_evidence_message_speaks_of_the_programs_holding_prior_weight():
    p = TableProgram("p", observation={"x": 1, "y": 0})
    q = TableProgram("q", observation={"x": 0, "y": 1})
    m = Mixture([p, q], {"p": 0, "q": 1})
    h = Transcript().world("x")  # p gives it probability 1; only p's prior is 0
    for mm in (m, Mixture(m.programs, m.prior, arithmetic="float"), as_float(m),
               Mixture(m.programs, m.prior, arithmetic="symbolic")):
        with pytest.raises(ZeroEvidence, match=r"^every program holding prior weight gives this history "
                                               r"probability zero under the interventional likelihood"):
            mm.posterior(h)


# -- 7: the invariant suite says it needs numbers ---------------------------------------------------
def test_invariant_checks_refuse_free_symbols_saying_what_they_need():
    w, a, b = symbols("w a b")
    p = TableProgram("p", observation={"x": a, "y": 1 - a})
    q = TableProgram("q", observation={"x": b, "y": 1 - b})
    m = Mixture([p, q], {"p": w, "q": 1 - w})
    assert len(engine_regimes()) == 3
    for regime in engine_regimes():
        with pytest.raises(InvalidArgument, match=r"need a mixture of numbers \(even EngineRegime\('symbolic'\).*"
                                                  r"symbol\(s\) a, b, w: substitute values"):
            check_all(regime, m, Transcript().world("x"))
    sub = {a: F(1, 3), b: F(1, 2), w: F(1, 4)}  # substituted, the same mixture passes every regime
    p2, q2 = (TableProgram(t.name, observation={k: v.subs(sub) for k, v in t.rows[(Channel.OBSERVATION, None)].items()})
              for t in (p, q))
    numeric = Mixture([p2, q2], {"p": w.subs(sub), "q": (1 - w).subs(sub)})
    for regime in engine_regimes():
        assert check_all(regime, numeric, Transcript().world("x"))


# -- 8: a world-written action-like symbol points to channel="action" -----------------------------
def test_missing_observation_kernel_suggests_the_action_channel():
    h = Transcript(context="c").agent("A")
    with pytest.raises(InvalidArgument, match=r"program 'p_B' has no observation kernel; it has an action kernel: "
                                              r"for an action-like symbol the world writes, use "
                                              r"Transcript.world\(value, channel=\"action\"\)"):
        two_action_mixture().posterior(h.world("B"))
    assert two_action_mixture().posterior(h.world("B", channel="action"))["p_B"] == F(56, 69)
    hp = HistoryProgram("hp", action=lambda h: {"A": 1})
    with pytest.raises(InvalidArgument, match=r"no observation kernel; it has an action kernel"):
        hp.prob("B", Transcript(), "observation")
    obs_only = TableProgram("o", observation={"x": 1})
    with pytest.raises(InvalidArgument, match=r"^program 'o' has no action kernel$"):  # no hint: none applies
        obs_only.prob("A", Transcript(), "action")
