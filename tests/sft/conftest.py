"""Shared micro fixtures of the training tests (six dialogues, their masks, a micro Qwen2), and one
session-wide temporary cache for every base model the tests build (never ~/.cache)."""

import os

import pytest
import torch

from bayes_agent.transcript import render
from neural.masking import mask_transcript
from neural.models import build_tiny_model, train_tokenizer
from neural.sft.dialogues import make_dialogues
from neural.sft.facts import FACTS
from neural.sft.presets import PRESETS


@pytest.fixture(scope="package")
def micro_setup():
    """(model, masked examples, tokenizer, dialogues) on the micro preset's shape, seed 0."""
    torch.set_num_threads(1)  # the test machine is shared; more threads thrash
    tiny = PRESETS["micro"].tiny
    ds = make_dialogues(FACTS[:4], 6, seed=0)
    tok = train_tokenizer([render(d).text for d in ds], tiny.vocab_size)
    exs = [mask_transcript(d, tok) for d in ds]
    return build_tiny_model(tiny, len(tok), 0), exs, tok, ds


def same_weights(a, b) -> bool:
    """Every tensor of two models' state dicts bitwise equal."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)

@pytest.fixture(scope="session", autouse=True)
def base_cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("base_cache")
    old = os.environ.get("BAYES_AGENT_CACHE")
    os.environ["BAYES_AGENT_CACHE"] = str(path)
    yield path / "base"
    if old is None:
        os.environ.pop("BAYES_AGENT_CACHE", None)
    else:
        os.environ["BAYES_AGENT_CACHE"] = old
