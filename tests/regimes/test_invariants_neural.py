"""The seven invariants on the neural regimes: the torch mixture of programs and a micro Qwen2 under
masked SFT. Same suite as the engine (bayes_agent.invariants), one `regime` parameter."""

import functools

import numpy as np
import pytest
import torch
from hypothesis import given, settings

torch.set_num_threads(1)

from bayes_agent import Transcript, two_action_mixture
from bayes_agent.errors import InvalidArgument
from bayes_agent.invariants import ALL_INVARIANTS, InvariantViolation, Regime, check_all
from bayes_agent.strategies import engine_cases, gated_transcripts
from bayes_agent.transcript import Mode
from neural.regimes.assertions import assert_agent_tokens_inert, assert_step_inert, do_labels
from neural.masking import IGNORE_INDEX, LabelMode, mask_transcript
from neural.regimes.adapters import (
    TorchMixtureRegime, TransformerRegime, micro_transformer_case, neural_regimes, word_rendering,
)


def scaled(n: int) -> int:
    """n examples under the CI profile, proportionally more under --hypothesis-profile=thorough."""
    return max(n, settings().max_examples * n // 60)


@functools.lru_cache(maxsize=None)
def micro():
    return micro_transformer_case(seed=0)


TRANSFORMER = TransformerRegime()


@pytest.fixture(params=neural_regimes(), ids=lambda r: r.name)
def regime(request):
    return request.param


def test_neural_regimes_implement_the_protocol(regime):
    assert isinstance(regime, Regime) and regime.supports == frozenset(ALL_INVARIANTS)


# -- the torch mixture of programs: generated mixtures and transcripts ------------------------


@settings(max_examples=scaled(60))
@given(engine_cases(max_slots=8))
def test_all_invariants_hold_on_the_torch_mixture(case):
    mixture, h = case
    assert check_all(TorchMixtureRegime(), mixture, h, seed=len(h)) == ALL_INVARIANTS


def test_all_invariants_hold_on_the_paper_example_for_the_torch_mixture():
    h = Transcript(context="c").agent("A").world("B", channel="action")
    assert check_all(TorchMixtureRegime(), two_action_mixture(), h) == ALL_INVARIANTS


# -- the transformer under masked SFT: generated gated token sequences ------------------------


@settings(max_examples=scaled(5))
@given(gated_transcripts(max_slots=5))
def test_all_invariants_hold_on_the_transformer(h):
    assert check_all(TRANSFORMER, micro(), h, seed=len(h)) == ALL_INVARIANTS


def test_word_layout_labels_follow_the_gates():
    h = Transcript(context="c").agent("A").world("x").world("B", channel="action").agent("B")
    ex = TRANSFORMER.example(micro(), h)
    assert ex.roles == ["context", "agent", "world", "world", "agent"]  # one token per word here
    assert [lab != IGNORE_INDEX for lab in ex.labels_do] == [False, False, True, True, False]
    assert [lab != IGNORE_INDEX for lab in ex.labels_obs] == [False, True, True, True, True]
    assert word_rendering(h).text == "c A x B B"
    with pytest.raises(InvalidArgument):
        word_rendering(Transcript(context="c").world("two words"))


def test_appending_agent_tokens_leaves_the_do_loss_and_its_gradient():
    case, h = micro(), Transcript(context="c").world("x").agent("A").world("y")
    base = TRANSFORMER.update(case, h, Mode.INTERVENTIONAL)
    longer = TRANSFORMER.update(case, h.agent("B").agent("A"), Mode.INTERVENTIONAL)
    assert base.loss > 0 and np.abs(base.grad).max() > 1e-3  # a real update to compare against
    # same to 1e-6 of the largest gradient entry (Qwen2 rounds RMSNorm to float32; here ~1e-16)
    assert TRANSFORMER.same(base, longer)
    # the observational loss does learn from them
    assert TRANSFORMER.update(case, h.agent("B"), Mode.OBSERVATIONAL).loss > \
        TRANSFORMER.update(case, h, Mode.OBSERVATIONAL).loss + 1e-3


def test_obs_minus_do_is_the_nll_of_the_agent_content_tokens():
    case = micro()
    h = Transcript(context="c").agent("A").world("x").agent("B").agent("A").world("z")
    nll_obs = -TRANSFORMER.log_likelihood(case, h, Mode.OBSERVATIONAL)
    nll_do = -TRANSFORMER.log_likelihood(case, h, Mode.INTERVENTIONAL)
    nll_agent = -TRANSFORMER.action_log_likelihood(case, h)
    assert nll_agent > 1.0
    assert abs((nll_obs - nll_do) - nll_agent) <= 1e-9


def test_biasing_logits_at_agent_positions_leaves_the_do_loss_only():
    case = micro()
    biased = TRANSFORMER.replace_action_channels(case, seed=3)
    h = Transcript(context="c").world("x").agent("A").agent("B").world("y")
    do, do_b = (TRANSFORMER.update(c, h, Mode.INTERVENTIONAL) for c in (case, biased))
    obs, obs_b = (TRANSFORMER.update(c, h, Mode.OBSERVATIONAL) for c in (case, biased))
    assert TRANSFORMER.same(do, do_b)
    assert abs(obs.loss - obs_b.loss) > 1e-3  # the bias is real: it moves the agent tokens' NLL


def test_an_optimizer_step_on_an_agent_only_continuation_is_bit_identical():
    case = micro()
    h = Transcript(context="c").agent("A").agent("B").agent("A")
    ids, labels = TRANSFORMER.labels(case, h, Mode.INTERVENTIONAL)
    assert all(lab == IGNORE_INDEX for lab in labels)
    assert_step_inert(case.model, ids, labels)
    sgd = lambda params: torch.optim.SGD(params, lr=0.5, momentum=0.9)  # noqa: E731
    assert_step_inert(case.model, ids, labels, sgd)
    # the same step with the observational labels does move the weights (and is undone after)
    before = [p.detach().clone() for p in case.model.parameters()]
    _, obs_labels = TRANSFORMER.labels(case, h, Mode.OBSERVATIONAL)
    with pytest.raises(InvariantViolation, match="moved"):
        assert_step_inert(case.model, ids, obs_labels)
    assert all(torch.equal(p, b) for p, b in zip(case.model.parameters(), before))


# -- the user-facing helper on the chat layout ("User: ...\n\nAgent: ...") ---------------------


CHAT = [
    Transcript(context="c").world("x y").agent("A B"),
    Transcript(context="c").agent("A").world("z").agent("B x"),
]


def test_the_helper_accepts_the_projects_do_labels():
    case = micro()
    assert_agent_tokens_inert(case.model, case.tokenizer, CHAT)
    assert_agent_tokens_inert(case.model, case.tokenizer, CHAT[0], do_labels, extra=" A A")


def test_the_helper_rejects_observational_labels():
    case = micro()

    def obs_labels(t, tok):
        ex = mask_transcript(t, tok)
        return ex.input_ids, ex.labels[LabelMode.OBSERVATIONAL]

    with pytest.raises(InvariantViolation, match="supervises appended agent token"):
        assert_agent_tokens_inert(case.model, case.tokenizer, CHAT, obs_labels)


def test_a_new_agent_slot_is_not_agent_content():
    """The 'Agent: ' prefix is protocol: appending a whole agent slot adds supervised tokens, which
    is why the helper appends to the content of an agent slot that is already open."""
    case = micro()
    h = CHAT[1]
    _, labels = do_labels(h, case.tokenizer)
    _, longer = do_labels(h.agent("A"), case.tokenizer)
    assert sum(lab != IGNORE_INDEX for lab in longer) > sum(lab != IGNORE_INDEX for lab in labels)
    with pytest.raises(InvalidArgument, match="end with an agent slot"):
        assert_agent_tokens_inert(case.model, case.tokenizer, h.world("x"))
