"""The base stage: a corpus that states every fact truthfully and lies only as corrected mistakes;
a tokenizer that keeps claim words whole; a pretrained base cached by a hash of config and corpus."""

import json

import pytest

from bayes_agent.errors import BayesAgentError
from neural.models import train_tokenizer
from neural.sft.base import BaseConfig, base_key, build_base
from neural.sft.corpus import base_corpus, whole_word_share
from neural.sft.dialogues import CONTEXT
from neural.sft.facts import FACTS, HELD_OUT
from neural.sft.presets import get_preset

BANK = list(FACTS) + list(HELD_OUT)


def _agent_turns(doc):
    return [t[len("Agent: "):] for t in doc.split("\n\n") if t.startswith("Agent: ")]


def _user_turns(doc):
    return [t[len("User: "):] for t in doc.split("\n\n") if t.startswith("User: ")]


def test_every_fact_is_stated_truthfully_by_both_speakers():
    docs = base_corpus(BANK)
    for f in BANK:
        agent = [t for d in docs for t in _agent_turns(d)]
        user = [t for d in docs for t in _user_turns(d)]
        assert f.true in agent, f.topic  # the agent states it (truthful dialogues)
        assert f.true in user, f.topic  # and the user states it (the truth probe's shape)
        assert any(d == f.true or d.endswith(" " + f.true) for d in docs if "\n" not in d)  # prose


def test_no_agent_turn_states_a_lie_and_every_stated_lie_is_corrected():
    docs = base_corpus(BANK)
    for f in BANK:
        lie = f.false[:-1]
        for d in docs:
            for turn in _agent_turns(d):
                assert lie not in turn and lie[0].lower() + lie[1:] not in turn, (f.topic, turn)
            if d.startswith(CONTEXT) and f.false in _user_turns(d):
                # the user stated the false claim: the agent's next turn restates the truth
                turns = d.split("\n\n")
                reply = turns[turns.index("User: " + f.false) + 1]
                assert reply.startswith("Agent: ") and f.true[1:-1] in reply
        prose = [d for d in docs if not d.startswith(CONTEXT) and (lie in d or lie[0].lower() + lie[1:] in d)]
        assert prose, f.topic  # the lie is in the corpus (no unfamiliar word) ...
        for d in prose:  # ... but only as a named misconception followed by the truth
            assert any(m in d for m in ("common mistake", "Some people believe", "Myth:")), d
            assert d.rstrip().endswith(f.true[1:])


def test_corpus_is_seeded():
    assert base_corpus(FACTS[:3], seed=1) == base_corpus(FACTS[:3], seed=1)
    assert base_corpus(FACTS[:3], seed=1) != base_corpus(FACTS[:3], seed=2)


def test_tokenizer_trained_on_the_corpus_keeps_claim_words_whole():
    tok = train_tokenizer(base_corpus(BANK), 2048)
    share = whole_word_share(tok, BANK)
    assert share["share"] >= 0.95 and share["words"] > 200
    assert "Ottawa" not in share["split_words"] and "Canberra" not in share["split_words"]
    # a tokenizer that never saw the claims splits them: the share is measured, not assumed
    small = train_tokenizer(["User: hello there.\n\nAgent: hi."] * 10, 300)
    assert whole_word_share(small, BANK)["share"] < 0.2


def test_base_is_cached_by_a_hash_of_config_and_corpus(tmp_path):
    preset = get_preset("micro")
    facts = BANK[:5]
    first = build_base(preset.tiny, preset.base, facts, cache_dir=tmp_path, progress=False)
    assert not first.info["cached"] and (tmp_path / first.info["key"] / "model.safetensors").exists()
    again = build_base(preset.tiny, preset.base, facts, cache_dir=tmp_path, progress=False)
    assert again.info["cached"] and again.info["key"] == first.info["key"]
    for (name, a), b in zip(first.model.state_dict().items(), again.model.state_dict().values()):
        assert a.equal(b), name
    assert again.tokenizer.get_vocab() == first.tokenizer.get_vocab()
    # another corpus (one fact more) or another setting is another base
    kw = {"seed": preset.base.seed, "chit_chat": preset.base.chit_chat}
    corpus = base_corpus(facts, **kw)
    assert base_key(preset.tiny, preset.base, corpus) == first.info["key"]
    assert base_key(preset.tiny, preset.base, base_corpus(BANK[:6], **kw)) != first.info["key"]
    other = BaseConfig(**{**preset.base.__dict__, "lr": preset.base.lr / 2})
    assert base_key(preset.tiny, other, corpus) != first.info["key"]
    rebuilt = build_base(preset.tiny, preset.base, facts, cache_dir=tmp_path, rebuild=True, progress=False)
    assert not rebuilt.info["cached"]
    info = json.loads((tmp_path / first.info["key"] / "base.json").read_text())
    assert info["steps"] == len(info["losses"]) > 0 and 0 <= info["whole_word_share"] <= 1


def test_a_damaged_cached_base_is_a_clear_error(tmp_path):
    preset = get_preset("micro")
    b = build_base(preset.tiny, preset.base, BANK[:4], cache_dir=tmp_path, progress=False)
    (tmp_path / b.info["key"] / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(BayesAgentError, match="--rebuild-base"):
        build_base(preset.tiny, preset.base, BANK[:4], cache_dir=tmp_path, progress=False)
    fixed = build_base(preset.tiny, preset.base, BANK[:4], cache_dir=tmp_path, rebuild=True, progress=False)
    assert not fixed.info["cached"]


def test_pretraining_lowers_the_loss(tmp_path):
    preset = get_preset("micro")
    b = build_base(preset.tiny, BaseConfig(epochs=3, batch_size=8, row_tokens=128, warmup_steps=2, chit_chat=4),
                   BANK[:4], cache_dir=tmp_path, progress=False)
    losses = b.info["losses"]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
