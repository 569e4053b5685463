"""benchmarks/bench_paper_scale.py: its --json contract, run on the micro shape (the real shape is
measured by hand; see docs/benchmarks.md), and the paired ratio estimator on known inputs."""

import importlib.util
import json
import statistics
from pathlib import Path

import pytest

from bayes_agent.errors import InvalidArgument

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_paper_scale.py"
KEYS = {"params", "device", "dtype", "step_seconds_obs", "step_seconds_do", "masked_unmasked_ratio",
        "peak_memory_bytes", "tokens_per_second", "ratio_method"}


def _bench():
    spec = importlib.util.spec_from_file_location("bench_paper_scale", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _ratio_from_records(steps: list[dict], key: str) -> float:
    """The documented estimator, recomputed from the per-step records independently of the script."""
    examples = sorted({s["example"] for s in steps})
    ratios = [min(s[key] for s in steps if s["example"] == k and s["arm"] == "do")
              / min(s[key] for s in steps if s["example"] == k and s["arm"] == "obs") for k in examples]
    return statistics.median(ratios)


def test_json_has_the_contract_keys(capsys):
    assert _bench().main(["--preset", "micro", "--steps", "2", "--threads", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert KEYS <= set(r)
    assert r["device"] == "cpu" and r["dtype"] == "float32" and r["params"] > 0
    steps = r["per_step"]
    # one warm-up pair untimed, then each of 2 examples stepped obs, do, do, obs
    assert [(s["example"], s["arm"]) for s in steps] == [(k, a) for k in (1, 2) for a in ("obs", "do", "do", "obs")]
    assert r["examples_timed"] == 2 and r["steps_timed_per_arm"] == 4
    assert all(s["cpu_seconds"] == pytest.approx(s["user_seconds"] + s["system_seconds"]) for s in steps)
    assert r["masked_unmasked_ratio"] == pytest.approx(_ratio_from_records(steps, "user_seconds"))  # CPU: user time
    assert r["masked_unmasked_ratio_cpu"] == pytest.approx(_ratio_from_records(steps, "cpu_seconds"))
    assert r["masked_unmasked_ratio_wall"] == pytest.approx(_ratio_from_records(steps, "wall_seconds"))
    assert "user CPU time" in r["ratio_method"]
    assert r["step_seconds_obs"] == statistics.median(s["wall_seconds"] for s in steps if s["arm"] == "obs")
    assert r["step_seconds_do"] == statistics.median(s["wall_seconds"] for s in steps if s["arm"] == "do")
    assert r["peak_memory_bytes"] > 2**20 and r["tokens_per_second"] > 0
    assert r["estimated_full_run_seconds"] == 1920 * (r["step_seconds_obs"] + r["step_seconds_do"])
    assert r["environment"]["torch_threads"] == 1


def test_paired_ratio_ignores_a_disturbed_step_and_a_disturbed_example():
    """do costs 1.05x obs on every example; one step slowed 3x, and one whole example slowed in one
    arm, leave the estimate at 1.05: the per-arm minimum drops the first, the median the second."""
    cost = {1: 4.0, 2: 6.0, 3: 5.0}  # examples of different lengths
    records = []
    for k, c in cost.items():
        for rep, arm in enumerate(("obs", "do", "do", "obs")):
            t = c * (1.05 if arm == "do" else 1.0)
            if (k, rep) == (1, 3):
                t *= 3.0  # a burst of other processes' work during one step
            if k == 2 and arm == "obs":
                t *= 1.5  # a burst lasting through example 2's obs steps
            records.append({"example": k, "arm": arm, "t": t})
    ratio, per_example = _bench().paired_ratio(records, "t")
    assert ratio == pytest.approx(1.05)
    assert per_example == pytest.approx([1.05, 1.05 / 1.5, 1.05])


def test_paired_ratio_refuses_records_without_both_arms():
    with pytest.raises(InvalidArgument, match="example 4 has no positive t for both arms"):
        _bench().paired_ratio([{"example": 4, "arm": "obs", "t": 1.0}], "t")
    with pytest.raises(InvalidArgument, match="no timed steps"):
        _bench().paired_ratio([], "t")


def test_bad_arguments_are_one_line_errors(capsys):
    assert _bench().main(["--preset", "micro", "--device", "tpu"]) == 2
    assert "unknown device 'tpu'" in capsys.readouterr().err
    assert _bench().main(["--preset", "micro", "--steps", "0"]) == 2
    assert "--steps must be positive" in capsys.readouterr().err
    assert _bench().main(["--preset", "micro", "--steps", "100000"]) == 2
    assert "--warmup + --steps must be at most" in capsys.readouterr().err
