"""Shared evaluation: paired episodes, seed intervals (scipy), the agreement analysis, baselines config."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from scipy import stats

from bayes_agent.dag.baselines import HeuristicPolicy
from bayes_agent.dag.evaluation import (
    evaluate_split,
    paired_difference,
    reference_policies,
    results_dir,
    run_baselines,
    seed_interval,
    strategy_agreement,
)
from bayes_agent.errors import InvalidArgument


def test_seed_interval_is_the_student_t_interval() -> None:
    x = [0.9, 1.0, 0.95, 0.85]
    got = seed_interval(x)
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert got["mean"] == pytest.approx(np.mean(x)) and got["ci95"] == pytest.approx((hi - lo) / 2)
    assert seed_interval([1.0])["ci95"] is None
    with pytest.raises(InvalidArgument):
        seed_interval([1.0, float("nan")])
    with pytest.raises(InvalidArgument):
        seed_interval([])


def test_paired_difference_verdicts() -> None:
    assert paired_difference([1.0, 1.1, 1.2], [0.5, 0.6, 0.69])["verdict"] == "above"
    assert paired_difference([0.5, 0.6, 0.69], [1.0, 1.1, 1.2])["verdict"] == "below"
    assert paired_difference([1.0, 0.0, 1.0], [0.0, 1.0, 0.5])["verdict"] == "tied"
    assert paired_difference([1.0], [0.0])["verdict"] == "undetermined"
    with pytest.raises(InvalidArgument):
        paired_difference([1.0], [1.0, 2.0])


def test_agents_share_episodes_and_noise(space3) -> None:
    tasks, batches = evaluate_split(space3, "target", 6, 0, lambda ts: reference_policies(
        space3, ts, 0, ["experimenter", "largest_change", "random"]))
    first = batches["experimenter"]
    for b in batches.values():  # the untouched samples do not depend on the actions
        assert np.array_equal(b.initial, first.initial)
    with pytest.raises(InvalidArgument, match="unknown agents"):
        reference_policies(space3, tasks, 0, ["telepathy"])


def test_agreement_counts_only_trials_where_strategies_disagree(space3) -> None:
    """An agent that *is* largest-change agrees with it on every disagreeing trial."""
    _, batches = evaluate_split(space3, "target", 30, 1, {"lc": HeuristicPolicy("largest_change", 101)})
    ag = strategy_agreement(space3, batches["lc"], seed=1)
    row = ag["largest_change"]
    assert row["trials"] > 0 and row["matches_strategy"] == 1.0 and row["matches_experimenter"] == 0.0
    assert ag["all_trials"]["largest_change"] == 1.0


def test_baselines_config_writes_the_contract_keys(tmp_path, space3) -> None:
    m = run_baselines(tmp_path, seeds=2, n_eval=4, n_info_gain=1, n_studies=3, verbose=False)
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    for agent in ("experimenter", "observation_only", "largest_change", "total_correlation",
                  "partial_correlation", "random", "experimenter_info_gain"):
        assert isinstance(on_disk["target"]["reward"][agent]["mean"], float)
        assert len(on_disk["target"]["reward"][agent]["per_seed"]) == 2
    assert on_disk["target"]["experimenter_minus"]["random"]["verdict"] in ("above", "tied")
    assert "| experimenter |" in (tmp_path / "report.md").read_text()
    assert m["split_sizes"]["target"] == len(space3.split_members("target"))
    # the information-gain experimenter is compared with the experimenter on its own episodes:
    # the experimenter's reward on those, recomputed here, not its reward on all n_eval
    for split in ("validation", "target", "path"):
        own = [float(evaluate_split(space3, split, 1, seed, lambda ts: reference_policies(
            space3, ts, seed, ["experimenter"]))[1]["experimenter"].rewards().mean()) for seed in (0, 1)]
        ig = on_disk[split]["reward"]["experimenter_info_gain"]["per_seed"]
        assert on_disk[split]["experimenter_on_info_gain_episodes"]["per_seed"] == own
        assert on_disk[split]["experimenter_minus"]["experimenter_info_gain"]["per_seed"] == pytest.approx(
            [a - b for a, b in zip(own, ig)], abs=1e-12)
    assert own != on_disk["path"]["reward"]["experimenter"]["per_seed"]  # so the pairing is visible here
    assert "on its 1 episodes per split" in (tmp_path / "report.md").read_text()


def test_results_dir_refuses_what_the_cli_refuses(tmp_path) -> None:
    """A study's folder gets the commands' --out checks: a link inside it (results would be
    written through it, outside the folder), a dangling link as the folder, a blank name; each
    refused in one line naming the problem, before any work. A plain folder is created."""
    run = tmp_path / "run"
    run.mkdir()
    os.symlink(tmp_path / "elsewhere.json", run / "metrics.json")
    with pytest.raises(InvalidArgument, match=r"out: .*metrics\.json' is a symbolic link.*never written through a link"):
        results_dir(run)
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    with pytest.raises(InvalidArgument, match=r"out: .*dangling' is a symbolic link.*target does not exist"):
        results_dir(tmp_path / "dangling")
    with pytest.raises(InvalidArgument, match="out is blank"):
        results_dir("  ")
    assert results_dir(tmp_path / "new" / "deep") == tmp_path / "new" / "deep" and (tmp_path / "new" / "deep").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "new", "run"]
