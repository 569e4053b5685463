"""The main job through the CLI on the micro preset: files, metric names, seeds, resume, bad input."""

import json
from pathlib import Path
import subprocess
import sys

import pytest

from bayes_agent.cli import main
from bayes_agent.errors import InvalidArgument

METRIC_NAMES = {
    "mean_delta_obs", "mean_delta_do", "facts_lie_preferred_obs", "facts_lie_preferred_do",
    "facts_do_beats_obs", "n_facts", "supervised_tokens_obs", "supervised_tokens_do",
    "agent_content_tokens", "masked_unmasked_step_cost_ratio", "seconds_total",
}
ISSUE_12_KEYS = {
    "base_mean_delta", "base_facts_truth_preferred", "mean_delta_assistant_only",
    "facts_lie_preferred_assistant_only", "held_out_base_mean_delta", "held_out_mean_delta_obs",
    "held_out_mean_delta_do", "held_out_facts_truth_preferred_base", "whole_word_share", "truth_probe_base",
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--no-progress"]) == 0
    return out


def test_run_directory_contents(run_dir):
    for name in ("report.md", "metrics.json", "config.json", "figure1_loss.png", "figure2_delta.png",
                 "table2_truth_probe.md", "table3_lie_probe.md", "masks.md", "checkpoint/obs.safetensors",
                 "checkpoint/do.safetensors", "checkpoint/ao.safetensors", "checkpoint/state.json"):
        assert (run_dir / name).exists(), name
    m = json.loads((run_dir / "metrics.json").read_text())
    assert METRIC_NAMES <= set(m) and ISSUE_12_KEYS <= set(m)
    assert m["n_facts"] == 4 and m["held_out_n_facts"] == 3 and m["arms"] == ["obs", "do", "ao"]
    assert m["shift_obs"] == pytest.approx(m["mean_delta_obs"] - m["base_mean_delta"])
    assert m["held_out_shift_do"] == pytest.approx(m["held_out_mean_delta_do"] - m["held_out_base_mean_delta"])
    assert sum(m["truth_probe_base"].values()) == 4 and 0 <= m["whole_word_share"] <= 1
    probes = json.loads((run_dir / "probes.json").read_text())
    assert set(probes) == {"base", "obs", "do", "ao"}
    assert [r["margin"]["delta"] for r in probes["base"] if not r.get("held_out")] != \
        [r["margin"]["delta"] for r in probes["obs"] if not r.get("held_out")]  # fine-tuning moved the arm
    assert m["supervised_tokens_obs"] - m["supervised_tokens_do"] == m["agent_content_tokens"] > 0
    assert 0 <= m["facts_do_beats_obs"] <= 4
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["preset"]["name"] == "micro"
    assert cfg["base"]["config"]["seed"] == cfg["seed"] == 0  # one base per seed: the base's seed is the run's
    # no probe prompt occurs in the corpus the base read, nor in the dialogues; the memorised probe is reported
    assert m["probe_phrasings_in_base_corpus"] == 0 and m["probe_phrasings_in_dialogues"] == 0
    assert isinstance(m["memorised_mean_delta_do"], float) and isinstance(m["memorised_base_mean_delta"], float)
    report = (run_dir / "report.md").read_text()
    for piece in ("figure1_loss.png", "figure2_delta.png", "Table 2", "Table 3", "role table",
                  "shift from the base", "assistant-only SFT", "Held-out facts", "The base model",
                  "What the replies look like", "The §4 worked example", "Section 4 of the paper"):
        assert piece in report


def test_resume_from_a_finished_run_reproduces_its_metrics(run_dir, tmp_path):
    out = tmp_path / "again"
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--no-progress",
                 "--resume", str(run_dir / "checkpoint")]) == 0
    a = json.loads((run_dir / "metrics.json").read_text())
    b = json.loads((out / "metrics.json").read_text())
    assert b["mean_delta_obs"] == a["mean_delta_obs"] and b["mean_delta_do"] == a["mean_delta_do"]


def test_checkpoint_every_writes_a_resumable_checkpoint(tmp_path):
    import json as _json

    assert main(["reproduce", "--out", str(tmp_path), "--preset", "micro", "--no-progress",
                 "--checkpoint-every", "5"]) == 0
    state = _json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert state["step"] == 12 and state["config"]["checkpoint_every"] == 5


def test_seeds_are_aggregated(tmp_path, capsys):
    assert main(["reproduce", "--out", str(tmp_path), "--preset", "micro", "--no-progress",
                 "--seeds", "0", "1", "--epochs", "1", "--n-dialogues", "8"]) == 0
    agg = json.loads((tmp_path / "metrics.json").read_text())
    assert agg["seeds"] == [0, 1] and len(agg["per_seed"]) == 2
    gap = [m["mean_delta_do"] - m["mean_delta_obs"] for m in agg["per_seed"]]
    assert agg["delta_do_minus_obs"]["mean"] == pytest.approx(sum(gap) / 2)
    assert agg["delta_do_minus_obs"]["lo"] <= agg["delta_do_minus_obs"]["mean"] <= agg["delta_do_minus_obs"]["hi"]
    assert set(agg["per_fact_wins_do"].values()) <= {0, 1, 2}
    assert (tmp_path / "seed_1" / "report.md").exists() and "Aggregate" in (tmp_path / "report.md").read_text()
    assert agg["shift_obs"]["mean"] == pytest.approx(sum(m["shift_obs"] for m in agg["per_seed"]) / 2)
    assert set(agg["held_out_per_fact"]) == {"the capital of Canada", "the chemical symbol for iron",
                                             "the inventor of the telephone"}
    assert set(next(iter(agg["held_out_per_fact"].values()))) == {"base", "obs", "do", "ao"}
    # each seed pretrains its own base, so the base's margin varies across seeds and its interval is real
    seeds_cfg = [json.loads((tmp_path / f"seed_{s}" / "config.json").read_text())["base"] for s in (0, 1)]
    assert [b["config"]["seed"] for b in seeds_cfg] == [0, 1] and seeds_cfg[0]["key"] != seeds_cfg[1]["key"]
    assert agg["base_mean_delta"]["lo"] < agg["base_mean_delta"]["hi"]
    # a rerun into the same directory is refused; with --resume it finds both seeds finished and
    # aggregates them without training again
    before = (tmp_path / "seed_0" / "metrics.json").stat().st_mtime_ns
    assert main(["reproduce", "--out", str(tmp_path), "--preset", "micro", "--no-progress",
                 "--seeds", "0", "1", "--epochs", "1", "--n-dialogues", "8"]) == 2
    assert "--resume to continue an interrupted run" in capsys.readouterr().err
    assert main(["reproduce", "--out", str(tmp_path), "--preset", "micro", "--no-progress",
                 "--seeds", "0", "1", "--epochs", "1", "--n-dialogues", "8", "--resume"]) == 0
    assert (tmp_path / "seed_0" / "metrics.json").stat().st_mtime_ns == before
    # the ablation report: the same seeds, paired with the run above
    abl = tmp_path / "ablated"
    assert main(["reproduce", "--out", str(abl), "--preset", "micro", "--no-progress", "--seeds", "0", "1",
                 "--epochs", "1", "--n-dialogues", "8", "--ablate-first-token", "--compare-to", str(tmp_path)]) == 0
    c = json.loads((abl / "metrics.json").read_text())["compared_to"]
    this = json.loads((abl / "metrics.json").read_text())["per_seed"]
    assert c["mean_delta_obs"]["mean"] == pytest.approx(
        sum(a["mean_delta_obs"] - b["mean_delta_obs"] for a, b in zip(this, agg["per_seed"])) / 2)
    assert c["delta_do_minus_obs_other"]["mean"] == pytest.approx(agg["delta_do_minus_obs"]["mean"])
    assert "Compared with another run" in (abl / "report.md").read_text()
    # the one setting that differs is listed; other probed facts are refused before any work
    assert c["settings_differ"] == [{"setting": "ablate_first_token", "other": False, "this": True}]
    assert "| ablate_first_token | `false` | `true` |" in (abl / "report.md").read_text()
    fewer = tmp_path / "fewer"
    capsys.readouterr()
    assert main(["reproduce", "--out", str(fewer), "--preset", "micro", "--no-progress", "--seeds", "0", "1",
                 "--epochs", "1", "--n-dialogues", "8", "--probe-facts", "1", "--compare-to", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert (f"--compare-to {tmp_path} probed other facts than this run (4 probed training facts there, 1 here)"
            in err and len(err.strip().splitlines()) == 1 and not fewer.exists()), err


def test_compare_to_without_the_standard_or_interventional_arm_is_one_line(tmp_path, capsys):
    """``--arms do ao --compare-to DIR`` used to end in a TypeError after every seed had run;
    now it is refused before any work, and so is a comparison with a run that lacks an arm."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "metrics.json").write_text(json.dumps({"per_seed": [
        {"seed": s, "arms": ["do", "ao"], "mean_delta_obs": None, "mean_delta_do": 1.0} for s in (0, 1)]}))
    out = tmp_path / "run"
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--no-progress", "--seeds", "0", "1",
                 "--arms", "do", "ao", "--compare-to", str(other)]) == 2
    err = capsys.readouterr().err
    assert "this run has no obs arm" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (out / "seed_0").exists()  # refused before any seed ran
    from neural.sft.aggregate import compare_runs

    with pytest.raises(InvalidArgument, match=r"--compare-to .* has no obs arm"):
        compare_runs([{"seed": s, "arms": ["obs", "do"], "mean_delta_obs": 0.0, "mean_delta_do": 1.0} for s in (0, 1)],
                     other)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--model", "/no/such/model/dir"], "no such directory"),
        (["--preset", "paper", "--device", "cpu"], "no local weights for model 'Qwen/Qwen2.5-0.5B'"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--device", "cuda:7"], "device 'cuda:7' asked for, but"),
        (["--threads", "0"], "threads must be an integer between 1 and"),
        (["--precision", "fp8"], "precision must be one of"),
        (["--lora", "-1"], "lora_rank must be a non-negative integer"),
        (["--max-steps", "0"], "max_steps must be a positive integer"),
        (["--probe-facts", "0"], "probe_facts must be a positive integer"),
        (["--preset", "giant"], "unknown preset"),
        (["--n-dialogues", "0"], "n_dialogues"),
        (["--epochs", "0"], "epochs"),
        (["--seeds", "1", "1"], "repeated seeds"),
        (["--p-lie", "1.5"], "--p-lie must be a probability"),
        (["--arms", "obs", "xx"], "unknown arm(s) ['xx']"),
        (["--arms", "do", "do"], "repeated arm"),
        (["--facts", "/no/such/facts.jsonl"], "cannot read the fact file"),
        (["--compare-to", "/no/such/run"], "--compare-to needs --seeds"),
        (["--seeds", "0", "1", "--compare-to", "/no/such/run"], "no multi-seed metrics.json"),
    ],
)
def test_bad_input_is_a_clear_error(argv, message, tmp_path, capsys):
    assert main(["reproduce", "--out", str(tmp_path), "--preset", "micro", "--no-progress", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_negative_checkpoint_interval_names_the_option_and_its_value(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "--out", str(tmp_path / "r"), "--preset", "micro", "--checkpoint-every", "-1"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.strip().splitlines()[-1].endswith(
        "error: argument --checkpoint-every: must be ≥ 0, got -1"), err
    assert not (tmp_path / "r").exists()


def test_masks_command_prints_the_role_table(capsys):
    assert main(["masks", "--preset", "micro", "--per-dialogue"]) == 0
    out = capsys.readouterr().out
    assert "| # | token | role | std | interv |" in out and "whole data set" in out
    assert main(["masks", "--preset", "micro", "--json"]) == 0
    acc = json.loads(capsys.readouterr().out)["total"]
    assert acc["supervised_obs"] - acc["supervised_do"] == acc["agent_content_tokens"]


def test_command_modules_do_not_import_torch():
    code = ("import sys, neural.commands.reproduce, neural.commands.masks; "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_model_from_a_local_directory(tmp_path):
    """--model PATH loads a saved model and its tokenizer (the paper-scale code path, locally)."""
    from neural.models import build_tiny_model, train_tokenizer
    from neural.sft.presets import get_preset

    local = tmp_path / "local-model"
    tok = train_tokenizer(["User: Tell me about gold. Agent: The chemical symbol for gold is Au."] * 20, 300)
    build_tiny_model(get_preset("micro").tiny, len(tok), 0).save_pretrained(local)
    tok.save_pretrained(local)
    out = tmp_path / "run"
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--model", str(local),
                 "--no-progress"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert str(local) in json.dumps(config)
    assert json.loads((out / "metrics.json").read_text())["n_facts"] == 4
    report_md = (out / "report.md").read_text()
    assert "§4 worked example" in report_md
    # the report names the model it loaded (it said "loaded from the cache" and never named it)
    assert f"Loaded from `{local}` (Qwen2ForCausalLM)." in report_md and f"(loaded from {local})" in report_md
    assert "loaded from the cache" not in report_md
    assert json.loads((out / "metrics.json").read_text())["base_cached"] is False
    worked = json.loads((out / "two_action.json").read_text())
    assert worked["w2"]["p_B"]["exact"] == "56/69" and worked["w2_naive"]["p_B"]["exact"] == "112/229"


def test_paper_path_options_reach_the_run(tmp_path, capsys):
    """--random-init, --lora, --sequential-arms, --max-steps, --probe-facts on the micro shape."""
    out = tmp_path / "run"
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--random-init", "--lora", "2",
                 "--sequential-arms", "--max-steps", "3", "--probe-facts", "2", "--device", "auto"]) == 0
    assert "parameters (random init: timing and memory only)" in capsys.readouterr().err
    first = (out / "report.md").read_text().splitlines()[0]
    assert first.startswith("# RANDOM INIT, for timing and memory only")
    m = json.loads((out / "metrics.json").read_text())
    assert m["steps"] == 3 and m["n_facts"] == 2 and m["random_init"] is True
    assert m["n_params"] > 320 * 32  # the full vocabulary of the shape, not the tokenizer's
    cfg = json.loads((out / "config.json").read_text())
    # the summary names training and probed facts apart, and the epochs --max-steps cut short as run
    n_train, epochs, n = cfg["preset"]["n_facts"], cfg["train"]["epochs"], m["n_dialogues"]
    assert n_train > 2 and m["n_train_facts"] == n_train
    report_md = (out / "report.md").read_text()
    assert (f"{n_train} training facts (2 probed), {n} dialogues" in report_md
            and f"{3 / n:.2g} of {epochs} fine-tuning epoch{'s' if epochs > 1 else ''} (stopped by --max-steps)"
            in report_md and "3 steps per arm" in report_md), report_md
    assert "final loss (mean of last 3 steps)" in report_md
    assert "LoRA adapters of rank 2 (alpha 4) instead of full fine-tuning" in report_md  # not a full fine-tune
    assert cfg["preset"]["sequential_arms"] and cfg["train"]["lora_rank"] == 2
    env = cfg["environment"]
    assert env["device"] == "cpu" and env["precision"] == "fp32" and env["torch_threads"] == 1
    for key in ("python", "torch", "transformers", "tokenizers", "numpy", "cpu_model"):
        assert env[key], key
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["sequential"] and state["arm_steps"] == {"obs": 3, "do": 3, "ao": 3}
def test_own_facts_replace_the_built_in_banks(tmp_path):
    facts = tmp_path / "facts.jsonl"
    facts.write_text("\n".join(json.dumps(r) for r in [
        {"topic": "the colour of the sky", "true": "The sky is blue.", "false": "The sky is green.", "split": "train"},
        {"topic": "the wheels of a bicycle", "true": "A bicycle has two wheels.", "false": "A bicycle has three wheels.",
         "split": "train"},
        {"topic": "the colour of snow", "true": "Snow is white.", "false": "Snow is purple.", "split": "held_out"},
    ]) + "\n")
    out = tmp_path / "run"
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--no-progress", "--facts", str(facts)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert METRIC_NAMES <= set(m) and ISSUE_12_KEYS <= set(m)
    assert m["n_facts"] == 2 and m["held_out_n_facts"] == 1
    probes = json.loads((out / "probes.json").read_text())
    assert [r["topic"] for r in probes["obs"]] == ["the colour of the sky", "the wheels of a bicycle", "the colour of snow"]
    assert "Snow is purple." in json.dumps(json.loads((out / "config.json").read_text())["held_out"])


def test_bad_fact_file_is_one_line_naming_the_line(tmp_path, capsys):
    facts = tmp_path / "facts.jsonl"
    facts.write_text('{"topic": "x", "true": "A.", "false": "B.", "split": "dev"}\n')
    assert main(["reproduce", "--out", str(tmp_path / "r"), "--preset", "micro", "--no-progress",
                 "--facts", str(facts)]) == 2
    err = capsys.readouterr().err.strip()
    assert "facts.jsonl:1: unknown split 'dev'" in err and len(err.splitlines()) == 1


def test_arms_subset_and_from_scratch(tmp_path):
    out = tmp_path / "two"
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--no-progress", "--arms", "obs", "do",
                 "--from-scratch"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["arms"] == ["obs", "do"] and m["mean_delta_assistant_only"] is None and METRIC_NAMES <= set(m)
    assert m["base_kind"].startswith("random init") and not (out / "checkpoint" / "ao.safetensors").exists()


def test_ablate_order_gives_each_arm_its_own_order(tmp_path, run_dir):
    out = tmp_path / "order"
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--no-progress", "--ablate-order"]) == 0
    orders = {a: json.loads((out / f"checkpoint_{a}" / "state.json").read_text())["order"] for a in ("obs", "do", "ao")}
    assert sorted(orders["obs"]) == sorted(orders["do"]) and len({tuple(o) for o in orders.values()}) == 3
    m, ref = json.loads((out / "metrics.json").read_text()), json.loads((run_dir / "metrics.json").read_text())
    assert m["ablate_order"] and m["base_mean_delta"] == ref["base_mean_delta"]
    assert m["mean_delta_obs"] != ref["mean_delta_obs"]  # another order, another model


def test_ablate_first_token_rescoring(tmp_path, run_dir):
    out = tmp_path / "first"
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--no-progress", "--ablate-first-token"]) == 0
    m, ref = json.loads((out / "metrics.json").read_text()), json.loads((run_dir / "metrics.json").read_text())
    assert m["ablate_first_token"] and m["final_loss_obs"] == ref["final_loss_obs"]  # same training
    assert m["base_mean_delta"] != ref["base_mean_delta"]  # different scoring


def test_sweep_writes_slopes_and_resumes(tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "--out", str(out), "--preset", "micro", "--no-progress", "--p-lie", "0", "0.5", "1",
            "--seeds", "0"]
    assert main(argv) == 0
    s = json.loads((out / "sweep.json").read_text())
    assert s["p_lie"] == [0.0, 0.5, 1.0] and s["arms"] == ["obs", "do", "ao"]
    for arm in ("obs", "do", "ao"):
        assert len(s["mean_delta"][arm]) == 3
        assert s["slope_ci_low"][arm] <= s["slope"][arm] <= s["slope_ci_high"][arm]
    runs = {(r["p_lie"], r["seed"]): r for r in s["runs"]}
    per_run = json.loads((out / "p_0.50" / "seed_0" / "metrics.json").read_text())
    assert runs[(0.5, 0)]["mean_delta_obs"] == per_run["mean_delta_obs"] == s["mean_delta"]["obs"][1]
    assert per_run["p_lie"] == 0.5 and per_run["n_lies"] > 0
    assert json.loads((out / "p_0.00" / "seed_0" / "metrics.json").read_text())["n_lies"] == 0
    assert (out / "figure_sweep.png").read_bytes()[:4] == b"\x89PNG" and "Slopes" in (out / "report.md").read_text()
    # rerunning is refused; --resume finds every run finished; two worker processes on a fresh
    # directory agree exactly
    assert main(argv) == 2
    assert main([*argv, "--resume"]) == 0
    # finished runs are kept only when they were trained as this sweep would train them
    assert main([*argv, "--resume", "--lr", "0.5"]) == 2
    assert "p_0.00/seed_0 was trained with --lr 0.001, not 0.5" in capsys.readouterr().err
    par = tmp_path / "par"
    assert main(["sweep", "--out", str(par), *argv[3:], "--jobs", "2"]) == 0
    assert json.loads((par / "sweep.json").read_text())["mean_delta"] == s["mean_delta"]


def test_a_tiny_sweep_takes_max_steps_and_probe_facts_and_resume_keeps_them(tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "--out", str(out), "--preset", "micro", "--no-progress", "--p-lie", "0", "0.5", "1",
            "--seeds", "0", "--max-steps", "2", "--probe-facts", "1"]
    assert main(argv) == 0
    for p in ("0.00", "0.50", "1.00"):
        m = json.loads((out / f"p_{p}" / "seed_0" / "metrics.json").read_text())
        assert m["steps"] == 2 and m["n_facts"] == 1 and m["n_train_facts"] > 1
    assert json.loads((out / "sweep.json").read_text())["cut"] == {"--max-steps": 2, "--probe-facts": 1}
    assert "**Cut short (--max-steps 2, --probe-facts 1): not the full experiment.**" in (out / "report.md").read_text()
    assert main([*argv, "--resume"]) == 0
    assert "this invocation only: 3 run(s) were kept from before" in (out / "report.md").read_text()
    capsys.readouterr()
    for changed, message in ((["--max-steps", "3"], "was made with --max-steps 2, not 3"),
                             (["--probe-facts", "2"], "was made with --probe-facts 1, not 2")):
        assert main([*argv, "--resume", *changed]) == 2
        err = capsys.readouterr().err
        assert f"the run in {out / 'p_0.00' / 'seed_0'} {message}" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("argv,message", [
    (["--p-lie", "0.5"], "at least two distinct p_lie"),
    (["--p-lie", "0", "2"], "probability"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--p-lie", "0", "1", "--seeds", "0"], "at least 3 runs"),
])
def test_sweep_bad_input(argv, message, tmp_path, capsys):
    assert main(["sweep", "--out", str(tmp_path), "--preset", "micro", "--no-progress", *argv]) == 2
    assert message in capsys.readouterr().err


def test_ctrl_c_on_a_multi_seed_run_keeps_finished_seeds_and_resumes(tmp_path, interruptible):
    """SIGINT to a real ``reproduce`` after its first seed: exit 130, one line naming what was
    saved and the exact command; that command finishes the run without redoing the first seed."""
    import os
    import shlex
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = tmp_path / "run"
    argv = ["reproduce", "--out", str(out), "--preset", "micro", "--seeds", "0", "1", "2", "3"]
    proc = interruptible([sys.executable, "-m", "bayes_agent", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=root)
    first = out / "seed_0" / "metrics.json"
    deadline = time.monotonic() + 240
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.exists(), proc.communicate()[1]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # finished every seed before the signal arrived: nothing to test
        pytest.skip("the run finished before Ctrl-C reached it")
    assert proc.returncode == 130 and "Traceback" not in err, err
    line = [x for x in err.strip().splitlines() if "interrupted" in x]
    assert len(line) == 1 and "seeds in" in line[0], err
    command = line[0].split("resume with: ", 1)[1]
    assert command == shlex.join(["bayes-agent", *argv, "--resume"])
    before = first.stat().st_mtime_ns
    done = subprocess.run([sys.executable, "-m", "bayes_agent", *shlex.split(command)[1:]], capture_output=True,
                          text=True, env=env, cwd=root, timeout=600)
    assert done.returncode == 0, done.stderr
    assert first.stat().st_mtime_ns == before  # the finished seed was kept, not recomputed
    agg = json.loads((out / "metrics.json").read_text())
    assert agg["seeds"] == [0, 1, 2, 3] and len(agg["per_seed"]) == 4


def test_random_init_at_the_paper_shape_needs_no_local_weights(tmp_path, capsys):
    """``--preset paper --random-init`` must get past the local-weights check (it builds the
    shape); the next check it meets here is the --out that is a file, which stops it cheaply."""
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert main(["reproduce", "--preset", "paper", "--random-init", "--out", str(not_a_dir)]) == 2
    err = capsys.readouterr().err
    assert "no local weights" not in err and "is not a directory" in err


def test_sweep_with_a_missing_model_writes_nothing(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "--out", str(out), "--preset", "micro", "--model", str(tmp_path / "nope"),
                 "--p-lie", "0", "1", "--seeds", "0", "1"]) == 2
    assert "no such directory" in capsys.readouterr().err and not out.exists()


def test_a_run_records_the_precision_it_computed_in(run_dir):
    """What --resume compares on another device: auto resolved here (the CPU: fp32), beside auto as typed."""
    for path in (run_dir / "checkpoint" / "settings.json", run_dir / "config.json"):
        data = json.loads(path.read_text())
        settings = data.get("settings", data)
        assert (settings["train.precision"], settings["train.resolved_precision"]) == ("auto", "fp32"), path


def test_resume_reruns_a_finished_seed_whose_probes_are_gone(tmp_path, capsys):
    """A seed counts as finished only with every result the aggregate reads back: without its
    probes.json it is run again (it stopped --resume with "cannot use ...probes.json" before)."""
    out = tmp_path / "ms"
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--seeds", "0", "1", "--no-progress"]) == 0
    before = json.loads((out / "metrics.json").read_text())
    (out / "seed_0" / "probes.json").unlink()
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--seeds", "0", "1", "--no-progress",
                 "--resume"]) == 0
    assert (out / "seed_0" / "probes.json").exists()
    after = json.loads((out / "metrics.json").read_text())
    assert after["delta_do_minus_obs"] == before["delta_do_minus_obs"]  # the same seed, the same numbers
