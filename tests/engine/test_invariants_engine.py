"""The seven invariants, run once per regime (exact, sympy, float log space) on generated cases."""

import pytest
from hypothesis import Phase, find, given, settings

from bayes_agent import Transcript, two_action_mixture
from bayes_agent.invariants import (
    AGENT_SLOTS_INERT, ALL_INVARIANTS, PRIOR_UNDER_DO, EngineRegime, InvariantViolation, Regime,
    check_agent_slots_inert, check_all, check_prior_under_do, engine_regimes,
)
from bayes_agent.strategies import engine_cases
from bayes_agent.transcript import Mode


@pytest.fixture(params=engine_regimes(), ids=lambda r: r.name)
def regime(request):
    return request.param


def test_regimes_implement_the_protocol(regime):
    assert isinstance(regime, Regime) and regime.supports == frozenset(ALL_INVARIANTS)


def test_all_invariants_hold_on_generated_cases(regime):
    max_slots = 5 if regime.arithmetic == "symbolic" else 8
    base = 25 if regime.arithmetic == "symbolic" else 60
    # the CI profile runs `base` examples; --hypothesis-profile=thorough scales them up
    examples = max(base, settings().max_examples * base // 60)

    @settings(max_examples=examples)
    @given(engine_cases(max_slots=max_slots))
    def run(case):
        mixture, h = case
        assert check_all(regime, mixture, h, seed=len(h)) == ALL_INVARIANTS

    run()


def test_all_invariants_hold_on_the_paper_example(regime):
    h = Transcript(context="c").agent("A").world("B", channel="action")
    assert check_all(regime, two_action_mixture(), h) == ALL_INVARIANTS


class UpdatesOnAgentSlots(EngineRegime):
    """A deliberately broken engine: its 'interventional' update counts the agent's own slots."""

    def update(self, case, transcript, mode):
        return super().update(case, transcript, Mode.OBSERVATIONAL)


def test_the_suite_catches_an_engine_that_updates_on_agent_slots():
    broken = UpdatesOnAgentSlots("exact")
    m = two_action_mixture()
    with pytest.raises(InvariantViolation, match=AGENT_SLOTS_INERT):
        check_agent_slots_inert(broken, m, Transcript(context="c"))
    with pytest.raises(InvariantViolation, match=PRIOR_UNDER_DO):
        check_prior_under_do(broken, m, Transcript(context="c"))

    def violates(case):
        try:
            check_all(broken, *case)
        except InvariantViolation:
            return True
        return False

    mixture, h = find(engine_cases(), violates, settings=settings(max_examples=200, database=None,
                                                                    phases=[Phase.generate]))
    assert violates((mixture, h))
