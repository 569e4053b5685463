"""The mixture: likelihoods, posteriors, sequential updater, predictive, action, sampling, decisions."""

from fractions import Fraction as F

import pytest

from bayes_agent import (
    Channel, InvalidArgument, Mixture, Slot, TableProgram, Transcript, ZeroEvidence,
    evidence_slots, is_evidence, two_action_mixture,
)

C = Transcript(context="c")


def test_intervention_rule_single_place():
    a, w, demo = Slot("A", 1), Slot("x", 0), Slot("A", 0, Channel.ACTION)
    assert [is_evidence(s, "do") for s in (a, w, demo)] == [False, True, True]
    assert all(is_evidence(s, "obs") for s in (a, w, demo))
    h = C.agent("A").world("B", channel="action").agent("B").world("A", channel="action")
    assert list(evidence_slots(h, "do")) == [1, 3] and list(evidence_slots(h, "obs")) == [0, 1, 2, 3]


def test_two_action_likelihoods_match_section_4_3():
    m = two_action_mixture()
    h2 = C.agent("A").world("B", channel=Channel.ACTION)
    assert m.likelihood(h2) == {"p_B": F(4, 5), "p_A": F(1, 10)}
    assert m.likelihood(h2, "obs") == {"p_B": F(1, 5) * F(4, 5), "p_A": F(9, 10) * F(1, 10)}
    assert m.evidence(h2) == F(69, 200)


def test_teacher_demonstration_is_evidence_but_agent_action_is_not():
    m = two_action_mixture()
    assert m.posterior(C.agent("A")) == m.prior
    assert m.posterior(C.world("A", channel="action"))["p_B"] == F(14, 131)


def test_sequential_updater_agrees_with_batch_every_prefix():
    m = two_action_mixture()
    h = C.agent("A").world("B", channel="action").world("A", channel="action").agent("B").world("B", channel="action")
    for mode in ("do", "obs"):
        trace = m.updater(mode, context="c").trace(h)
        assert trace == [m.posterior(h.prefix(i + 1), mode) for i in range(len(h))]


def test_updater_keeps_state_on_zero_evidence():
    m = Mixture([TableProgram("p", action={"A": 1, "B": 0}), TableProgram("q", action={"A": 1, "B": 0})], [F(1, 2), F(1, 2)])
    u = m.updater()
    u.push(Slot("A", 0, Channel.ACTION))
    with pytest.raises(ZeroEvidence, match="probability zero"):
        u.push(Slot("B", 0, Channel.ACTION))
    assert len(u.history) == 1 and u.weights == {"p": F(1, 2), "q": F(1, 2)}
    u.push(Slot("B", 1))  # the agent may write it: it is not evidence
    assert len(u.history) == 2
    with pytest.raises(InvalidArgument, match="takes a Slot"):
        u.push("A")


def _world_model():
    p = TableProgram("fires_cause_trucks", action={"send": F(1, 2), "stay": F(1, 2)},
                     observation_given_action={"send": {"fire": F(1, 1000), "calm": F(999, 1000)},
                                               "stay": {"fire": F(1, 1000), "calm": F(999, 1000)}})
    q = TableProgram("trucks_cause_fires", action={"send": F(19, 20), "stay": F(1, 20)},
                     observation_given_action={"send": {"fire": F(19, 20), "calm": F(1, 20)},
                                               "stay": {"fire": F(1, 1000), "calm": F(999, 1000)}})
    return Mixture([p, q], [F(9, 10), F(1, 10)])


def test_predictive_do_vs_observational_conditioning():
    m = _world_model()
    do = m.predict(C, "send")
    w = m.prior
    assert do["fire"] == w["fires_cause_trucks"] * F(1, 1000) + w["trucks_cause_fires"] * F(19, 20)
    obs = m.predict(C, "send", mode="obs")  # P(o | a): the action is evidence about the program
    post = m.posterior(C.agent("send"), "obs")
    assert obs["fire"] == post["fires_cause_trucks"] * F(1, 1000) + post["trucks_cause_fires"] * F(19, 20)
    assert obs["fire"] > do["fire"]
    assert sum(do.values()) == 1 and sum(obs.values()) == 1


def test_act_is_posterior_mixture_of_action_channels():
    m = two_action_mixture()
    h = C.world("B", channel="action")
    w = m.posterior(h)
    assert m.act(h)["B"] == w["p_B"] * F(4, 5) + w["p_A"] * F(1, 10)
    assert sum(m.act(h).values()) == 1


def test_decide_threshold_rule():
    m = two_action_mixture()
    d = m.decide(C, "B")
    assert (d.action, d.probability, d.threshold) == ("A", F(69, 200), F(1, 2))
    assert m.decide(C, "B", threshold="0.3").action == "B"
    assert m.decide(C, "B", threshold="69/200").action == "B"  # at least the threshold
    with pytest.raises(InvalidArgument, match="not in the action alphabet"):
        m.decide(C, "Z")


def test_sampling_is_seeded_and_follows_the_weights():
    m = two_action_mixture()
    first = [m.sample_action(C, s) for s in range(200)]
    assert first == [m.sample_action(C, s) for s in range(200)]
    n_b = sum(a == "B" for a in (m.sample_action(C, s) for s in range(4000)))
    assert abs(n_b / 4000 - 0.345) < 0.03  # π(B | h_0) = 0.345; 4000 draws, ~4 sigma
    names = [m.sample_program(C.world("B", channel="action"), s).name for s in range(4000)]
    assert abs(names.count("p_B") / 4000 - 56 / 69) < 0.03
    with pytest.raises(InvalidArgument, match="seed"):
        m.sample_action(C, "seven")


def test_zero_evidence_is_an_error_not_nan():
    m = Mixture([TableProgram("p", action={"A": 1, "B": 0})], [1])
    with pytest.raises(ZeroEvidence, match="undefined"):
        m.posterior(C.world("B", channel="action"))
    assert m.posterior(C.agent("B")) == {"p": 1}  # the agent's own B is not evidence


def test_float_and_symbolic_arithmetic_in_the_same_class():
    m = two_action_mixture()
    f = Mixture(m.programs, {"p_B": 0.35, "p_A": 0.65})
    assert f.arithmetic == "float"
    h = C.agent("A").world("B", channel="action")
    assert f.posterior(h)["p_B"] == pytest.approx(56 / 69, rel=1e-12)
    s = Mixture(m.programs, m.prior, arithmetic="symbolic")
    import sympy
    assert s.posterior(h)["p_B"] == sympy.Rational(56, 69)


# ---- public replacements for the private reaches (issue 21) ---------------------------------

def _histories() -> list:
    return [C, C.agent("A"), C.agent("A").world("B", channel="action"),
            C.agent("B").world("A", channel="action").agent("A").world("B", channel="action")]


def test_has_kernel_names_the_channels_a_program_defines():
    from bayes_agent import Channel, HistoryProgram, TableProgram

    only_world = HistoryProgram("w", observation=lambda h: {"x": 1})
    assert not only_world.has_kernel(Channel.ACTION) and only_world.has_kernel("observation")
    for kind in ("exact", "float"):  # a converted program answers for the one it wraps
        assert not only_world.convert(kind).has_kernel("action")
    from bayes_agent import Program

    class OnlyWorld(Program):  # a user subclass: convert() wraps it, and must ask it
        name = "u"

        def distribution(self, history, channel):
            return {"x": 1}

        def has_kernel(self, channel):
            return Channel(channel) is Channel.OBSERVATION

    user = OnlyWorld()
    assert not user.has_kernel("action") and type(user.convert("float")) is not OnlyWorld
    assert not user.convert("float").has_kernel("action") and user.convert("float").has_kernel("observation")
    table = TableProgram("t", action={"A": 1}, observation={"x": 1})
    assert table.has_kernel("action") and table.convert("float").has_kernel(Channel.OBSERVATION)


def test_act_from_and_predict_from_equal_act_and_predict_on_the_posterior():
    from bayes_agent import two_action_mixture

    m = two_action_mixture()
    for history in _histories():
        w = m.posterior(history)
        assert m.act_from(w, history) == m.act(history)
        assert m.act_from(m.prior, history) != m.act(history) or w == m.prior
        d = m.decide_from(m.act(history), next(iter(m.act(history))))
        assert d == m.decide(history, next(iter(m.act(history))))
    worlds = Mixture([TableProgram("p", action={"A": "1/2", "B": "1/2"},
                                   observation_given_action={"A": {"x": "9/10", "y": "1/10"},
                                                             "B": {"x": "1/5", "y": "4/5"}}),
                      TableProgram("q", action={"A": "1/3", "B": "2/3"}, observation={"x": "1/2", "y": "1/2"})],
                     ["1/2", "1/2"])
    h = C.agent("A").world("x")
    extended = h.agent("B")
    assert worlds.predict_from(worlds.posterior(extended), extended) == worlds.predict(h, "B")
    assert worlds.predict_from(worlds.prior, extended) != worlds.predict(h, "B")


def test_from_mixture_is_deprecated_and_equals_as_float():
    from bayes_agent import as_float, two_action_mixture
    from bayes_agent.arithmetic import LogSpaceMixture

    m = two_action_mixture()
    with pytest.warns(DeprecationWarning, match="as_float"):
        old = LogSpaceMixture.from_mixture(m)
    h = _histories()[-1]
    assert old.posterior(h) == as_float(m).posterior(h)
