"""Programs with different alphabets in one mixture: a symbol some program knows is a symbol of the
mixture (a program whose kernel lacks it gives it probability 0); one no program knows is refused."""

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings

from bayes_agent import (
    Channel, HistoryProgram, InvalidArgument, LogSpaceMixture, Mixture, Program, TableProgram, Transcript,
    simulate_trajectory,
)
from bayes_agent.invariants import ALL_INVARIANTS, EngineRegime, check_all
from bayes_agent.strategies import engine_cases

A = TableProgram("a", action={"A": F(1, 2), "B": F(1, 2)}, observation={"x": F(1, 2), "y": F(1, 2)})
B = TableProgram("b", action={"A": 1}, observation={"x": 1})
B_PADDED = TableProgram("b", action={"A": 1, "B": 0}, observation={"x": 1, "y": 0})  # the same, said in full
PRIOR = {"a": F(1, 2), "b": F(1, 2)}
H = Transcript(context="c")

HISTORIES = [
    H.agent("B"),
    H.world("B", channel="action"),
    H.agent("B").world("x").agent("A").world("B", channel="action"),
    H.agent("A").world("y"),
    H.world("x").agent("B").world("x"),
]


def _engines(prior):
    """Every way the engine computes a posterior, as (name, fn(programs, history, mode))."""
    floats = {k: float(v) for k, v in prior.items()}
    return [
        ("exact batch", lambda ps, h, mode: Mixture(ps, prior).posterior(h, mode)),
        ("exact trace", lambda ps, h, mode: Mixture(ps, prior).updater(mode, context="c").trace(h)[-1]),
        ("float batch", lambda ps, h, mode: Mixture(ps, floats).posterior(h, mode)),
        ("float trace", lambda ps, h, mode: Mixture(ps, floats).updater(mode, context="c").trace(h)[-1]),
        ("log-space", lambda ps, h, mode: LogSpaceMixture(ps, floats).posterior(h, mode)),
        ("log-space general", lambda ps, h, mode: LogSpaceMixture(ps, floats).posterior(h, mode, path="general")),
        ("log-space trace", lambda ps, h, mode: dict(zip(
            ("a", "b"), np.exp(LogSpaceMixture(ps, floats).log_posterior_trace(h, mode)[:, -1]).tolist()))),
    ]


ENGINES = _engines(PRIOR)


@pytest.mark.parametrize("name, posterior", ENGINES, ids=[e[0] for e in ENGINES])
@pytest.mark.parametrize("mode", ["do", "obs"])
@pytest.mark.parametrize("h", HISTORIES, ids=range(len(HISTORIES)))
def test_a_symbol_one_program_lacks_scores_zero_for_it(name, posterior, mode, h):
    got = posterior([A, B], h, mode)
    want = Mixture([A, B_PADDED], PRIOR).posterior(h, mode)  # b's row saying "B": 0 outright
    assert got.keys() == want.keys()
    assert all(abs(float(got[n]) - float(want[n])) <= 1e-12 for n in want), (got, want)


def test_the_reported_case():
    mx = Mixture([A, B], PRIOR)
    assert mx.act(H) == {"A": F(3, 4), "B": F(1, 4)}
    assert mx.posterior(H.agent("B")) == PRIOR  # do(B): not evidence
    assert mx.posterior(H.agent("B"), "obs") == {"a": 1, "b": 0}
    assert mx.posterior(H.world("B", channel="action")) == {"a": 1, "b": 0}
    assert mx.factor(B, H.agent("B"), 0) == 0
    run = simulate_trajectory(mx, "a", steps=6, policy="sample", target="B")
    assert "B" in run.history.values and run.weights_obs[-1] == {"a": 1, "b": 0}


@pytest.mark.parametrize("name, posterior", ENGINES, ids=[e[0] for e in ENGINES])
def test_a_symbol_no_program_knows_is_still_refused(name, posterior):
    with pytest.raises(InvalidArgument, match=r"agent slot 1 \(h\[0\] = 'Z'\) is outside program 'a''s action alphabet"):
        posterior([A, B], H.agent("Z"), "do")
    with pytest.raises(InvalidArgument, match=r"'Z' is outside program 'a''s action alphabet"):
        posterior([A, B], H.agent("Z"), "obs")
    with pytest.raises(InvalidArgument, match=r"'z' is outside program 'a''s observation alphabet"):
        posterior([A, B], H.world("z"), "do")
    with pytest.raises(InvalidArgument, match=r"'x' is outside program 'a''s action alphabet"):
        posterior([A, B], H.world("x", channel="action"), "do")  # a symbol of the other channel


def test_a_table_program_alone_still_refuses_a_symbol_outside_its_alphabet():
    with pytest.raises(InvalidArgument, match=r"'B' is outside program 'b''s action alphabet \{'A'\}"):
        B.prob("B", H, Channel.ACTION)
    with pytest.raises(InvalidArgument, match="outside program 'b'"):
        Mixture([B], [1]).posterior(H.agent("B"))


def test_a_symbol_only_a_history_program_knows():
    hp = HistoryProgram("h", action=lambda h: {"A": F(1, 2), "C": F(1, 2)}, observation=lambda h: {"x": 1})
    prior = {"a": F(1, 4), "b": F(1, 4), "h": F(1, 2)}
    h = H.agent("C").world("x").world("A", channel="action")
    exact = Mixture([A, B, hp], prior)
    for mode in ("do", "obs"):
        want = exact.posterior(h, mode)
        assert exact.updater(mode).extend(h) == want
        for path in ("auto", "general"):
            got = LogSpaceMixture([A, B, hp], [0.25, 0.25, 0.5]).posterior(h, mode, path=path)
            assert all(abs(got[n] - float(want[n])) <= 1e-12 for n in want)
    assert exact.posterior(h) == {"a": F(1, 9), "b": F(4, 9), "h": F(4, 9)}  # x then A: 1/16, 1/4, 1/4
    assert exact.posterior(h, "obs") == {"a": 0, "b": 0, "h": 1}
    with pytest.raises(InvalidArgument, match="outside program 'a'"):
        exact.posterior(H.agent("Q"))


@pytest.mark.parametrize("arithmetic", ["exact", "float"])
def test_invariants_hold_with_unequal_action_alphabets(arithmetic):
    regime = EngineRegime(arithmetic)

    @settings(max_examples=40)
    @given(engine_cases(max_slots=6, min_programs=2, shared_alphabet=False))
    def run(case):
        mixture, h = case
        assert check_all(regime, mixture, h, seed=len(h)) == ALL_INVARIANTS

    run()


class _Density(Program):
    """A program whose world channel is a density: it scores through its own ``prob``, and its
    ``distribution`` has no table to give (as the causal-DAG programs)."""

    def __init__(self, name, rate):
        self.name, self.rate = name, rate

    def distribution(self, history, channel):
        if Channel(channel) is Channel.OBSERVATION:
            raise InvalidArgument("a density, not a table")
        return {"A": F(1, 2), "B": F(1, 2)}

    def convert(self, kind):
        return self  # exact numbers throughout (as DagProgram keeps its floats)

    def prob(self, value, history, channel):
        if Channel(channel) is Channel.ACTION:
            return self.distribution(history, channel)[value]
        return self.rate * value  # a density on [0, 1] when rate and value allow


def test_a_program_with_its_own_scoring_is_scored_by_its_prob():
    m = Mixture([_Density("low", F(1, 2)), _Density("high", F(3, 2))], [F(1, 2), F(1, 2)])
    assert m.posterior(H.agent("A").world(F(1, 2))) == {"low": F(1, 4), "high": F(3, 4)}


@pytest.mark.parametrize("arithmetic", ["exact", "float"])
def test_the_invariants_skip_the_agent_slot_checks_when_a_program_has_no_action_kernel(arithmetic):
    """An observation-only program cannot score an agent slot under obs: the checks that append
    one are skipped with a reason, never crashed (a table and a history program alike)."""
    obs_only = [TableProgram("c", observation={"x": F(1, 2), "y": F(1, 2)}),
                HistoryProgram("c", observation=lambda h: {"x": F(1, 2), "y": F(1, 2)})]
    for c in obs_only:
        assert not c.has_kernel("action") and c.has_kernel("observation")
        out = check_all(EngineRegime(arithmetic), Mixture([A, c], {"a": F(1, 2), "c": F(1, 2)}),
                        H.world("x"))
        assert "decomposition" in out and set(out.skipped) >= {"agent_slots_inert", "provenance", "prior_under_do"}
        assert all("some program has no action kernel" in why for why in out.skipped.values())


class _TenthEverywhere(Program):
    """A program that scores values with its own prob (1/10 for anything), not its rows."""

    def __init__(self, name):
        self.name = name

    def distribution(self, history, channel):
        return {"A": F(1, 2), "B": F(1, 2)}

    def prob(self, value, history, channel):
        return F(1, 10)


@pytest.mark.parametrize("arithmetic", ["exact", "float", "symbolic"])
def test_a_user_program_with_its_own_prob_is_scored_by_it_in_every_arithmetic(arithmetic):
    """The mixture converts a user program into its arithmetic; the wrapper must still ask the
    program's own prob: d = (1/10 · 1/2) / (1/10 · 1/2 + 1/2 · 1/2) = 1/6."""
    e = TableProgram("e", action={"A": F(1, 2), "B": F(1, 2)})
    m = Mixture([_TenthEverywhere("d"), e], {"d": F(1, 2), "e": F(1, 2)}, arithmetic=arithmetic)
    got = m.posterior(H.world("A", channel="action"))["d"]
    assert float(got) == pytest.approx(1 / 6, rel=1e-12)
    if arithmetic == "exact":
        assert got == F(1, 6)


def test_a_refusal_names_the_whole_mixtures_alphabet_when_the_programs_differ():
    m = Mixture([TableProgram("p0", action={"A": 1}), TableProgram("p1", action={"C": 1})], [F(1, 2)] * 2)
    whole = r"; the mixture's action alphabet is \{'A', 'C'\} and no program writes 'B'"
    with pytest.raises(InvalidArgument, match=r"outside program 'p0''s action alphabet \{'A'\}.*" + whole):
        m.posterior(H.agent("B"))
    with pytest.raises(InvalidArgument, match=r"outside program 'p0''s action alphabet \{'A'\}" + whole):
        m.posterior(H.world("B", channel="action"))


@pytest.mark.parametrize("arithmetic", ["exact", "float", "symbolic"])
def test_a_trace_index_out_of_range_says_so_in_every_arithmetic(arithmetic):
    m = Mixture([A, B], PRIOR, arithmetic=arithmetic)
    trace = m.updater("obs", context="c").trace(H.world("x").world("x").world("x"))
    with pytest.raises(IndexError, match="trace index 3 out of range for 3 slots"):
        trace[3]
