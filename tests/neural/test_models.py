"""The embedded tiny Qwen2 and its locally trained tokenizer; loading a hub id without network."""

import pytest
import torch

torch.set_num_threads(1)  # the test machine is shared; more threads thrash

from bayes_agent.errors import BayesAgentError, InvalidArgument
from neural.models import TinyModelConfig, build_tiny_model, load_pretrained, train_tokenizer
from neural.sft.presets import PRESETS, get_preset

TEXTS = ["User: Tell me about the capital of Australia.\n\nAgent: The capital of Australia is Canberra."] * 3


def test_tokenizer_is_deterministic_and_offsets_tile_the_text():
    a = train_tokenizer(TEXTS, 300)
    b = train_tokenizer(TEXTS, 300)
    assert a.get_vocab() == b.get_vocab()
    text = TEXTS[0]
    enc = a(text, return_offsets_mapping=True, add_special_tokens=False)
    offs = enc["offset_mapping"]
    assert offs[0][0] == 0 and offs[-1][1] == len(text)
    assert all(p[1] == q[0] for p, q in zip(offs, offs[1:]))  # no gaps: spaces belong to a token
    assert a.decode(enc["input_ids"]) == text


def test_tiny_model_is_qwen2_and_seeded():
    cfg = PRESETS["micro"].tiny
    m1, m2, m3 = (build_tiny_model(cfg, 320, s) for s in (0, 0, 1))
    assert type(m1).__name__ == "Qwen2ForCausalLM"
    s1, s2, s3 = m1.state_dict(), m2.state_dict(), m3.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert not all(torch.equal(s1[k], s3[k]) for k in s1)
    out = m1(input_ids=torch.tensor([[1, 2, 3]])).logits
    assert out.shape == (1, 3, 320) and torch.isfinite(out).all()


@pytest.mark.parametrize(
    "kwargs", [dict(hidden_size=30, num_attention_heads=4), dict(vocab_size=100), dict(num_hidden_layers=0),
               dict(num_attention_heads=4, num_key_value_heads=3)]
)
def test_tiny_config_validation(kwargs):
    with pytest.raises(InvalidArgument):
        TinyModelConfig(**kwargs)


def test_missing_weights_give_a_clear_message(tmp_path):
    with pytest.raises(BayesAgentError, match="nowhere'?: no such directory"):
        load_pretrained(str(tmp_path / "nowhere"))
    with pytest.raises(BayesAgentError, match="never downloads.*`hf download Qwen/Qwen2.5-0.5B-this-does-not-exist "
                                              "--local-dir ./Qwen2.5-0.5B-this-does-not-exist`"):
        load_pretrained("Qwen/Qwen2.5-0.5B-this-does-not-exist")


def test_presets_are_plain_data():
    paper = get_preset("paper")
    assert paper.model == "Qwen/Qwen2.5-0.5B" and paper.dtype == "float32"  # float32 master weights
    assert paper.train.precision == "auto" and paper.sequential_arms and paper.device == "auto"
    assert (paper.train.lr, paper.train.clip, paper.train.epochs, paper.n_dialogues) == (2e-5, 1.0, 4, 480)
    tiny = get_preset("tiny")
    assert tiny.model is None and tiny.n_facts == 33 and tiny.train.epochs == 4
    assert tiny.with_(epochs=2, n_dialogues=10).train.epochs == 2
    with pytest.raises(InvalidArgument, match="unknown preset"):
        get_preset("huge")


def test_the_paper_shape_is_qwen25_05b_as_published():
    from neural.models import QWEN25_05B

    s = QWEN25_05B
    assert (s.num_hidden_layers, s.hidden_size, s.num_attention_heads, s.num_key_value_heads) == (24, 896, 14, 2)
    assert (s.intermediate_size, s.vocab_size, s.rope_theta, s.tie_word_embeddings) == (4864, 151_936, 1e6, True)
    assert get_preset("paper").tiny == QWEN25_05B


def test_shape_fields_build_into_the_model_config():
    from neural.models import TinyModelConfig, build_tiny_model, count_parameters

    cfg = TinyModelConfig(vocab_size=300, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                          num_attention_heads=2, num_key_value_heads=1, rope_theta=1e6, rms_norm_eps=1e-5)
    m = build_tiny_model(cfg, 300, 0)
    rope = getattr(m.config, "rope_parameters", None) or {"rope_theta": m.config.rope_theta}
    assert rope["rope_theta"] == 1e6 and m.config.rms_norm_eps == 1e-5 and m.config.tie_word_embeddings
    # tied: the output matrix is the embedding, counted once
    assert count_parameters(m) == sum(p.numel() for p in m.parameters()) < sum(p.numel() for p in m.state_dict().values())


@pytest.mark.parametrize("bad", [dict(rope_theta=0.0), dict(rms_norm_eps=-1.0), dict(tie_word_embeddings=1),
                                 dict(hidden_size=True)])
def test_bad_shape_fields_are_refused(bad):
    from neural.models import TinyModelConfig

    with pytest.raises(InvalidArgument, match="model config"):
        TinyModelConfig(**bad)


def _saved_qwen2(folder, vocab_size, tokenizer=None):
    """A small Qwen2 saved with save_pretrained, with ``tokenizer`` beside it (or no tokenizer files)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    Qwen2ForCausalLM(Qwen2Config(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                 num_attention_heads=2, num_key_value_heads=1)).save_pretrained(folder)
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    return folder


def test_model_folder_without_tokenizer_files_is_refused_not_loaded_as_an_empty_tokenizer(tmp_path):
    """transformers 5 builds a tokenizer of 1 token that encodes 'Hello' to [] from config.json alone;
    it used to be accepted (empty training data, then a crash in the probes)."""
    folder = _saved_qwen2(tmp_path / "wnotok", 320)
    with pytest.raises(InvalidArgument, match="holds no loadable model and tokenizer .*encodes 'Hello' to no tokens"):
        load_pretrained(str(folder))


def test_tokenizer_larger_than_the_models_vocabulary_is_refused_naming_both_sizes(tmp_path):
    """A 100-row Qwen2 with a 400-token tokenizer beside it used to be an IndexError in training."""
    folder = _saved_qwen2(tmp_path / "small", 100, train_tokenizer(TEXTS * 20, 400))
    n = len(train_tokenizer(TEXTS * 20, 400))
    with pytest.raises(InvalidArgument, match=f"its tokenizer has {n} tokens but the model's vocabulary "
                                              r"\(vocab_size\) has 100"):
        load_pretrained(str(folder))


@pytest.fixture
def good_folder(tmp_path):
    return _saved_qwen2(tmp_path / "lm", 400, train_tokenizer(TEXTS * 20, 400))


def _edit_config(folder, **changes):
    import json

    path = folder / "config.json"
    keep = changes.pop("_keep", True)
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes} if keep else changes))


def test_damaged_or_misshapen_weights_are_one_line_naming_the_folder(good_folder):
    load_pretrained(str(good_folder))  # the folder as saved loads
    weights = good_folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(BayesAgentError, match=r"lm': its weights could not be loaded \(SafetensorError"):
        load_pretrained(str(good_folder))
    weights.write_bytes(data)
    _edit_config(good_folder, hidden_size=64)
    with pytest.raises(BayesAgentError, match=r"lm': its weights could not be loaded \(tensor shapes differ"):
        load_pretrained(str(good_folder))


def test_weights_that_do_not_fit_the_config_are_refused_not_trained_as_random(good_folder):
    """config.json {"model_type": "bert"} beside Qwen2 weights loaded a BertLMHeadModel with every
    weight initialised at random, and reproduce fine-tuned it as if it were pretrained."""
    _edit_config(good_folder, _keep=False, model_type="bert")
    with pytest.raises(InvalidArgument, match=r"of its BertLMHeadModel \(config.json model_type 'bert'\) are not in "
                                              r"its weights file"):
        load_pretrained(str(good_folder))


def test_masks_reads_the_tokenizer_without_loading_the_weights(good_folder, capsys):
    from bayes_agent.cli import main

    weights = good_folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # unloadable: masks must not need it
    assert main(["masks", "--preset", "micro", "--model", str(good_folder), "--json"]) == 0
    assert '"total"' in capsys.readouterr().out
