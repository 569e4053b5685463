"""The invariants run on every valid mixture: history programs, user Program subclasses,
observation-only programs (whose action-writing checks are skipped with a reason, not crashed)."""

from fractions import Fraction as F

import pytest

from bayes_agent import (check_all, EngineRegime, HistoryProgram, InvalidArgument,
                         Mixture, Program, TableProgram, Transcript, engine_regimes)
from bayes_agent.invariants import ALL_INVARIANTS, InvariantViolation, check_action_channels_irrelevant
from bayes_agent.transcript import Channel


class Coin(Program):
    """A user subclass: action kernel depends on the number of slots so far."""

    def __init__(self, name, bias):
        self.name, self.bias = name, F(bias)

    def distribution(self, history, channel):
        if channel is Channel.ACTION:
            return {"A": self.bias, "B": 1 - self.bias}
        q = F(1, len(history) + 2)
        return {"x": q, "y": 1 - q}


def _history_case():
    hp = HistoryProgram("h", action=lambda h: {"A": F(1, 2), "B": F(1, 2)},
                        observation=lambda h: {"x": F(1, 4), "y": F(3, 4)})
    t = TableProgram("t", action={"A": F(1, 5), "B": F(4, 5)}, observation={"x": F(1, 2), "y": F(1, 2)})
    return Mixture([hp, t], [F(1, 3), F(2, 3)])


@pytest.mark.parametrize("regime", engine_regimes(), ids=lambda r: r.name)
@pytest.mark.parametrize("case", [
    (_history_case(), Transcript().agent("A")),
    (_history_case(), Transcript().agent("A").world("x").agent("B").world("y")),
    (Mixture([Coin("c1", "1/3"), Coin("c2", "3/4")], [F(1, 2), F(1, 2)]),
     Transcript().agent("B").world("y").world("x")),
], ids=["history-agent", "history-mixed", "user-subclass"])
def test_all_seven_run_on_non_table_programs(regime, case):
    out = check_all(regime, *case)
    assert out == ALL_INVARIANTS and out.skipped == {}


@pytest.mark.parametrize("regime", engine_regimes(), ids=lambda r: r.name)
def test_observation_only_programs_skip_the_action_checks_with_a_reason(regime):
    m = Mixture([TableProgram("a", observation={"x": F(1, 2), "y": F(1, 2)}),
                 TableProgram("b", observation={"x": F(1, 3), "y": F(2, 3)})], [F(1, 2), F(1, 2)])
    out = check_all(regime, m, Transcript().world("x"))
    assert set(out.skipped) == {"agent_slots_inert", "provenance", "prior_under_do"}
    assert all("no action symbol" in why for why in out.skipped.values())
    assert out == tuple(n for n in ALL_INVARIANTS if n not in out.skipped)


def test_a_regime_says_its_own_actions():
    """The action-writing checks take their symbols from the regime's own ``actions(case, h)``,
    any regime's, not only the engine's: a regime that offers none has those checks skipped."""
    asked = []

    class Forwarding:  # a regime that is not an EngineRegime: it forwards the protocol to one
        def __init__(self):
            self.inner = EngineRegime()
            self.name, self.supports = "forwarding", self.inner.supports

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def actions(self, case, transcript):
            asked.append(transcript)
            return ()

    h = Transcript().agent("A").world("x")
    out = check_all(Forwarding(), _history_case(), h)
    assert set(out.skipped) == {"agent_slots_inert", "provenance", "prior_under_do"}
    assert asked and h in asked
    assert check_all(EngineRegime(), _history_case(), h).skipped == {}  # the engine's own actions: A, B


def test_new_action_kernel_of_a_history_program_is_a_different_kernel():
    """Invariant 5's surgery really changes a history program's action kernel (else it is vacuous)."""
    m = _history_case()
    other = EngineRegime()._engine(m)  # noqa: SLF001 (the same case, for comparison)
    swapped = EngineRegime().replace_action_channels(m, 0)
    h = Transcript().agent("A")
    assert swapped.programs[0].distribution(h, Channel.ACTION) != other.programs[0].distribution(h, Channel.ACTION)
    assert swapped.programs[0].distribution(h, Channel.OBSERVATION) == other.programs[0].distribution(h, Channel.OBSERVATION)
    check_action_channels_irrelevant(EngineRegime(), m, h.world("x"))


def test_a_broken_history_regime_still_fails():
    """Skipping is only for checks that cannot apply: an update that lets agent slots count fails."""
    class Leaky(EngineRegime):
        def update(self, case, transcript, mode):
            return super().update(case, transcript, "obs")

    with pytest.raises(InvariantViolation):
        check_all(Leaky(), _history_case(), Transcript().agent("A").world("x"))


@pytest.mark.parametrize("call, word", [
    (lambda: check_all(None, _history_case(), Transcript()), "Regime"),
    (lambda: check_all(EngineRegime(), None, Transcript()), "Mixture"),
    (lambda: check_all(EngineRegime(), _history_case(), None), "Transcript"),
    (lambda: EngineRegime("bogus"), "arithmetic"),
    (lambda: EngineRegime(5), "arithmetic"),
])
def test_bad_arguments_are_named(call, word):
    with pytest.raises(InvalidArgument, match=word):
        call()
