"""``reproduce`` fixes from an outside probe: --random-init on the tiny shapes, --resume under other
settings, --overwrite of earlier results, refusals before any work, and ``sweep --jobs``."""

import json
import os

import pytest

from bayes_agent.cli import main

SMOKE = ["--preset", "micro", "--no-progress", "--max-steps", "2", "--probe-facts", "1"]


def _snapshot(d):
    """Every file under ``d`` with its size and modification time (what a refusal must not change)."""
    return {str(p.relative_to(d)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(d.rglob("*"))}


def test_random_init_builds_random_weights_on_the_micro_preset(tmp_path, capsys):
    """--random-init used to load the pretrained micro base all the same (same Δ, "pretrained tiny
    base" in metrics.json) while the report said RANDOM INIT."""
    out = tmp_path / "run"
    assert main(["reproduce", "--out", str(out), *SMOKE, "--random-init"]) == 0
    assert "(random init: timing and memory only)" in capsys.readouterr().err
    m = json.loads((out / "metrics.json").read_text())
    assert m["random_init"] is True and m["base_kind"].startswith("random init of the model's shape")
    assert m["base_cached"] is False and m["base_key"] is None and m["probe_phrasings_in_base_corpus"] is None
    assert (out / "report.md").read_text().startswith("# RANDOM INIT")


def test_resume_under_other_training_or_data_settings_is_refused_before_any_work(tmp_path, capsys):
    """--p-lie and --lr used to be accepted on --resume (weights trained at 0.6 reported as 0.1; the
    new lr ignored). Now every setting that changes the data or the training must match."""
    out = tmp_path / "run"
    assert main(["reproduce", "--out", str(out), *SMOKE]) == 0
    capsys.readouterr()
    before = _snapshot(out)
    for extra, message in [(["--p-lie", "0.1"], "trained with --p-lie 0.6, not 0.1"),
                           (["--lr", "0.5"], "trained with --lr 0.001, not 0.5"),
                           (["--n-dialogues", "10"], "trained with --n-dialogues 12, not 10"),
                           (["--random-init"], "trained with --random-init off, not on"),
                           (["--lora", "2"], "trained with --lora 0, not 2")]:
        assert main(["reproduce", "--out", str(out), *SMOKE, "--resume", *extra]) == 2, extra
        captured = capsys.readouterr()
        assert message in captured.err and len(captured.err.strip().splitlines()) == 1, captured.err
        assert captured.out == ""  # refused before the §4 example or anything else ran
        assert _snapshot(out) == before
    # settings that change neither data nor training may differ
    assert main(["reproduce", "--out", str(out), *SMOKE, "--resume", "--threads", "1", "--probe-facts", "2"]) == 0
    # a precision is compared as it runs: the preset's auto ran as fp32 on the CPU (was refused as typed)
    assert main(["reproduce", "--out", str(out), *SMOKE, "--resume", "--device", "cpu", "--precision", "fp32"]) == 0
    capsys.readouterr()
    assert main(["reproduce", "--out", str(out), *SMOKE, "--resume", "--device", "cpu", "--precision", "bf16"]) == 2
    assert "trained with --precision fp32, not bf16" in capsys.readouterr().err  # the resume above saved fp32


def test_overwrite_replaces_earlier_results_and_keeps_other_files(tmp_path, capsys):
    """--overwrite used to leave an earlier run's seed_1/ and other arms' checkpoints in --out; and a
    multi-seed --resume under another --lr reused the finished seeds."""
    out = tmp_path / "run"
    assert main(["reproduce", "--out", str(out), *SMOKE, "--seeds", "0", "1"]) == 0
    assert main(["reproduce", "--out", str(out), *SMOKE, "--seeds", "0", "1", "--resume", "--lr", "0.5"]) == 2
    assert "seed_0 was trained with --lr 0.001, not 0.5" in capsys.readouterr().err
    (out / "notes.txt").write_text("mine")
    (out / "seed_1" / "mine").mkdir()
    (out / "seed_1" / "mine" / "a.txt").write_text("mine too")
    assert main(["reproduce", "--out", str(out), *SMOKE, "--overwrite"]) == 0
    left = {str(p.relative_to(out)) for p in out.rglob("*")}
    assert "seed_0" not in left and not any(p.startswith("seed_1/") and "mine" not in p for p in left), left
    assert {"notes.txt", "seed_1/mine/a.txt", "metrics.json", "checkpoint/obs.safetensors"} <= left
    assert json.loads((out / "metrics.json").read_text())["seed"] == 0  # the new single-seed run's
    assert main(["reproduce", "--out", str(out), *SMOKE, "--overwrite", "--arms", "do"]) == 0
    assert sorted(p.name for p in (out / "checkpoint").iterdir()) == [
        "do.optim.json", "do.optim.safetensors", "do.safetensors", "settings.json", "state.json"]
    assert (out / "notes.txt").read_text() == "mine"


def test_remove_outputs_touches_only_the_commands_own_files(tmp_path):
    from neural.sft.outputs import remove_outputs

    ours = ["report.md", "metrics.json", "two_action.json", "checkpoint/state.json", "checkpoint/obs.safetensors",
            "checkpoint_do/do.optim.json", "seed_3/probes.json", "seed_3/checkpoint/settings.json"]
    theirs = ["notes.md", "data/metrics.json", "checkpoint/README", "seed_x/report.md", "seed_4/thesis.tex"]
    for name in ours + theirs:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / "seed_5").mkdir()  # an empty seed folder of an earlier run goes too
    remove_outputs(tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == sorted(theirs)
    assert not (tmp_path / "seed_3").exists() and not (tmp_path / "checkpoint_do").exists()
    assert not (tmp_path / "seed_5").exists()


def _refused_before_work(argv, out, message, capsys):
    assert main(["reproduce", "--out", str(out), *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1, captured.err
    assert captured.out == "" and not out.exists()  # no §4 line, no two_action.json, no folder
    # so the same command is refused for the same reason, not for an --out that now holds results
    assert main(["reproduce", "--out", str(out), *argv]) == 2
    assert message in capsys.readouterr().err


def test_model_folder_without_weights_is_refused_before_any_work(tmp_path, capsys):
    folder = tmp_path / "noweights"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    _refused_before_work([*SMOKE, "--model", str(folder)], tmp_path / "out", "no weights and no tokenizer files in", capsys)


def test_fp16_on_the_cpu_is_refused_before_any_work(tmp_path, capsys):
    _refused_before_work([*SMOKE, "--device", "cpu", "--precision", "fp16"], tmp_path / "out",
                         "--precision: precision fp16 needs a CUDA device", capsys)


def test_compare_to_a_single_seed_run_is_refused_before_any_seed_runs(tmp_path, capsys):
    single = tmp_path / "single"
    single.mkdir()
    (single / "metrics.json").write_text(json.dumps({"seed": 0, "mean_delta_obs": 0.1, "mean_delta_do": 0.2}))
    _refused_before_work([*SMOKE, "--seeds", "0", "1", "--compare-to", str(single)], tmp_path / "out",
                         "no multi-seed metrics.json there", capsys)
    two = tmp_path / "two"
    two.mkdir()
    (two / "metrics.json").write_text(json.dumps({"per_seed": [{"seed": 0, "arms": ["obs", "do"]}]}))
    _refused_before_work([*SMOKE, "--seeds", "0", "1", "--compare-to", str(two)], tmp_path / "out",
                         "lacks seed(s) [1]", capsys)


def test_sweep_jobs_beyond_the_cpus_is_refused(tmp_path, capsys):
    out = tmp_path / "sweep"
    jobs = (os.cpu_count() or 1) + 1
    assert main(["sweep", "--out", str(out), "--preset", "micro", "--jobs", str(jobs)]) == 2
    err = capsys.readouterr().err
    assert f"--jobs must be between 1 and {os.cpu_count() or 1} on this machine" in err and not out.exists()


def test_sweep_refuses_two_lie_rates_that_share_a_run_folder(tmp_path, capsys):
    """--p-lie 0.5 0.501 used to run both into p_0.50/ (the 0.5 runs overwritten) while sweep.json
    listed both rates; --resume then refused the sweep's own command."""
    out = tmp_path / "sweep"
    assert main(["sweep", "--out", str(out), "--preset", "micro", "--no-progress", "--epochs", "1",
                 "--p-lie", "0.5", "0.501", "--seeds", "0", "1"]) == 2
    err = capsys.readouterr().err
    assert "p_lie 0.5 and 0.501 would share the run folder p_0.50" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_resume_across_single_and_multi_seed_layouts_is_refused_before_any_work(tmp_path, capsys):
    """A single-seed --out resumed with --seeds 0 1 used to train both seeds from scratch beside the
    stale root files; a two-seed --out resumed as one seed retrained seed 0 at the root."""
    import shutil

    single = tmp_path / "single"
    assert main(["reproduce", "--out", str(single), *SMOKE]) == 0
    multi = tmp_path / "multi"  # the layout of a two-seed run: each seed's run in seed_<k>/
    for s in (0, 1):
        shutil.copytree(single, multi / f"seed_{s}")
    capsys.readouterr()
    for out, argv, message in [(single, ["--seeds", "0", "1"], "was trained with --seeds 0, not 0 1"),
                               (multi, [], "was trained with --seeds 0 1, not 0"),
                               (multi, ["--seeds", "0"], "was trained with --seeds 0 1, not 0")]:
        before = _snapshot(out)
        assert main(["reproduce", "--out", str(out), *SMOKE, *argv, "--resume"]) == 2, argv
        captured = capsys.readouterr()
        assert message in captured.err and len(captured.err.strip().splitlines()) == 1, captured.err
        assert captured.out == "" and _snapshot(out) == before


def test_compare_to_the_folder_being_overwritten_is_refused_before_it_is_emptied(tmp_path, capsys):
    """--compare-to X --out X --overwrite used to remove X's results, then refuse 'no multi-seed
    metrics.json there', leaving X empty."""
    out = tmp_path / "seeds"
    out.mkdir()
    per_seed = [{"seed": s, "arms": ["obs", "do"], "mean_delta_obs": 0.1, "mean_delta_do": 0.2} for s in (0, 1)]
    (out / "metrics.json").write_text(json.dumps({"per_seed": per_seed}))
    before = _snapshot(out)
    assert main(["reproduce", "--out", str(out), *SMOKE, "--seeds", "0", "1", "--compare-to", str(out),
                 "--overwrite"]) == 2
    captured = capsys.readouterr()
    assert "is this run's own --out" in captured.err and len(captured.err.strip().splitlines()) == 1
    assert captured.out == "" and _snapshot(out) == before


def test_resume_from_a_missing_checkpoint_is_refused_before_any_work(tmp_path, capsys):
    """--resume /nonexist used to load the model first and leave an empty --out/checkpoint/."""
    _refused_before_work([*SMOKE, "--resume", str(tmp_path / "nonexist")], tmp_path / "out",
                         "(state.json is missing)", capsys)


def test_model_folder_without_tokenizer_files_or_with_a_too_large_tokenizer_is_refused(tmp_path, capsys):
    """A folder with config.json and weights only was accepted (an empty tokenizer: empty training
    data, then a RuntimeError in the probes; `masks` printed 0 tokens); a tokenizer larger than the
    model's vocab_size was an IndexError in training."""
    from neural.models import train_tokenizer
    from tests.neural.test_models import TEXTS, _saved_qwen2

    wnotok = _saved_qwen2(tmp_path / "wnotok", 320)
    capsys.readouterr()  # save_pretrained's progress bar
    _refused_before_work([*SMOKE, "--model", str(wnotok)], tmp_path / "out",
                         "holds no loadable model and tokenizer (config.json, weights, tokenizer files)", capsys)
    assert main(["masks", "--preset", "micro", "--model", str(wnotok)]) == 2
    captured = capsys.readouterr()
    assert "encodes 'Hello' to no tokens" in captured.err and captured.out == ""
    tok = train_tokenizer(TEXTS * 20, 400)
    small = _saved_qwen2(tmp_path / "small", 100, tok)
    capsys.readouterr()
    _refused_before_work([*SMOKE, "--model", str(small)], tmp_path / "out",
                         f"its tokenizer has {len(tok)} tokens but the model's vocabulary (vocab_size) has 100", capsys)
    assert main(["masks", "--preset", "micro", "--model", str(small)]) == 2
    assert "(vocab_size) has 100" in capsys.readouterr().err



@pytest.mark.parametrize("tokenizer_json", ["not json", '{"version": "1.0", "model": {"type": "BPE"}}'])
def test_a_model_folder_with_a_damaged_tokenizer_is_refused_in_one_line(tmp_path, capsys, tokenizer_json):
    """config.json, a weights file and a tokenizer.json that is not JSON (the tokenizer check named a
    helper it had not imported: a NameError traceback) or JSON without its parts (a KeyError)."""
    folder = tmp_path / "damaged"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "qwen2", "vocab_size": 100}')
    (folder / "model.safetensors").write_text("x")
    (folder / "tokenizer.json").write_text(tokenizer_json)
    (folder / "tokenizer_config.json").write_text("{}")
    _refused_before_work([*SMOKE, "--model", str(folder)], tmp_path / "out", "holds no loadable model", capsys)

def test_a_damaged_settings_file_is_refused_not_skipped(tmp_path):
    """A config.json or settings.json that cannot be read used to count as 'no settings' and the
    resume check was skipped; absent files still mean nothing to compare."""
    from bayes_agent.errors import InvalidArgument
    from neural.sft.settings import saved_settings

    assert saved_settings(tmp_path / "config.json") is None  # absent
    (tmp_path / "config.json").write_text('{"settings": {"lr": 0.1')  # truncated
    with pytest.raises(InvalidArgument, match="config.json is damaged"):
        saved_settings(tmp_path / "config.json")
    (tmp_path / "settings.json").write_text('{"lr": 0.1}')
    assert saved_settings(tmp_path / "settings.json") == {"lr": 0.1}


@pytest.mark.parametrize("seeds", [[], ["--seeds", "0", "1"]])
def test_resume_with_weights_but_no_state_json_is_refused_not_started_over(tmp_path, capsys, seeds):
    """A checkpoint whose state.json was lost used to be ignored by --resume: the run started over
    and replaced the finished run's report.md and config.json."""
    out = tmp_path / "out"
    ckpt = out / ("seed_1/checkpoint" if seeds else "checkpoint")
    ckpt.mkdir(parents=True)
    (ckpt / "obs.safetensors").write_bytes(b"weights")
    (out / "report.md").write_text("the finished run")
    before = _snapshot(out)
    assert main(["reproduce", "--out", str(out), *SMOKE, *seeds, "--resume"]) == 2
    captured = capsys.readouterr()
    assert f"checkpoint {ckpt} has weights (obs.safetensors) but no state.json" in captured.err, captured.err
    assert len(captured.err.strip().splitlines()) == 1 and captured.out == "" and _snapshot(out) == before
