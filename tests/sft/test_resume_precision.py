"""A run is resumed only in the precision it computed in: ``--precision auto`` resolved to bf16 on
a GPU is not the fp32 that auto gives on the CPU."""

import json

import pytest

from bayes_agent.cli import main
from bayes_agent.errors import InvalidArgument

SMOKE = ["--preset", "micro", "--no-progress", "--max-steps", "2", "--probe-facts", "1"]


def _gpu_checkpoint(out, typed="auto", ran="bf16"):
    """A checkpoint folder whose settings.json reads as written by a run on a GPU (the micro
    preset, seed 0), with ``typed`` resolved to ``ran`` there."""
    from neural.sft.experiment import select_facts
    from neural.sft.presets import get_preset
    from neural.sft.settings import RESOLVED_PRECISION, SETTINGS_FILE, run_settings

    preset = get_preset("micro").with_(precision=typed)
    settings = run_settings(preset, 0, [f for part in select_facts(preset, None) for f in part], "fp32")
    settings[RESOLVED_PRECISION] = ran  # what the GPU ran it as
    ckpt = out / "checkpoint"
    ckpt.mkdir(parents=True)
    (ckpt / SETTINGS_FILE).write_text(json.dumps(settings))
    (ckpt / "state.json").write_text(json.dumps({"step": 0, "losses": {}}))  # a checkpoint at step 0
    return ckpt


def test_auto_precision_run_as_bf16_on_a_gpu_is_not_resumed_as_fp32_on_the_cpu(tmp_path, capsys):
    out = tmp_path / "run"
    _gpu_checkpoint(out)
    before = sorted(p.name for p in out.rglob("*"))
    assert main(["reproduce", "--out", str(out), *SMOKE, "--device", "cpu", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "trained with --precision auto, run as bf16, not auto, run as fp32; resume with --precision bf16" in err
    assert len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in out.rglob("*")) == before  # refused before any work


def test_the_precision_it_ran_in_passes_the_check(tmp_path):
    from neural.sft.experiment import check_resumable
    from neural.sft.presets import get_preset

    ckpt = _gpu_checkpoint(tmp_path / "run")
    micro = get_preset("micro").with_(device="cpu")
    check_resumable(micro.with_(precision="bf16"), tmp_path / "run", [0], resume=ckpt)  # asked for explicitly
    with pytest.raises(InvalidArgument, match="--precision auto, run as bf16, not fp32;"):
        check_resumable(micro.with_(precision="fp32"), tmp_path / "run", [0], resume=ckpt)
    # a run saved before the resolved precision was recorded: auto is taken as this device's
    settings = json.loads((ckpt / "settings.json").read_text())
    del settings["train.resolved_precision"]
    (ckpt / "settings.json").write_text(json.dumps(settings))
    check_resumable(micro.with_(precision="fp32"), tmp_path / "run", [0], resume=ckpt)
