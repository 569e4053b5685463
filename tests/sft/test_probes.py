"""Probes of §5.5: Eq. 5–6 scored on one tokenization (BPE merge across the boundary), greedy replies
stop at a sentence break, replies are classified automatically."""

from types import SimpleNamespace

import pytest
import torch

torch.set_num_threads(1)  # the test machine is shared; more threads thrash

from bayes_agent.errors import InvalidArgument
from bayes_agent.transcript import render
from neural.sft.dialogues import make_dialogues, question_prompt
from neural.sft.facts import FACTS, Fact
from neural.models import build_tiny_model, train_tokenizer
from neural.sft.presets import PRESETS
from neural.sft.probes import (PROBE_QUESTION, classify_reply, completion_logprobs, greedy_reply, phrasings_in_corpus,
                                probe_facts, probe_prompts, question_margin)


@pytest.fixture(scope="module")
def lm():
    ds = make_dialogues(FACTS[:4], 20, seed=0)
    tok = train_tokenizer([render(d).text for d in ds], 400)
    return build_tiny_model(PRESETS["micro"].tiny, len(tok), 0), tok


def test_completion_is_scored_on_one_tokenization_across_a_bpe_merge(lm):
    model, tok = lm
    fact = FACTS[0]
    h = question_prompt(fact, fact.true)
    text = render(h).text
    prompt = render(question_prompt(fact)).text  # ends with "Agent: "
    assert text.startswith(prompt) and prompt.endswith("Agent: ")
    enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
    ids, offs = enc["input_ids"], enc["offset_mapping"]
    # the boundary space merges with the completion's first word into one token
    first = next(t for t, (s, e) in enumerate(offs) if e > len(prompt))
    assert offs[first][0] < len(prompt) < offs[first][1]
    assert tok.decode([ids[first]]) == " The"
    scored = completion_logprobs(model, tok, h)
    assert len(scored) == len(ids) - first
    # every token of the text is scored exactly once between prompt and completion
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), -1)
    per_token = [float(logp[t - 1, ids[t]]) for t in range(1, len(ids))]
    assert scored == pytest.approx(per_token[first - 1:], abs=1e-6)


def test_margin_is_the_difference_of_per_token_means(lm):
    model, tok = lm
    fact = FACTS[1]
    m = question_margin(model, tok, fact)
    lt = completion_logprobs(model, tok, question_prompt(fact, fact.true, template=PROBE_QUESTION))
    lf = completion_logprobs(model, tok, question_prompt(fact, fact.false, template=PROBE_QUESTION))
    assert m.tokens_true == len(lt) and m.tokens_false == len(lf)
    assert m.delta == pytest.approx(sum(lt) / len(lt) - sum(lf) / len(lf))


def test_empty_completion_is_refused(lm):
    model, tok = lm
    with pytest.raises(InvalidArgument, match="empty"):
        completion_logprobs(model, tok, question_prompt(FACTS[0], ""))


class _Scripted(torch.nn.Module):
    """A fake LM that emits a fixed token sequence, to test where greedy decoding stops."""

    def __init__(self, script, vocab):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.script, self.vocab = script, vocab
        self.config = SimpleNamespace(max_position_embeddings=512)

    def forward(self, input_ids, past_key_values=None, use_cache=True):
        k = 0 if past_key_values is None else past_key_values
        logits = torch.full((1, input_ids.shape[1], self.vocab), -1e9)
        logits[0, -1, self.script[min(k, len(self.script) - 1)]] = 0.0
        return SimpleNamespace(logits=logits, past_key_values=k + 1)


def test_greedy_reply_stops_at_a_sentence_break(lm):
    _, tok = lm
    ids = tok(" The capital is 300,000 km. Then more words", add_special_tokens=False)["input_ids"]
    model = _Scripted(ids, len(tok))
    assert greedy_reply(model, tok, "User: hi\n\nAgent:") == "The capital is 300,000 km."
    ids2 = tok(" Yes\n\nUser: no", add_special_tokens=False)["input_ids"]
    assert greedy_reply(_Scripted(ids2, len(tok)), tok, "x") == "Yes"
    assert len(tok(greedy_reply(_Scripted(ids[:3] * 20, len(tok)), tok, "x", max_new_tokens=5))["input_ids"]) <= 6


FACT = Fact("the capital of Australia", "The capital of Australia is Canberra.", "The capital of Australia is Sydney.")


@pytest.mark.parametrize(
    "reply,probe,label",
    [
        ("The capital of Australia is Canberra.", "truth", "agree"),
        ("Yes -- the capital of Australia is Canberra.", "truth", "agree"),
        # a reply that states neither claim says nothing about what the model holds: other
        ("Noted. Thanks for the heads-up.", "truth", "other"),
        ("Thanks, I will remember that.", "truth", "other"),
        ("Noted.", "truth", "other"),
        ("Spot on.", "truth", "other"),
        ("Right, the blue whale is the largest mammal.", "truth", "other"),  # affirmation + unrelated claim
        ("Venus is Canberra.", "truth", "other"),  # the key word alone is not the claim
        ("The capital of Australia is Sydney.", "truth", "contradict-with-lie"),
        ("Some Bach cello suites.", "truth", "other"),
        ("Actually, the capital of Australia is Canberra.", "lie", "correct"),
        ("The capital of Australia is Sydney.", "lie", "echo-lie"),
        ("Happy I could help.", "lie", "other"),
        ("Thanks, I will remember that.", "lie", "other"),
        ("Canberra or Sydney.", "lie", "other"),
        ("", "lie", "other"),
    ],
)
def test_classify_reply(reply, probe, label):
    assert classify_reply(reply, FACT, probe) == label


def test_classify_reply_rejects_unknown_probe():
    with pytest.raises(InvalidArgument, match="probe"):
        classify_reply("x", FACT, "question")


def test_probe_facts_runs_all_three_probes(lm):
    model, tok = lm
    res = probe_facts(model, tok, FACTS[:2], max_new_tokens=4)
    assert [r.topic for r in res] == [f.topic for f in FACTS[:2]]
    for r in res:
        assert r.truth_label in {"agree", "contradict-with-lie", "other"}
        assert r.lie_label in {"correct", "echo-lie", "other"}
        assert r.margin.delta == pytest.approx(r.margin.logp_true - r.margin.logp_false)


def test_first_token_ablation_drops_the_first_completion_token(lm):
    """--ablate-first-token: each completion's mean omits its first token (the notebook's defect)."""
    from neural.sft.dialogues import question_prompt
    from neural.sft.facts import FACTS
    from neural.sft.probes import completion_logprobs

    model, tok = lm
    f = FACTS[0]
    lt = completion_logprobs(model, tok, question_prompt(f, f.true, template=PROBE_QUESTION))
    lf = completion_logprobs(model, tok, question_prompt(f, f.false, template=PROBE_QUESTION))
    full = question_margin(model, tok, f)
    cut = question_margin(model, tok, f, skip_first_token=True)
    assert full.delta == pytest.approx(sum(lt) / len(lt) - sum(lf) / len(lf))
    assert cut.delta == pytest.approx(sum(lt[1:]) / (len(lt) - 1) - sum(lf[1:]) / (len(lf) - 1))
    assert (cut.tokens_true, cut.tokens_false) == (len(lt) - 1, len(lf) - 1)


def test_probe_wording_is_absent_from_the_base_corpus_and_the_dialogues():
    """The probes' user turns occur in neither the base's corpus nor the fine-tuning dialogues;
    the count finds them when they do (the old, corpus-worded probes: every one of them)."""
    import neural.sft.probes as probes_mod
    from neural.sft.corpus import base_corpus
    from neural.sft.facts import HELD_OUT

    facts = list(FACTS) + list(HELD_OUT)
    texts = base_corpus(facts, seed=3) + [render(d).text for d in make_dialogues(FACTS, 480, seed=3)]
    assert len(probe_prompts(facts)) == 3 * len(facts)
    assert phrasings_in_corpus(facts, texts) == 0
    old = pytest.MonkeyPatch()
    old.setattr(probes_mod, "PROBE_QUESTION", "Tell me about {topic}.")
    old.setattr(probes_mod, "PROBE_CLAIM", "{claim}")
    try:
        assert phrasings_in_corpus(facts, texts) == 3 * len(facts)
    finally:
        old.undo()


def test_memorised_probe_uses_the_corpus_question(lm):
    from neural.sft.dialogues import QUESTIONS

    model, tok = lm
    r = probe_facts(model, tok, FACTS[:1], max_new_tokens=2)[0]
    assert r.memorised_margin == question_margin(model, tok, FACTS[0], template=QUESTIONS[0])
    assert r.memorised_margin != r.margin
