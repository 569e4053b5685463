"""The behaviour-cloned transformer agent and the causal-strategies report (micro config)."""

from __future__ import annotations

import json
from dataclasses import replace
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bayes_agent.dag.world import run_episodes, sample_tasks  # noqa: E402
from bayes_agent.errors import InvalidArgument  # noqa: E402
from bayes_agent.dag.experimenter import BayesianExperimenter  # noqa: E402
from neural.dag.passive_learner import (  # noqa: E402
    FEATURE_NAMES,
    N_FEATURES,
    BCConfig,
    BCPolicy,
    PassiveLearner,
    episode_features,
    explanation_targets,
    identity_orders,
    relation_bits,
    train_passive_learner,
)

TINY = BCConfig(d_model=32, n_layers=1, n_heads=2, steps=40, batch_size=32)


@pytest.fixture(scope="module")
def expert(space3):
    torch.set_num_threads(1)
    space = space3
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
    marked = np.zeros(5)
    marked[a // 2] = 1 if a % 2 == 0 else -1
    assert np.array_equal(f[n, t, :, 3], marked)
    assert not f[:, 0, :, 1:4].any()  # nothing happened before trial 0
    goal = int(batch.goals[n, 5])
    assert f[n, 5, goal, 2] == 1 and f[n, 5, :, 2].sum() == 1 and f[n, 5, :, 4].all()
    assert not f[n, :5, :, 2].any() and not f[n, :5, :, 4].any()
    # raw values only: no feature is a baseline's statistic such as a change
    assert FEATURE_NAMES == ("initial value", "previous outcome", "is goal", "previously intervened",
                             "exploiting")


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
    torch.manual_seed(0)
    model = PassiveLearner(7, replace(TINY, identity_init="random")).eval()
    x = torch.randn(2, 7, 5, N_FEATURES)
    orders = identity_orders(2, torch.Generator().manual_seed(0))
    perm = torch.tensor([3, 0, 4, 1, 2])
    actions = torch.stack([2 * perm, 2 * perm + 1], dim=1).reshape(-1)
    with torch.no_grad():
        assert torch.allclose(model(x, orders)[..., actions], model(x[:, :, perm], orders[:, perm]),
                              atol=1e-5)
        other = identity_orders(2, torch.Generator().manual_seed(1))
        assert not torch.allclose(model(x, orders), model(x, other))


def test_policy_keeps_each_episodes_identity_order_across_trials(expert) -> None:
    space, batch = expert
    shuffled, _ = train_passive_learner(batch, replace(TINY, shuffle_identities=True), seed=0)
    policy = BCPolicy(shuffled, seed=5)
    first = policy.orders(len(batch)).clone()
    assert torch.equal(policy.orders(3), first[:3])
    assert torch.equal(BCPolicy(shuffled, seed=5).orders(len(batch)), first)
    assert sorted(first[0].tolist()) == [0, 1, 2, 3, 4]
    assert len({tuple(row) for row in first.tolist()}) > 1  # episodes wear different orders

    fixed, _ = train_passive_learner(batch, TINY, seed=0)  # the default: the talk's fixed identities
    assert (BCPolicy(fixed, seed=5).orders(4) == torch.arange(5)).all()


def test_expert_data_never_shows_a_held_out_dependency(expert) -> None:
    """The learner's training episodes: D is never an ancestor of E, C never one of A."""
    from neural.dag import report

    space, _ = expert
    config = replace(report.CONFIGS["micro"], n_expert=200)
    tasks = sample_tasks(space, "train", config.n_expert, np.random.default_rng(0))
    anc = space.ancestors[[t.graph for t in tasks]]
    assert not anc[:, 3, 4].any() and not anc[:, 2, 0].any()
    assert {t.goal for t in tasks} >= {0, 4}  # A and E are goals too, just never of those causes


def test_explanation_targets_name_the_descendants_of_the_last_intervention(expert) -> None:
    _, batch = expert
    anc = np.zeros((len(batch), 5, 5), dtype=bool)
    anc[:, 0, 2] = anc[:, 0, 4] = True  # A causes C and E
    why = explanation_targets(batch, anc)
    assert np.isnan(why[:, 0]).all()
    n, t = np.argwhere(batch.actions[:, :-1] // 2 == 0)[0]  # some trial that set A
    row = why[n, t + 1]
    assert np.isnan(row[0]) and row[2] == 1 and row[4] == 1 and row[1] == 0 and row[3] == 0


def test_command_lists_every_report_config() -> None:
    import argparse

    from neural.dag.report import CONFIGS
    from neural.commands.causal_strategies import CONFIG_NAMES, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert set(CONFIG_NAMES) == set(CONFIGS) | {"baselines"}
    for name in CONFIG_NAMES:
        assert parser.parse_args(["causal-strategies", "--out", "x", "--config", name]).config == name


def test_unknown_config_is_one_line_and_creates_nothing(tmp_path, capsys) -> None:
    from bayes_agent.cli import main

    out = tmp_path / "run"
    assert main(["causal-strategies", "--out", str(out), "--config", "defualt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'defualt'" in err[0] and "default" in err[0] and "usage" not in err[0]
    assert not out.exists()


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
    """Same data, seed and schedule: weighting exploitation trials up lowers the exploitation
    loss reached (measured on the same episodes, unweighted)."""
    _, batch = expert
    config = replace(TINY, steps=60)
    exploit_loss = {}
    for w in (1.0, 8.0):
        model, _ = train_passive_learner(batch, replace(config, exploit_weight=w), seed=3)
        with torch.no_grad():
            logits = model(torch.from_numpy(episode_features(batch, 7)), identity_orders(len(batch), None, False))
        ce = torch.nn.functional.cross_entropy(logits[:, 5:].reshape(-1, 10),
                                               torch.from_numpy(batch.actions[:, 5:].reshape(-1)))
        exploit_loss[w] = float(ce)
    assert exploit_loss[8.0] < exploit_loss[1.0]


def test_explanation_weight_needs_targets_and_trains_the_explanation_head(expert) -> None:
    space, batch = expert
    with pytest.raises(InvalidArgument, match="explanation targets"):
        train_passive_learner(batch, replace(TINY, explain_weight=1.0), seed=0)
    why = explanation_targets(batch, space.ancestors[np.zeros(len(batch), dtype=int)])
    plain, _ = train_passive_learner(batch, TINY, seed=0, explanations=why)
    taught, _ = train_passive_learner(batch, replace(TINY, explain_weight=1.0), seed=0, explanations=why)
    torch.manual_seed(0)
    fresh = PassiveLearner(7, TINY)  # the initial weights both runs started from
    assert torch.equal(plain.explain.weight, fresh.explain.weight)  # untouched without the target
    assert not torch.allclose(taught.explain.weight, fresh.explain.weight)


@pytest.mark.parametrize("kwargs", [{"d_model": 30, "n_heads": 4}, {"steps": 0}, {"lr": 0.0},
                                    {"warmup": 40, "steps": 40}, {"exploit_weight": 0.0},
                                    {"explain_weight": -1.0}, {"attention": "linear"},
                                    {"identity_init": "ones"}])
def test_bad_bc_config_is_refused(kwargs) -> None:
    with pytest.raises(InvalidArgument):
        BCConfig(**kwargs)


def test_cli_runs_the_micro_report(tmp_path) -> None:
    from bayes_agent.cli import main
    from neural.dag.report import usable_cpus

    assert main(["causal-strategies", "--out", str(tmp_path), "--config", "micro", "--quiet"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for split in ("train", "validation", "target", "path"):
        table = metrics[split]["reward"]
        assert set(table) >= {"bc_agent", "experimenter", "observation_only", "oracle", "random"}
        assert len(table["bc_agent"]["per_seed"]) == 2
        assert table["oracle"]["mean"] > table["random"]["mean"]
    assert set(metrics["target"]["agreement"]) >= {"largest_change", "observation_only", "all_trials"}
    assert {"with_minus_without", "counts"} <= set(metrics["explanations"])
    assert metrics["delusion"]["obs"]["confidence"] >= 0 and "teacher_world_gated_true_graph_mass" in metrics["bystander"]
    for png in ("causal_strategies.png", "bc_training_curve.png", "experimenting.png"):
        assert (tmp_path / png).stat().st_size > 10_000
    assert sorted(p.name for p in (tmp_path / "seeds").iterdir()) == ["seed_0.json", "seed_1.json"]
    # every setting that changes the numbers is recorded (data, n_studies, checkpoint_every, ...)
    from neural.dag.runs import CONFIGS, SEED_KEYS

    assert {k: v for k, v in metrics["settings"].items() if k != "jobs"} == CONFIGS["micro"].settings()
    assert {"data", "n_studies", "checkpoint_every", "explanations", "explain_steps"} <= set(metrics["settings"])
    saved = json.loads((tmp_path / "seeds" / "seed_1.json").read_text())
    assert saved["seed"] == 1 and saved["settings"]["data"] == "experimenter" and "seeds" not in saved["settings"]
    assert set(saved["result"]) == {*SEED_KEYS, "explanations"}  # what a resume checks for
    assert "| bc_agent |" in (tmp_path / "report.md").read_text()
    assert metrics["settings"]["jobs"] == min(2, usable_cpus())  # one process per seed and core
    # the test split is never looked at during training: only train and validation have curves
    # (c_pick: how often the agent acted on C for goal A in the validation episodes)
    assert set(metrics["bc_training_curve"]) == {"train", "validation", "c_pick"}
    assert set(metrics["acceptance"]) == {"split", "reward", "bc_minus", "agreement", "all"}
    assert "Issue 20's checks on `target`" in (tmp_path / "report.md").read_text()

    # the same seeds in one process give the same numbers: parallelism changes only the wall clock
    from neural.dag.report import run_causal_report

    serial = run_causal_report(tmp_path / "serial", "micro", verbose=False, jobs=1)
    for split in ("train", "target"):
        assert serial[split]["reward"] == metrics[split]["reward"]
    assert serial["bc_training_curve"] == metrics["bc_training_curve"]


def test_model_choice_never_plays_the_test_splits(monkeypatch) -> None:
    """Training with checkpoints asks only for train and validation episodes, and keeps the
    checkpoint with the best validation reward."""
    import neural.dag.runs as report

    asked = []

    def recording(space, split, n, rng):
        asked.append(split)
        return sample_tasks(space, split, n, rng)

    monkeypatch.setattr(report, "sample_tasks", recording)
    played_train_curve = []

    def train_curve_peaks_first(policy, tasks, space, rng):
        batch = run_episodes(policy, tasks, space, rng)
        if isinstance(policy, BCPolicy) and any(t.goal != 0 for t in tasks):  # the train curve's episodes
            played_train_curve.append(1)
            if len(played_train_curve) == 1:
                batch.outcomes += 100.0  # so the train curve's best checkpoint is the first one
        return batch

    monkeypatch.setattr(report, "run_episodes", train_curve_peaks_first)
    config = replace(report.CONFIGS["micro"], checkpoint_every=5)
    learner = report.train_on_validation(config, seed=0)
    assert set(asked) == {"train", "validation"}
    curve = learner.curve["validation"]
    assert len(curve) == config.bc.steps // config.checkpoint_every
    assert curve[str(learner.chosen_step)] == max(curve.values())
    # the train curve would keep the first checkpoint; the choice is validation's
    train = learner.curve["train"]
    assert max(train, key=train.get) == "5" != str(learner.chosen_step)
    # the model handed back is the kept checkpoint: it replays that checkpoint's validation reward
    space = report.HypothesisSpace.shared(config.world)
    tasks = sample_tasks(space, "validation", config.n_validation, np.random.default_rng(30_000))
    replay = run_episodes(BCPolicy(learner.model, 50_000), tasks, space, np.random.default_rng(40_000))
    assert replay.rewards().mean() == pytest.approx(curve[str(learner.chosen_step)], abs=1e-12)


def test_shuffled_identities_variant_runs_and_says_its_target_is_in_distribution(tmp_path) -> None:
    """The named variant end to end at micro scale: no explanation experiment, a report that
    states first that its target split is in-distribution by construction."""
    from neural.dag.report import CONFIGS, IN_DISTRIBUTION_NOTE, run_causal_report

    named = CONFIGS["shuffled-identities"]
    assert named.bc.shuffle_identities and not named.explanations
    assert replace(named.bc, shuffle_identities=False) == CONFIGS["default"].bc
    micro = replace(CONFIGS["micro"], seeds=1, explanations=False,
                    bc=replace(CONFIGS["micro"].bc, shuffle_identities=True))
    metrics = run_causal_report(tmp_path, micro, verbose=False, jobs=1)
    assert metrics["settings"]["bc"]["shuffle_identities"] and "explanations" not in metrics
    assert metrics["target"]["bc_minus"]["random"]["verdict"] == "undetermined"  # one seed
    report = (tmp_path / "report.md").read_text()
    assert IN_DISTRIBUTION_NOTE in report and "| bc_agent |" in report
    default = run_causal_report(tmp_path / "fixed", replace(micro, bc=CONFIGS["micro"].bc), verbose=False, jobs=1)
    assert IN_DISTRIBUTION_NOTE not in (tmp_path / "fixed" / "report.md").read_text()
    assert default["target"]["reward"]["experimenter"] == metrics["target"]["reward"]["experimenter"]


def test_bad_jobs_is_refused(tmp_path) -> None:
    from neural.dag.report import run_causal_report

    with pytest.raises(InvalidArgument, match="jobs"):
        run_causal_report(tmp_path, "micro", verbose=False, jobs=0)


def test_command_module_does_not_import_torch() -> None:
    code = ("import sys, neural.commands.causal_strategies, bayes_agent.dag.world, "
            "bayes_agent.dag.experimenter, bayes_agent.dag.baselines; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_refuses_a_finished_run_and_resume_keeps_its_seeds(tmp_path):
    """A second run into the same --out is refused; --resume loads the finished seeds instead of
    training them again (their files are untouched) and rebuilds the report from them."""
    from bayes_agent.cli import main

    out = tmp_path / "run"
    assert main(["causal-strategies", "--config", "micro", "--out", str(out), "--quiet", "--jobs", "1"]) == 0
    seed_file = out / "seeds" / "seed_0.json"
    import json

    def metrics_without_wall_time() -> dict:
        m = json.loads((out / "metrics.json").read_text())
        m.pop("seconds")
        return m

    before = (seed_file.stat().st_mtime_ns, metrics_without_wall_time())
    assert main(["causal-strategies", "--config", "micro", "--out", str(out), "--quiet", "--jobs", "1"]) == 2
    assert main(["causal-strategies", "--config", "micro", "--out", str(out), "--quiet", "--jobs", "1",
                 "--resume"]) == 0
    assert seed_file.stat().st_mtime_ns == before[0]
    assert metrics_without_wall_time() == before[1]


def test_relation_bits_follow_the_raw_goal_and_action_marks(expert) -> None:
    """Each of the five bits, for every (query, key) token pair, against its definition read off
    the episodes themselves (goals and actions), not off the features."""
    _, batch = expert
    bits = relation_bits(torch.from_numpy(episode_features(batch, 7))).numpy().astype(bool)
    n, length = len(batch), 7 * 5
    trial, node = np.repeat(np.arange(7), 5), np.tile(np.arange(5), 7)
    q_t, q_k = trial[:, None], node[:, None]
    s_t, s_j = trial[None, :], node[None, :]
    # the node whose intervention trial s shows is the one set in trial s - 1 (none at s = 0)
    shown = np.concatenate([np.full((n, 1), -1), batch.actions[:, :6] // 2], axis=1)  # (N, 7)
    expected = np.stack([
        np.broadcast_to(q_k == s_j, (n, length, length)),
        batch.goals[:, trial][:, :, None] == s_j[None],
        shown[:, trial][:, None, :] == q_k[None],
        np.broadcast_to(shown[:, trial][:, None, :] == s_j[None], (n, length, length)),
        np.broadcast_to(q_t == s_t, (n, length, length)),
    ], axis=-1)
    assert bits.shape == (n, length, length, 5)
    for r in range(5):
        assert np.array_equal(bits[..., r], expected[..., r]), f"relation bit {r}"
        assert bits[..., r].any() and not bits[..., r].all()  # each bit actually varies


def test_relation_attention_reads_the_relation_bits() -> None:
    """The learned relation terms act on the bits: with a bias on 'key node is the query's goal',
    moving the goal mark changes the logits; plain attention has no such parameters."""
    torch.manual_seed(0)
    model = PassiveLearner(7, TINY).eval()
    x = torch.randn(1, 7, 5, N_FEATURES)
    x[..., 2] = 0.0
    x[:, 5:, 4, 2] = 1.0  # goal E in the exploitation trials
    moved = x.clone()
    moved[:, 5:, 4, 2], moved[:, 5:, 0, 2] = 0.0, 1.0  # goal A instead
    with torch.no_grad():
        for block in model.blocks:
            block.attn.rel_bias.zero_()
            block.attn.rel_value.zero_()
        model.inp.weight[:, 2] = 0.0  # the goal feature reaches the model only through the bits
        ident = identity_orders(1, None, False)
        assert torch.allclose(model(x, ident), model(moved, ident))
        model.blocks[0].attn.rel_bias[1] = 3.0
        assert not torch.allclose(model(x, ident), model(moved, ident))
    plain = PassiveLearner(7, replace(TINY, attention="standard"))
    assert not any("rel_" in name for name, _ in plain.named_parameters())


def test_zero_identities_make_the_fresh_learner_treat_nodes_alike() -> None:
    """With the default (zero) identity initialisation a fresh learner with fixed identities is
    symmetric in the nodes: relabelling them relabels the actions. Random identities break it."""
    x = torch.randn(3, 7, 5, N_FEATURES)
    x[..., 2] = (torch.rand(3, 7, 5) > 0.7).float()
    x[..., 3] = (torch.rand(3, 7, 5) > 0.7).float()
    perm = torch.tensor([3, 0, 4, 1, 2])
    actions = torch.stack([2 * perm, 2 * perm + 1], dim=1).reshape(-1)
    fixed = identity_orders(3, None, False)
    for init, symmetric in (("zero", True), ("random", False)):
        torch.manual_seed(0)
        model = PassiveLearner(7, replace(TINY, identity_init=init)).eval()
        with torch.no_grad():
            same = torch.allclose(model(x, fixed)[..., actions], model(x[:, :, perm], fixed), atol=1e-5)
        assert same == symmetric, init
    assert BCConfig().identity_init == "zero" and BCConfig().attention == "relation"


def test_the_two_identity_fixes_act_on_the_identity_vectors(expert) -> None:
    """``train_identities=False`` keeps every identity at zero through training, so the trained
    learner still relabels actions with the nodes; ``identity_decay`` pulls them towards zero
    (smaller than with AdamW's 0.01 after the same steps); the defaults leave training as it was."""
    _, batch = expert
    x = torch.from_numpy(episode_features(batch, 7))[:3]
    perm = torch.tensor([3, 0, 4, 1, 2])
    actions = torch.stack([2 * perm, 2 * perm + 1], dim=1).reshape(-1)
    fixed = identity_orders(3, None, False)
    frozen, _ = train_passive_learner(batch, replace(TINY, train_identities=False), seed=0)
    assert float(frozen.identity.detach().abs().max()) == 0.0
    with torch.no_grad():
        assert torch.allclose(frozen(x, fixed)[..., actions], frozen(x[:, :, perm], fixed), atol=1e-5)
    learned, _ = train_passive_learner(batch, TINY, seed=0)
    assert float(learned.identity.detach().abs().max()) > 0  # trained identities move off zero
    with torch.no_grad():
        assert not torch.allclose(learned(x, fixed)[..., actions], learned(x[:, :, perm], fixed), atol=1e-5)
    decayed, _ = train_passive_learner(batch, replace(TINY, identity_decay=10.0), seed=0)
    assert float(decayed.identity.detach().norm()) < 0.8 * float(learned.identity.detach().norm())


@pytest.mark.parametrize("bad", [{"identity_decay": -1.0}, {"identity_decay": float("nan")},
                                 {"identity_decay": float("inf")}, {"identity_decay": True},
                                 {"train_identities": "no"}])
def test_identity_fix_settings_are_checked(bad) -> None:
    with pytest.raises(InvalidArgument, match=next(iter(bad))):
        BCConfig(**bad)
