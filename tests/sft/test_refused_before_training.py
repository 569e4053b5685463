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


@pytest.mark.parametrize("argv, message", [
    (["--from-scratch", "--random-init"], "--from-scratch and --random-init both start from random weights"),
    (["--from-scratch", "--lora", "2"], "--lora 2 trains adapters on top of pretrained weights, and --from-scratch"),
])
def test_contradictory_options_are_one_line_before_any_work(tmp_path, capsys, argv, message):
    from bayes_agent.cli import main

    out = tmp_path / "run"
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not out.exists(), err


def test_a_model_that_is_a_plain_file_is_named_a_file(tmp_path, capsys):
    from bayes_agent.cli import main

    afile = tmp_path / "afile"
    afile.write_text("not a model")
    assert main(["reproduce", "--out", str(tmp_path / "run"), "--model", str(afile), "--no-progress"]) == 2
    assert f"--model '{afile}' is a file, not a model folder" in capsys.readouterr().err


def test_zero_means_off_in_the_help(capsys):
    """--checkpoint-every 0 and --lora 0 run (they mean off); the help says so."""
    from bayes_agent.cli import main

    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "0: only at the end" in text and "0: off, all weights" in text
