"""The exact bridge: posterior = prior − ∇_η NLL, checked in float64 against the engine's Fractions."""

import math
from fractions import Fraction

import pytest
import torch
from hypothesis import assume, given, settings

torch.set_num_threads(1)

from bayes_agent import Transcript, two_action_mixture
from bayes_agent.errors import ZeroEvidence
from bayes_agent.mixture import Mixture
from bayes_agent.programs import TableProgram
from bayes_agent.strategies import engine_cases
from bayes_agent.transcript import Mode
from neural.regimes.mixture_torch import TorchMixture, evidence_mask

TOL = 1e-12
MODES = (Mode.INTERVENTIONAL, Mode.OBSERVATIONAL)


def scaled(n: int) -> int:
    """n examples under the CI profile, proportionally more under --hypothesis-profile=thorough."""
    return max(n, settings().max_examples * n // 60)


def exact_posterior(m: Mixture, h: Transcript, mode: Mode):
    try:
        return m.posterior(h, mode)
    except ZeroEvidence:
        return None


def gap(tensor: torch.Tensor, exact: dict) -> float:
    return max(abs(float(x) - float(exact[n])) for n, x in zip(exact, tensor))


@settings(max_examples=scaled(80))
@given(engine_cases(max_slots=10))
def test_gradient_gives_the_engines_posterior_in_both_modes(case):
    m, h = case
    tm = TorchMixture(m)
    for mode in MODES:
        exact = exact_posterior(m, h, mode)
        if exact is None:
            with pytest.raises(ZeroEvidence):
                tm.posterior(h, mode)
            continue
        assert gap(tm.posterior(h, mode), exact) <= TOL, mode


@settings(max_examples=scaled(60))
@given(engine_cases(max_slots=8))
def test_gradient_is_w_minus_w_L_over_evidence(case):
    """∂NLL/∂η_q = w_q − w_q L_q / Σ_p w_p L_p, with w, L exact; NLL = −log Σ w L."""
    m, h = case
    tm = TorchMixture(m)
    for mode in MODES:
        L = m.likelihood(h, mode)
        Z = sum(m.prior[n] * L[n] for n in m.names)
        assume(Z != 0)
        value, grad = tm.gradient(h, mode)
        expected = [m.prior[n] - m.prior[n] * L[n] / Z for n in m.names]
        assert max(abs(float(g) - float(e)) for g, e in zip(grad, expected)) <= TOL
        assert math.isclose(float(value), -math.log(Z), rel_tol=1e-12, abs_tol=1e-12)


@settings(max_examples=scaled(40))
@given(engine_cases(max_slots=8, allow_zero=False))
def test_only_softmax_of_the_logits_matters(case):
    m, h = case
    shifted = TorchMixture(m, TorchMixture(m).logits.detach() + 7.25)
    exact = m.posterior(h)
    assert gap(shifted.posterior(h), exact) <= TOL


@settings(max_examples=scaled(60))
@given(engine_cases(max_slots=10))
def test_mirror_steps_reproduce_sequential_bayes(case):
    """η ← η + log ν(z_i) on each evidence slot: softmax after every slot = the engine's Updater."""
    m, h = case
    tm = TorchMixture(m)
    for mode in MODES:
        updater = m.updater(mode, context=h.context)
        try:
            exact_trace = updater.trace(h)
        except ZeroEvidence:
            with pytest.raises(ZeroEvidence):
                tm.mirror_trace(h, mode)
            continue
        trace = tm.mirror_trace(h, mode)
        assert len(trace) == len(exact_trace)
        for eta, exact in zip(trace, exact_trace):
            assert gap(torch.softmax(eta, dim=0), exact) <= TOL
        # and the last mirror step is the bridge's posterior
        assert torch.allclose(tm.mirror_posterior(h, mode), tm.posterior(h, mode), rtol=0, atol=TOL)


def test_the_paper_example_through_the_gradient():
    """§4: after do(A) the interventional posterior keeps w(p_B) = 7/20; the bystander's is 14/131."""
    tm = TorchMixture(two_action_mixture())
    h = Transcript(context="c").agent("A")
    do, obs = tm.as_dict(tm.posterior(h)), tm.as_dict(tm.posterior(h, "obs"))
    assert abs(do["p_B"] - 7 / 20) <= TOL and abs(obs["p_B"] - 14 / 131) <= TOL
    # the mask is the gate sequence: the agent slot's factor is out of the do-NLL only
    assert evidence_mask(h, "do").tolist() == [False] and evidence_mask(h, "obs").tolist() == [True]
    h2 = h.world("B", channel="action")
    assert abs(tm.as_dict(tm.posterior(h2))["p_B"] - 56 / 69) <= TOL
    assert abs(tm.as_dict(tm.posterior(h2, "obs"))["p_B"] - 112 / 229) <= TOL


def test_a_gradient_step_on_the_masked_nll_moves_weight_like_bayes():
    """One small step η ← η − ε ∇NLL moves softmax(η) towards the posterior, not away from it."""
    p = TableProgram("p", observation={"x": Fraction(9, 10), "y": Fraction(1, 10)})
    q = TableProgram("q", observation={"x": Fraction(1, 10), "y": Fraction(9, 10)})
    tm = TorchMixture(Mixture([p, q], [Fraction(1, 2), Fraction(1, 2)]))
    h = Transcript(context="c").world("x").agent("A").world("x")
    _, grad = tm.gradient(h)
    after = torch.softmax(tm.logits.detach() - 0.1 * grad, dim=0)
    assert after[0] > 0.5 and after[0] < float(tm.posterior(h)[0])


def test_zero_evidence_is_refused_not_nan():
    p = TableProgram("p", observation={"x": 1, "y": 0})
    tm = TorchMixture(Mixture([p], [1]))
    with pytest.raises(ZeroEvidence):
        tm.posterior(Transcript(context="c").world("y"))
