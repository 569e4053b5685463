"""The main job through the CLI on the micro preset: files, metric names, seeds, resume, bad input."""

import json
import subprocess
import sys

import pytest

from bayes_agent.cli import main

METRIC_NAMES = {
    "mean_delta_obs", "mean_delta_do", "facts_lie_preferred_obs", "facts_lie_preferred_do",
    "facts_do_beats_obs", "n_facts", "supervised_tokens_obs", "supervised_tokens_do",
    "agent_content_tokens", "masked_unmasked_step_cost_ratio", "seconds_total",
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--no-progress"]) == 0
    return out


def test_run_directory_contents(run_dir):
    for name in ("report.md", "metrics.json", "config.json", "figure1_loss.png", "figure2_delta.png",
                 "table2_truth_probe.md", "table3_lie_probe.md", "masks.md", "checkpoint/obs.safetensors",
                 "checkpoint/do.safetensors", "checkpoint/state.json"):
        assert (run_dir / name).exists(), name
    m = json.loads((run_dir / "metrics.json").read_text())
    assert METRIC_NAMES <= set(m)
    assert m["n_facts"] == 4
    assert m["supervised_tokens_obs"] - m["supervised_tokens_do"] == m["agent_content_tokens"] > 0
    assert 0 <= m["facts_do_beats_obs"] <= 4
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["preset"]["name"] == "micro"
    report = (run_dir / "report.md").read_text()
    for piece in ("figure1_loss.png", "figure2_delta.png", "Table 2", "Table 3", "role table"):
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


def test_seeds_are_aggregated(tmp_path):
    assert main(["reproduce", "--out", str(tmp_path), "--preset", "micro", "--no-progress",
                 "--seeds", "0", "1", "--epochs", "1", "--n-dialogues", "8"]) == 0
    agg = json.loads((tmp_path / "metrics.json").read_text())
    assert agg["seeds"] == [0, 1] and len(agg["per_seed"]) == 2
    gap = [m["mean_delta_do"] - m["mean_delta_obs"] for m in agg["per_seed"]]
    assert agg["delta_do_minus_obs"]["mean"] == pytest.approx(sum(gap) / 2)
    assert agg["delta_do_minus_obs"]["lo"] <= agg["delta_do_minus_obs"]["mean"] <= agg["delta_do_minus_obs"]["hi"]
    assert set(agg["per_fact_wins_do"].values()) <= {0, 1, 2}
    assert (tmp_path / "seed_1" / "report.md").exists() and "Aggregate" in (tmp_path / "report.md").read_text()


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
    ],
)
def test_bad_input_is_a_clear_error(argv, message, tmp_path, capsys):
    assert main(["reproduce", "--out", str(tmp_path), "--preset", "micro", "--no-progress", *argv]) == 2
    assert message in capsys.readouterr().err


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
    assert "§4 worked example" in (out / "report.md").read_text()
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
    assert cfg["preset"]["sequential_arms"] and cfg["train"]["lora_rank"] == 2
    env = cfg["environment"]
    assert env["device"] == "cpu" and env["precision"] == "fp32" and env["torch_threads"] == 1
    for key in ("python", "torch", "transformers", "tokenizers", "numpy", "cpu_model"):
        assert env[key], key
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["sequential"] and state["arm_steps"] == {"obs": 3, "do": 3}
