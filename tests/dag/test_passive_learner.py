"""The behaviour-cloned transformer agent and the causal-strategies report (micro config)."""

from __future__ import annotations

import json
from dataclasses import replace
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bayes_agent.dag.world import DagConfig, HypothesisSpace, run_episodes, sample_tasks  # noqa: E402
from bayes_agent.errors import InvalidArgument  # noqa: E402
from bayes_agent.dag.experimenter import BayesianExperimenter  # noqa: E402
from neural.dag.passive_learner import (  # noqa: E402
    N_FEATURES,
    BCConfig,
    BCPolicy,
    PassiveLearner,
    episode_features,
    identity_orders,
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


def test_features_hold_what_the_agent_saw_before_acting(expert) -> None:
    _, batch = expert
    f = episode_features(batch, 7)
    assert f.shape == (len(batch), 7, 5, N_FEATURES)
    n, t = 5, 3
    a = int(batch.actions[n, t - 1])
    assert np.allclose(f[n, t, :, 0], batch.initial[n, t])
    assert np.allclose(f[n, t, :, 1], batch.outcomes[n, t - 1])
    assert np.allclose(f[n, t, :, 2], batch.outcomes[n, t - 1] - batch.initial[n, t - 1])
    marked = np.zeros(5)
    marked[a // 2] = 1 if a % 2 == 0 else -1
    assert np.array_equal(f[n, t, :, 4], marked)
    assert not f[:, 0, :, 1:5].any()  # nothing happened before trial 0
    goal = int(batch.goals[n, 5])
    assert f[n, 5, goal, 3] == 1 and f[n, 5, :, 3].sum() == 1 and f[n, 5, :, 5].all()
    assert not f[n, :5, :, 3].any() and not f[n, :5, :, 5].any()


def _model_and_inputs():
    torch.manual_seed(0)
    model = PassiveLearner(7, TINY).eval()
    x = torch.randn(2, 7, 5, N_FEATURES)
    orders = identity_orders(2, torch.Generator().manual_seed(0))
    return model, x, orders


def test_attention_is_block_causal_over_trials() -> None:
    model, x, orders = _model_and_inputs()
    later = x.clone()
    later[:, 5:] += 3.0
    same_trial = x.clone()
    same_trial[:, 4, 4] += 3.0  # node E of trial 4
    with torch.no_grad():
        base = model(x, orders)
        assert torch.allclose(base[:, :5], model(later, orders)[:, :5], atol=1e-6)
        assert not torch.allclose(base[:, 5], model(later, orders)[:, 5])
        moved = model(same_trial, orders)
        assert torch.allclose(base[:, :4], moved[:, :4], atol=1e-6)
        assert not torch.allclose(base[:, 4, :2], moved[:, 4, :2])  # node A sees node E, same trial


def test_relabelling_the_nodes_relabels_the_actions() -> None:
    """Renaming nodes (features and identity orders together) permutes the action logits the same
    way: nothing in the model is tied to a node's name, so no rule about D can be learned."""
    model, x, orders = _model_and_inputs()
    perm = torch.tensor([3, 0, 4, 1, 2])
    actions = torch.stack([2 * perm, 2 * perm + 1], dim=1).reshape(-1)
    with torch.no_grad():
        assert torch.allclose(model(x, orders)[..., actions], model(x[:, :, perm], orders[:, perm]),
                              atol=1e-5)
        other = identity_orders(2, torch.Generator().manual_seed(1))
        assert not torch.allclose(model(x, orders), model(x, other))


def test_policy_keeps_each_episodes_identity_order_across_trials(expert) -> None:
    space, batch = expert
    model, _ = train_passive_learner(batch, TINY, seed=0)
    policy = BCPolicy(model, seed=5)
    first = policy.orders(len(batch)).clone()
    assert torch.equal(policy.orders(3), first[:3])
    assert torch.equal(BCPolicy(model, seed=5).orders(len(batch)), first)
    assert sorted(first[0].tolist()) == [0, 1, 2, 3, 4]
    assert len({tuple(row) for row in first.tolist()}) > 1  # episodes wear different orders

    fixed, _ = train_passive_learner(batch, replace(TINY, shuffle_identities=False), seed=0)
    assert (BCPolicy(fixed, seed=5).orders(4) == torch.arange(5)).all()


def test_command_lists_every_report_config() -> None:
    import argparse

    from neural.dag.report import CONFIGS
    from neural.commands.causal_strategies import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    for name in CONFIGS:
        assert parser.parse_args(["causal-strategies", "--out", "x", "--config", name]).config == name


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


def test_learning_rate_warms_up_then_decays_to_a_tenth() -> None:
    from neural.dag.passive_learner import _lr_factor

    config = BCConfig(steps=100, warmup=10, decay=True)
    factors = [_lr_factor(step, config) for step in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))  # non-increasing after warm-up
    assert factors[-1] == pytest.approx(0.1, abs=1e-3)
    assert _lr_factor(50, BCConfig(steps=100)) == 1.0  # constant when neither is asked for


def test_exploitation_weight_changes_what_is_learned(expert) -> None:
    _, batch = expert
    _, plain = train_passive_learner(batch, TINY, seed=3)
    _, weighted = train_passive_learner(batch, replace(TINY, exploit_weight=3.0),
                                        seed=3)
    assert plain[0] != weighted[0]  # same model and batch at step 0: only the weighting differs


@pytest.mark.parametrize("kwargs", [{"d_model": 30, "n_heads": 4}, {"steps": 0}, {"lr": 0.0},
                                    {"warmup": 40, "steps": 40}, {"exploit_weight": 0.0}])
def test_bad_bc_config_is_refused(kwargs) -> None:
    with pytest.raises(InvalidArgument):
        BCConfig(**kwargs)


def test_cli_runs_the_micro_report(tmp_path) -> None:
    from bayes_agent.cli import main
    from neural.dag.report import usable_cpus

    assert main(["causal-strategies", "--out", str(tmp_path), "--config", "micro", "--quiet"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    table = metrics["exploitation_reward"]
    assert set(table) >= {"bc_agent", "experimenter", "oracle", "random", "partial_correlation"}
    for split in ("train", "target", "path"):
        assert len(metrics["per_seed_reward"]["bc_agent"][split]) == 2
        assert table["oracle"][split]["mean"] > table["random"][split]["mean"]
    assert (tmp_path / "causal_strategies.png").stat().st_size > 10_000
    assert "| bc_agent |" in (tmp_path / "report.md").read_text()
    assert metrics["settings"]["jobs"] == min(2, usable_cpus())  # one process per seed and core

    # the same seeds in one process give the same numbers: parallelism changes only the wall clock
    from neural.dag.report import run_causal_report

    serial = run_causal_report(tmp_path / "serial", "micro", verbose=False, jobs=1)
    assert serial["per_seed_reward"] == metrics["per_seed_reward"]
    assert serial["bc_training_curve"] == metrics["bc_training_curve"]


def test_bad_jobs_is_refused(tmp_path) -> None:
    from neural.dag.report import run_causal_report

    with pytest.raises(InvalidArgument, match="jobs"):
        run_causal_report(tmp_path, "micro", verbose=False, jobs=0)


def test_command_module_does_not_import_torch() -> None:
    code = ("import sys, neural.commands.causal_strategies, bayes_agent.dag.world, "
            "bayes_agent.dag.experimenter, bayes_agent.dag.baselines; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
