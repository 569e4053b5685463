"""The behaviour-cloned transformer agent and the causal-strategies report (micro config)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bayes_agent.causal_dag import DagConfig, HypothesisSpace, run_episodes, sample_tasks  # noqa: E402
from bayes_agent.errors import InvalidArgument  # noqa: E402
from bayes_agent.experimenter import BayesianExperimenter  # noqa: E402
from neural.passive_learner import (  # noqa: E402
    BCConfig,
    N_FEATURES,
    BCPolicy,
    PassiveLearner,
    episode_features,
    train_passive_learner,
)

TINY = BCConfig(d_model=32, n_layers=1, n_heads=2, steps=40, batch_size=32)


@pytest.fixture(scope="module")
def expert():
    torch.set_num_threads(1)
    space = HypothesisSpace(DagConfig(max_edges=3))
    rng = np.random.default_rng(0)
    tasks = sample_tasks(space, "train", 40, rng)
    return space, run_episodes(BayesianExperimenter(space, 0), tasks, space, rng)


def test_a_trial_token_never_shows_that_trials_action(expert) -> None:
    _, batch = expert
    f = episode_features(batch, 7)
    changed = batch.__class__(batch.initial.copy(), batch.goals.copy(), batch.actions.copy(),
                              batch.outcomes.copy(), batch.config)
    changed.actions[:, 3] = (changed.actions[:, 3] + 2) % 10
    changed.outcomes[:, 3] += 1.0
    g = episode_features(changed, 7)
    assert np.array_equal(f[:, :4], g[:, :4])  # tokens 0..3 do not see trial 3's action/outcome
    assert not np.array_equal(f[:, 4], g[:, 4])  # token 4 does


def test_attention_is_causal() -> None:
    torch.manual_seed(0)
    model = PassiveLearner(7, TINY).eval()
    x = torch.randn(2, 7, N_FEATURES)
    y = x.clone()
    y[:, 5:] += 3.0
    with torch.no_grad():
        assert torch.allclose(model(x)[:, :5], model(y)[:, :5], atol=1e-6)
        assert not torch.allclose(model(x)[:, 5], model(y)[:, 5])


def test_training_is_deterministic_and_lowers_the_loss(expert) -> None:
    _, batch = expert
    _, a = train_passive_learner(batch, TINY, seed=3)
    _, b = train_passive_learner(batch, TINY, seed=3)
    assert a == b
    assert np.mean(a[-10:]) < np.mean(a[:10])


def test_policy_acts_legally_in_every_split(expert) -> None:
    space, batch = expert
    model, _ = train_passive_learner(batch, TINY, seed=0)
    for split in ("train", "target", "path"):
        tasks = sample_tasks(space, split, 8, np.random.default_rng(1))
        out = run_episodes(BCPolicy(model), tasks, space, np.random.default_rng(2))
        goals = np.array([t.goal for t in tasks])
        assert ((out.actions[:, 5:] // 2) != goals[:, None]).all()


@pytest.mark.parametrize("kwargs", [{"d_model": 30, "n_heads": 4}, {"steps": 0}, {"lr": 0.0}])
def test_bad_bc_config_is_refused(kwargs) -> None:
    with pytest.raises(InvalidArgument):
        BCConfig(**kwargs)


def test_cli_runs_the_micro_report(tmp_path) -> None:
    from bayes_agent.cli import main

    assert main(["causal-strategies", "--out", str(tmp_path), "--config", "micro", "--quiet"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    table = metrics["exploitation_reward"]
    assert set(table) >= {"bc_agent", "experimenter", "oracle", "random", "partial_correlation"}
    for split in ("train", "target", "path"):
        assert len(metrics["per_seed_reward"]["bc_agent"][split]) == 2
        assert table["oracle"][split]["mean"] > table["random"][split]["mean"]
    assert (tmp_path / "causal_strategies.png").stat().st_size > 10_000
    assert "| bc_agent |" in (tmp_path / "report.md").read_text()


def test_command_module_does_not_import_torch() -> None:
    code = ("import sys, neural.commands.causal_strategies, bayes_agent.causal_dag, "
            "bayes_agent.experimenter, bayes_agent.causal_baselines; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
