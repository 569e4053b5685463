"""Refusals that depend on the model come before any training and leave the run directory as it was."""

from dataclasses import replace

import pytest

import neural.sft.experiment as experiment
from bayes_agent.errors import InvalidArgument
from neural.sft.presets import PRESETS


def test_a_probe_longer_than_the_context_is_refused_before_training(tmp_path, monkeypatch):
    micro = PRESETS["micro"].from_scratch()
    short = micro.with_(tiny=replace(micro.tiny, max_position_embeddings=16), max_steps=2, probe_facts=1)
    trained = []
    monkeypatch.setattr(experiment, "train_arms", lambda *a, **k: trained.append(1))
    out = tmp_path / "run"
    with pytest.raises(InvalidArgument, match=r"probe text is \d+ tokens, longer than the model's context \(16\)"):
        experiment.run(short, out, progress=False)
    assert trained == [] and list(out.iterdir()) == []  # nothing trained, nothing written
