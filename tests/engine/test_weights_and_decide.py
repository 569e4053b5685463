"""act_from / predict_from / sample_action_from check their weights; decide's two actions are
two different symbols of the alphabet; a symbolic log-likelihood is refused by name."""

import random
from fractions import Fraction as F

import pytest

from bayes_agent import (InvalidArgument, Mixture, TableProgram, Transcript, as_float, simulate_trajectory,
                         symbols, two_action_mixture)


@pytest.mark.parametrize("weights, words", [
    ({"p_B": -1, "p_A": 2}, "negative"),
    ({"p_B": 2, "p_A": 2}, "sums to 4, not 1"),
    ({}, "missing"),
    ({"p_B": F(1, 2), "p_A": F(1, 2), "q": 0}, "unknown"),
    (None, "mapping"),
    ("x", "mapping"),
])
@pytest.mark.parametrize("method", ["act_from", "predict_from", "sample_action_from"])
def test_bad_weights_are_refused_never_rescaled(weights, words, method):
    m = two_action_mixture()
    h = Transcript(context="c").agent("A")
    args = (weights, h, 0) if method == "sample_action_from" else (weights, h)
    with pytest.raises(InvalidArgument, match=words) as e:
        getattr(m, method)(*args)
    assert "normalize" not in str(e.value)  # there is no such option here


def test_good_weights_still_work_in_every_arithmetic():
    m = two_action_mixture()
    h = Transcript(context="c")
    assert m.act_from(m.prior, h) == m.act(h)
    f = as_float(m)
    assert f._mixture.act_from({"p_B": 0.35, "p_A": 0.65}, h)["B"] == pytest.approx(0.345)


def test_sample_action_from_takes_an_int_seed_like_its_siblings():
    m = two_action_mixture()
    h = Transcript(context="c")
    assert m.sample_action_from(m.prior, h, 7) == m.sample_action_from(m.prior, h, random.Random(7))
    assert m.sample_action_from(m.prior, h, 7) == m.sample_action(h, 7)
    with pytest.raises(InvalidArgument, match="rng"):
        m.sample_action_from(m.prior, h, -1)


@pytest.mark.parametrize("kwargs, words", [
    ({"target": "B", "otherwise": "Z"}, "otherwise 'Z' is not in the action alphabet"),
    ({"target": "B", "otherwise": "B"}, "equals the target"),
    ({"target": []}, "not hashable"),
    ({"target": "B", "otherwise": []}, "not hashable"),
])
def test_decide_actions_are_two_symbols_of_the_alphabet(kwargs, words):
    m = two_action_mixture()
    with pytest.raises(InvalidArgument, match=words):
        m.decide(Transcript(context="c"), **kwargs)


def test_simulate_trajectory_names_an_unhashable_target():
    with pytest.raises(InvalidArgument, match="not hashable"):
        simulate_trajectory(two_action_mixture(), "p_B", steps=3, target=[])


def test_symbolic_log_likelihood_names_the_free_symbol():
    x = symbols("x")
    m = Mixture([TableProgram("a", action={"A": x, "B": 1 - x}), TableProgram("b", action={"A": F(1, 2), "B": F(1, 2)})],
                [F(1, 2), F(1, 2)])
    h = Transcript().agent("A").world("B", channel="action")
    with pytest.raises(InvalidArgument, match="free symbols x"):
        m.log_likelihood(h)
    assert m.likelihood(h)["a"] == 1 - x  # the closed form is still there


@pytest.mark.parametrize("arithmetic", ["exact", "float"])
def test_an_updater_acts_and_samples_from_its_own_weights(arithmetic):
    """Updater.act / sample_action (what simulate uses instead of reaching into the mixture) equal
    the batch act of the same history and mode, and sample_action_from with the same seed."""
    from bayes_agent import two_action_mixture

    m = two_action_mixture()
    if arithmetic == "float":
        m = Mixture(m.programs, m.prior, arithmetic="float")
    h = Transcript(context="c").agent("A").world("B", channel="action").agent("B")
    for mode in ("do", "obs"):
        u = m.updater(mode, context="c")
        u.extend(h)
        assert u.act() == pytest.approx(m.act(h, mode)) if arithmetic == "float" else u.act() == m.act(h, mode)
        assert [u.sample_action(s) for s in range(20)] == [m.sample_action_from(u.weights, h, s) for s in range(20)]
    # the two modes' weights differ here, so a mix-up of modes would show
    assert m.updater("do", context="c").extend(h) != m.updater("obs", context="c").extend(h)


def test_sample_program_from_draws_as_sample_program_and_checks_its_weights():
    from bayes_agent import two_action_mixture

    m = two_action_mixture()
    h = Transcript(context="c").agent("A").world("B", channel="action")
    w = m.posterior(h)
    assert [m.sample_program_from(w, s).name for s in range(30)] == [m.sample_program(h, s).name for s in range(30)]
    assert {m.sample_program_from(w, s).name for s in range(30)} == set(m.names)  # both programs drawn
    with pytest.raises(InvalidArgument, match="weight vector"):
        m.sample_program_from({"p_B": F(1, 2), "p_A": F(3, 4)}, 0)
    lsm = as_float(m)  # the log-space mixture samples through the same public rule
    assert [lsm.sample_program(h, s).name for s in range(30)] == [m.sample_program(h, s).name for s in range(30)]
