"""Deliberately broken regimes must be caught: each check below genuinely runs and fails."""

import functools

import pytest
import torch
from hypothesis import Phase, find, settings

torch.set_num_threads(1)

from bayes_agent import Transcript, two_action_mixture
from bayes_agent.invariants import (
    ACTION_CHANNELS_IRRELEVANT, AGENT_SLOTS_INERT, DECOMPOSITION, PRIOR_UNDER_DO, SEQUENTIAL_EQUALS_BATCH,
    InvariantViolation, check_action_channels_irrelevant, check_agent_slots_inert, check_all,
    check_decomposition, check_prior_under_do, check_sequential_equals_batch,
)
from bayes_agent.strategies import engine_cases, gated_transcripts
from neural.regimes.assertions import assert_agent_tokens_inert, assert_step_inert, do_labels
from neural.masking import IGNORE_INDEX, LabelMode
from neural.regimes.mixture_torch import TorchMixture
from neural.regimes.adapters import TorchMixtureRegime, TransformerCase, TransformerRegime, micro_transformer_case

SEARCH = settings(max_examples=200, database=None, phases=[Phase.generate], deadline=None)


@functools.lru_cache(maxsize=None)
def micro():
    return micro_transformer_case(seed=0)


def violates(regime, case, h) -> bool:
    try:
        check_all(regime, case, h, seed=len(h))
    except InvariantViolation:
        return True
    return False


# -- a torch mixture that keeps the agent's factors -------------------------------------------


class KeepsAgentFactors(TorchMixture):
    """Broken: its 'interventional' mask lets every slot's factor into the NLL."""

    def mask(self, history, mode):
        return torch.ones(len(history), dtype=torch.bool)


BROKEN_MIXTURE = TorchMixtureRegime(KeepsAgentFactors, name="torch-mixture-keeps-agent-factors")


def test_a_torch_mixture_that_keeps_agent_factors_is_caught():
    m, h0 = two_action_mixture(), Transcript(context="c")
    with pytest.raises(InvariantViolation, match=AGENT_SLOTS_INERT):
        check_agent_slots_inert(BROKEN_MIXTURE, m, h0)
    with pytest.raises(InvariantViolation, match=PRIOR_UNDER_DO):
        check_prior_under_do(BROKEN_MIXTURE, m, h0)
    # its gradient gives the bystander's posterior 14/131, not the agent's 7/20
    broken = KeepsAgentFactors(m).as_dict(KeepsAgentFactors(m).posterior(h0.agent("A")))
    assert abs(broken["p_B"] - 14 / 131) < 1e-12 and abs(broken["p_B"] - 7 / 20) > 0.2


def test_the_suite_finds_a_counterexample_for_the_broken_torch_mixture_on_its_own():
    m, h = find(engine_cases(), lambda c: violates(BROKEN_MIXTURE, *c), settings=SEARCH)
    assert violates(BROKEN_MIXTURE, m, h) and not violates(TorchMixtureRegime(), m, h)


# -- a transformer mask that forgets one agent token ------------------------------------------


class ForgetsOneAgentToken(TransformerRegime):
    """Broken: the interventional labels supervise one agent-content token (the last or first)."""

    def __init__(self, which: int = -1) -> None:
        super().__init__(name=f"transformer-forgets-agent-token-{which}")
        self.which = which

    def labels(self, case, transcript, mode):
        ids, labels = super().labels(case, transcript, mode)
        if LabelMode.of(mode) is LabelMode.INTERVENTIONAL:
            ex = self.example(case, transcript)
            agent = [t for t, role in enumerate(ex.roles) if role == "agent"] if ex else []
            if agent:
                labels[agent[self.which]] = ids[agent[self.which]]
        return ids, labels


def test_a_mask_that_forgets_the_last_agent_token_is_caught():
    broken, case = ForgetsOneAgentToken(-1), micro()
    h = Transcript(context="c").world("x").agent("A").world("y")
    with pytest.raises(InvariantViolation, match=AGENT_SLOTS_INERT):
        check_agent_slots_inert(broken, case, h)
    with pytest.raises(InvariantViolation, match=DECOMPOSITION):
        check_decomposition(broken, case, h)
    with pytest.raises(InvariantViolation, match=PRIOR_UNDER_DO):
        check_prior_under_do(broken, case, h)
    assert check_all(TransformerRegime(), case, h)  # the honest regime passes the same case


def test_the_suite_finds_a_counterexample_for_a_mask_that_forgets_the_first_agent_token():
    """Forgetting the first agent token survives 'append more agent tokens' when one is already
    there; the full suite still finds a transcript it fails on."""
    broken, case = ForgetsOneAgentToken(0), micro()
    h = Transcript(context="c").agent("A").world("x")
    check_agent_slots_inert(broken, case, h)  # blind spot of invariant 1 alone ...
    with pytest.raises(InvariantViolation, match=DECOMPOSITION):  # ... not of invariant 3
        check_decomposition(broken, case, h)
    found = find(gated_transcripts(max_slots=4), lambda t: violates(broken, case, t),
                 settings=settings(SEARCH, max_examples=20))
    assert violates(broken, case, found)


# -- a transformer that peeks at later tokens -------------------------------------------------


class PeekingModel(torch.nn.Module):
    """Broken: adds the mean of all positions' logits, so later (agent) tokens leak backwards."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, input_ids):
        out = self.inner(input_ids=input_ids)
        out.logits = out.logits + out.logits.mean(dim=1, keepdim=True)
        return out

    def get_output_embeddings(self):
        return self.inner.get_output_embeddings()


def test_a_model_that_peeks_at_later_tokens_is_caught():
    case = micro()
    peeking = TransformerCase(PeekingModel(case.model), case.tokenizer, case.actions, case.observations)
    h = Transcript(context="c").world("x").agent("A").world("y")
    with pytest.raises(InvariantViolation, match=AGENT_SLOTS_INERT):
        check_agent_slots_inert(TransformerRegime(), peeking, h)
    with pytest.raises(InvariantViolation, match=SEQUENTIAL_EQUALS_BATCH):
        check_sequential_equals_batch(TransformerRegime(), peeking, h)
    chat = Transcript(context="c").world("x y").agent("A B")
    with pytest.raises(InvariantViolation, match="moved the"):
        assert_agent_tokens_inert(peeking.model, case.tokenizer, chat)


class BiasEverywhere(TransformerRegime):
    """Broken adapter: its 'action channel' bias reaches the world positions too."""

    def labels(self, case, transcript, mode):
        ids, labels = super().labels(case, transcript, mode)
        if LabelMode.of(mode) is LabelMode.ASSISTANT_ONLY and case.agent_logit_bias is not None:
            labels = list(ids)  # every position counts as an agent position for the bias
        return ids, labels


def test_a_logit_bias_that_leaks_past_agent_positions_is_caught():
    h = Transcript(context="c").world("x").agent("A").world("y")
    with pytest.raises(InvariantViolation, match=ACTION_CHANNELS_IRRELEVANT):
        check_action_channels_irrelevant(BiasEverywhere(), micro(), h)


# -- the user-facing helpers with broken inputs -----------------------------------------------


def test_the_helper_catches_a_labels_function_that_forgets_one_agent_token():
    case = micro()

    def leaky(t, tok):
        ids, labels = do_labels(t, tok)
        labels = list(labels)
        labels[-1] = ids[-1]  # the transcript ends with agent content: its last token leaks
        return ids, labels

    with pytest.raises(InvariantViolation, match="supervises appended agent token"):
        assert_agent_tokens_inert(case.model, case.tokenizer, Transcript(context="c").world("x").agent("A B"), leaky)


def test_weight_decay_moves_parameters_without_any_gradient():
    case = micro()
    ids, labels = TransformerRegime().labels(case, Transcript(context="c").agent("A").agent("B"), "do")
    assert all(lab == IGNORE_INDEX for lab in labels)
    decay = lambda params: torch.optim.AdamW(params, lr=1e-2, weight_decay=0.1)  # noqa: E731
    with pytest.raises(InvariantViolation, match="moved"):
        assert_step_inert(case.model, ids, labels, decay)
