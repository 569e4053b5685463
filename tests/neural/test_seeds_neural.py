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
