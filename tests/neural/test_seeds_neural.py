"""The neural side refuses a negative seed before torch would wrap it onto another seed."""

from __future__ import annotations

import pytest

from bayes_agent import InvalidArgument
from neural import TinyModelConfig, build_tiny_model


def test_build_tiny_model_refuses_a_negative_seed() -> None:
    config = TinyModelConfig(vocab_size=300, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                             num_attention_heads=2, num_key_value_heads=1)
    with pytest.raises(InvalidArgument, match=r"seed must be ≥ 0, got -1"):
        build_tiny_model(config, 300, seed=-1)
    assert build_tiny_model(config, 300, seed=1) is not None


@pytest.mark.parametrize("make", [
    lambda: __import__("neural").make_dialogues(__import__("neural").FACTS[:2], 4, seed=-1),
    lambda: __import__("neural").base_corpus(__import__("neural").FACTS[:2], seed=-1),
    lambda: __import__("neural").TrainConfig(seed=-1),
    lambda: __import__("neural").BaseConfig(seed=-1),
], ids=["make_dialogues", "base_corpus", "TrainConfig", "BaseConfig"])
def test_the_sft_pipeline_refuses_a_negative_seed(make) -> None:
    with pytest.raises(InvalidArgument, match=r"seed must be ≥ 0, got -1"):
        make()


def test_the_passive_learner_refuses_a_negative_seed() -> None:
    from neural import BCConfig, BCPolicy, PassiveLearner, train_passive_learner

    config = BCConfig(d_model=16, n_layers=1, n_heads=2, steps=1, batch_size=2)
    with pytest.raises(InvalidArgument, match=r"seed must be ≥ 0, got -1"):
        train_passive_learner(None, config, seed=-1)  # refused before the batch is read
    with pytest.raises(InvalidArgument, match=r"seed must be ≥ 0, got -1"):
        BCPolicy(PassiveLearner(7, config), seed=-1)
