"""The protocol's learning-rate choice: the rule, the loss it reads, and that it never probes."""

import math

import pytest
import torch

from bayes_agent.errors import InvalidArgument
from neural.masking import IGNORE_INDEX, LabelMode
from neural.sft.validation import choose_lr, select_lr, validation_loss


def test_choose_lr_takes_the_lowest_mean_and_breaks_ties_toward_the_smaller_lr():
    assert choose_lr({2e-4: [1.30, 1.32], 5e-4: [1.20, 1.22], 1e-3: [1.25, 1.19]}) == 5e-4
    # 1e-3 is lower by less than the 0.001 tolerance: tied, so the smaller lr wins
    assert choose_lr({5e-4: [1.2005], 1e-3: [1.2000]}) == 5e-4
    assert choose_lr({5e-4: [1.2020], 1e-3: [1.2000]}) == 1e-3
    with pytest.raises(InvalidArgument):
        choose_lr({})


def test_validation_loss_is_the_token_mean_under_the_standard_labels(micro_setup):
    model, exs, _, _ = micro_setup
    total = count = 0.0
    with torch.no_grad():
        for ex in exs:
            labels = torch.tensor(ex.labels[LabelMode.OBSERVATIONAL][1:])
            logits = model(input_ids=torch.tensor([ex.input_ids])).logits[0, :-1]
            total += float(torch.nn.functional.cross_entropy(logits, labels, ignore_index=IGNORE_INDEX, reduction="sum"))
            count += int((labels != IGNORE_INDEX).sum())
    assert validation_loss(model, exs) == pytest.approx(total / count)
    assert math.isfinite(validation_loss(model, exs[:1]))


def test_select_lr_trains_only_the_standard_arm_and_runs_no_probe(monkeypatch, tmp_path):
    import neural.sft.probes as probes
    import neural.sft.train as train
    from neural.sft.presets import get_preset

    seen = []
    real = train.train_lockstep

    def spy(*a, **kw):
        seen.append(tuple(kw["arms"]))
        return real(*a, **kw)

    def no_probe(*a, **kw):
        raise AssertionError("a validation run must not probe")

    monkeypatch.setattr(train, "train_lockstep", spy)
    for name in ("probe_facts", "probe_fact", "question_margin"):
        monkeypatch.setattr(probes, name, no_probe)
    preset = get_preset("micro").with_(n_dialogues=6)
    rec = select_lr(preset, lrs=(1e-3, 3e-3), seeds=(100,), base_cache=tmp_path, out=tmp_path)
    assert seen == [("obs",), ("obs",)]
    assert rec["chosen_lr"] == choose_lr({1e-3: rec["losses"]["0.001"], 3e-3: rec["losses"]["0.003"]})
    assert (tmp_path / "validation.json").exists()


def _no_training(monkeypatch):
    import neural.sft.train as train

    def refuse(*a, **kw):
        raise AssertionError("--out must be checked before any training")

    monkeypatch.setattr(train, "train_lockstep", refuse)


def test_cli_checks_out_before_any_work_and_never_writes_over_a_result(monkeypatch, tmp_path, capsys):
    from neural.sft.validation import RESULT_FILE, _main

    _no_training(monkeypatch)
    assert _main(["--out", "/proc/x", "--preset", "micro"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out: cannot create '/proc/x'") and len(err.splitlines()) == 1
    (tmp_path / RESULT_FILE).write_text("{}")
    assert _main(["--out", str(tmp_path), "--preset", "micro"]) == 2
    assert "already holds results (validation.json); pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / RESULT_FILE).read_text() == "{}"
    # --resume with no saved losses: nothing to continue, and the finished result stays as it was
    assert _main(["--out", str(tmp_path), "--preset", "micro", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "validation_losses.json is not there" in err and "run without --resume" in err
    assert (tmp_path / RESULT_FILE).read_text() == "{}"


def test_losses_are_saved_as_they_come_and_resume_trains_only_the_rest(monkeypatch, tmp_path, capsys):
    import json

    import neural.sft.train as train
    from neural.sft.validation import LOSSES_FILE, RESULT_FILE, _main

    real, calls = train.train_lockstep, []

    def second_is_ctrl_c(*a, **kw):
        calls.append(a[2].lr)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(train, "train_lockstep", second_is_ctrl_c)
    from neural.sft import validation
    from neural.sft.presets import get_preset

    monkeypatch.setattr(validation, "LR_GRID", (1e-3, 3e-3))
    monkeypatch.setattr(validation, "VALIDATION_SEEDS", (100,))
    monkeypatch.setattr("neural.sft.presets.get_preset", lambda name: get_preset("micro").with_(n_dialogues=6))
    out = tmp_path / "v"
    argv = ["--out", str(out), "--base-cache", str(tmp_path / "cache")]
    assert _main(argv) == 130
    err = capsys.readouterr().err
    assert f"the losses so far are in {out / LOSSES_FILE}" in err and err.rstrip().endswith("--resume")
    saved = json.loads((out / LOSSES_FILE).read_text())
    assert list(saved["losses"]["100"]) == ["0.001"] and not (out / RESULT_FILE).exists()
    assert _main(argv) == 2  # the saved losses are results: not written over without --resume
    capsys.readouterr()
    calls.clear()
    assert _main([*argv, "--resume"]) == 0
    assert calls == [3e-3]  # the first lr's loss was kept, not trained again
    rec = json.loads((out / RESULT_FILE).read_text())
    assert rec["losses"]["0.001"] == [saved["losses"]["100"]["0.001"]]


def test_running_the_module_gives_no_runtime_warning(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "neural.sft.validation", "--out",
                        "/proc/x"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "RuntimeWarning" not in r.stderr, r.stderr
    assert r.stderr.startswith("error: --out: cannot create")
