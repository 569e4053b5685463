"""benchmarks/bench_float_path.py on tiny sizes: its tables are computed, not copied (the real
sizes are measured by hand; see docs/benchmarks.md)."""

import json
import math
import runpy
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_float_path.py"


def _bench() -> SimpleNamespace:
    """The script's functions (run as a module, not as __main__)."""
    return SimpleNamespace(**runpy.run_path(str(BENCH)))


def test_scaling_tables_are_consistent_with_their_own_times(capsys):
    bench = _bench()
    bench.main(["--programs", "40", "--slots", "60", "--loop-programs", "10", "--repeats", "1", "--json",
                   "--scaling", "--scaling-sizes", "100", "300", "--doubling-sizes", "150", "300",
                   "--exact-max", "150", "--scaling-repeats", "1"])
    r = json.loads(capsys.readouterr().out)
    assert r["clock"].startswith("cpu") and r["max_relative_difference_vs_loop"] < 1e-12
    assert r["general_path_markov_updates_per_s"] == r["updates"] / r["general_path_markov_s"]
    sc = r["scaling"]
    rows = sc["per_slot"]
    assert [row["T"] for row in rows] == [100, 300]
    for key, ratio in sc["max_over_min_per_slot"].items():
        assert ratio == max(row[key] for row in rows) / min(row[key] for row in rows) >= 1
    assert all(row["trace_vs_batch_log_posterior_rel"] < 1e-12 for row in rows)
    a, b = sc["doubling"]
    assert sc["doubling_ratios"][0]["exact_trace_s"] == b["exact_trace_s"] / a["exact_trace_s"]
    assert "exact_trace_every_entry_s" in a and "exact_trace_every_entry_s" not in b  # --exact-max 150
    assert set(sc["wall_s"]["exact_trace"]) == {"150", "300"}
    # the digits column is the exact weight's, counted without str() (which refuses > 4300 digits)
    exact = bench.Mixture([bench.TableProgram("p", action={"A": "1/5", "B": "3/5", "C": "1/5"},
                                              observation={"x": "1/2", "y": "1/4", "z": "1/8", "w": "1/8"}),
                           bench.TableProgram("q", action={"A": "1/3", "B": "1/3", "C": "1/3"},
                                              observation={"x": "1/4", "y": "1/4", "z": "1/4", "w": "1/4"})],
                          [Fraction(1, 2), Fraction(1, 2)])
    w = exact.posterior(bench.transcript(300, 0))
    assert b["exact_weight_digits"] == len(str(w["p"].denominator))


def test_clocked_averages_a_sample_and_keeps_the_best():
    calls = []
    cpu, wall, out = _bench().clocked(lambda: calls.append(1) or len(calls), repeats=3, min_sample_s=0.0)
    assert len(calls) == 1 + 3 * 1 and out == 4  # one warm-up call, then 3 samples of k = 1 call
    assert 0 <= cpu and 0 <= wall and math.isfinite(cpu)


@pytest.mark.parametrize("argv, message", [(["--slots", "0"], "must be at least 1"),
                                           (["--scaling-sizes", "ten"], "expected a whole number")])
def test_bad_sizes_are_refused_by_argparse(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        _bench().main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_in_rounds_interleaves_the_sizes_and_keeps_each_jobs_best():
    """Every round samples every job once, so a noisy stretch cannot land on one size only."""
    order = []
    jobs = {("a", 1): lambda: order.append("a"), ("b", 2): lambda: order.append("b")}
    cpu, wall = _bench().in_rounds(jobs, repeats=3, desc="test", min_sample_s=0.0)
    assert order == ["a", "a", "b", "b"] + ["a", "b"] * 3  # warm-up and sizing calls, then three rounds
    assert set(cpu) == set(wall) == set(jobs) and all(0 <= v < math.inf for v in cpu.values())
