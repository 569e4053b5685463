"""benchmarks/bench_paper_scale.py: its --json contract, run on the micro shape (the real shape is
measured by hand; see docs/benchmarks.md)."""

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_paper_scale.py"
KEYS = {"params", "device", "dtype", "step_seconds_obs", "step_seconds_do", "masked_unmasked_ratio",
        "peak_memory_bytes", "tokens_per_second"}


def _bench():
    spec = importlib.util.spec_from_file_location("bench_paper_scale", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_json_has_the_contract_keys(capsys):
    assert _bench().main(["--preset", "micro", "--steps", "2", "--threads", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert KEYS <= set(r)
    assert r["device"] == "cpu" and r["dtype"] == "float32" and r["params"] > 0
    assert r["step_seconds_obs"] > 0 and r["step_seconds_do"] > 0
    assert r["masked_unmasked_ratio"] == r["cpu_step_seconds_do"] / r["cpu_step_seconds_obs"]  # CPU: process time
    assert r["masked_unmasked_ratio_wall"] == r["step_seconds_do"] / r["step_seconds_obs"]
    assert r["peak_memory_bytes"] > 2**20 and r["tokens_per_second"] > 0
    assert r["estimated_full_run_seconds"] == 1920 * (r["step_seconds_obs"] + r["step_seconds_do"])
    assert r["environment"]["torch_threads"] == 1


def test_bad_arguments_are_one_line_errors(capsys):
    assert _bench().main(["--preset", "micro", "--device", "tpu"]) == 2
    assert "unknown device 'tpu'" in capsys.readouterr().err
    assert _bench().main(["--preset", "micro", "--steps", "0"]) == 2
