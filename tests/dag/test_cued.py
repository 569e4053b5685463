"""The cued world (the talk's adaptive experiments): cues, held-out subsets, exactness, the metric."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bayes_agent.dag.baselines import BASELINES, HeuristicPolicy
from bayes_agent.dag.cued import (CueConfig, CuedExperimenter, CuedSpace, CuedTask, cued_transcript,
                                  relevant_experiment_share, run_cued_episodes, sample_cued_tasks)
from bayes_agent.dag.experimenter import engine_mixture, log_posterior
from bayes_agent.dag.world import (A_INDEX, C_INDEX, D_INDEX, E_INDEX, EpisodeBatch, HypothesisSpace, run_episodes,
                                   sample_tasks)
from bayes_agent.errors import InvalidArgument


@pytest.fixture(scope="module")
def world(space3: HypothesisSpace) -> CuedSpace:
    return CuedSpace(space3, CueConfig(n_variables=8))


def _lifted(world: CuedSpace, task: CuedTask) -> np.ndarray:
    """The task's graph as an 8 x 8 weight matrix over the world's variables (built here)."""
    w = np.zeros((world.n_variables, world.n_variables))
    w[np.ix_(task.cue, task.cue)] = world.space.fweights[task.graph]
    return w


def _variable_ancestors(world: CuedSpace, task: CuedTask) -> np.ndarray:
    reach = _lifted(world, task) != 0
    for k in range(world.n_variables):
        reach = reach | (reach[:, [k]] & reach[[k], :])
    return reach


def test_a_cue_naming_a_missing_variable_is_refused(world) -> None:
    assert world.cue(["H", "A", "C", "D", "E"]) == (0, 2, 3, 4, 7)
    for bad, named in ((["A", "B", "C", "D", "Z"], "'Z'"), ([0, 1, 2, 3, 8], "8"), (["A", "B", "C", "D", True], "True")):
        with pytest.raises(InvalidArgument, match=f"cue names variable {named}.*A, B, C, D, E, F, G, H"):
            world.cue(bad)
    with pytest.raises(InvalidArgument, match="5 distinct"):
        world.cue(["A", "A", "B", "C", "D"])
    task = CuedTask((0, 1, 2, 3, 9), 0, 0)  # a task whose cue names a variable the world lacks
    with pytest.raises(InvalidArgument, match="variable 9"):
        run_cued_episodes(lambda b, t: np.zeros(1, dtype=int), [task], world, np.random.default_rng(0))
    for kwargs in ({"n_variables": 5}, {"n_variables": 11}, {"n_held_out": 0}, {"n_held_out": 99},
                   {"n_variables": True}):
        with pytest.raises(InvalidArgument):
            CueConfig(**kwargs)


def test_held_out_cue_subsets_never_reach_training(world) -> None:
    train, target, validation = (set(world.cues(s)) for s in ("train", "target", "validation"))
    assert len(target) == len(validation) == 4 and not target & validation
    assert not train & (target | validation)
    assert train | target | validation == set(itertools.combinations(range(8), 5))
    assert all({D_INDEX, E_INDEX} <= set(c) for c in target)
    assert all({C_INDEX, A_INDEX} <= set(c) for c in validation)
    tasks = sample_cued_tasks(world, "train", 1500, np.random.default_rng(0))
    seen = {t.cue for t in tasks}
    assert not seen & (target | validation)
    assert len(seen) == len(train)  # every training cue is used


def test_splits_hold_out_the_dependencies_in_the_variables_own_names(world) -> None:
    rng = np.random.default_rng(1)
    for task in sample_cued_tasks(world, "train", 600, rng):
        anc = _variable_ancestors(world, task)
        assert not anc[D_INDEX, E_INDEX] and not anc[C_INDEX, A_INDEX]
        assert task.goal in task.cue and anc[:, task.goal].any()
    for split, (cause, goal) in (("target", (D_INDEX, E_INDEX)), ("validation", (C_INDEX, A_INDEX))):
        for task in sample_cued_tasks(world, split, 40, rng):
            assert task.cue in world.cues(split) and task.goal == goal
            local = {v: i for i, v in enumerate(task.cue)}
            values = world.space.values([task.graph])[0, :, local[goal]]
            allowed = [a for a in range(10) if a // 2 != local[goal]]
            ranked = sorted(allowed, key=lambda a: -values[a])
            assert ranked[0] // 2 == local[cause] and values[ranked[0]] > values[ranked[1]] + 1e-9
            assert _variable_ancestors(world, task)[cause, goal]


def test_the_expert_experiments_on_cued_variables_only_each_once(world) -> None:
    tasks = sample_cued_tasks(world, "train", 40, np.random.default_rng(2))
    batch = run_cued_episodes(CuedExperimenter(world.space, 0), tasks, world, np.random.default_rng(3))
    e = batch.config.n_explore
    for n, task in enumerate(tasks):
        assert sorted(batch.actions[n, :e] // 2) == list(task.cue)  # each cued variable once
        assert (batch.actions[n, :e] % 2 == 0).all()
        assert set(batch.actions[n, e:] // 2) <= set(task.cue) - {task.goal}
    assert relevant_experiment_share(batch) == 1.0
    for rule in BASELINES:  # the baselines experiment and exploit on cued variables too
        b = run_cued_episodes(HeuristicPolicy(rule, 0), tasks, world, np.random.default_rng(3))
        assert relevant_experiment_share(b) == 1.0
        assert all(set(b.actions[n, e:] // 2) <= set(t.cue) - {t.goal} for n, t in enumerate(tasks))


def test_relevant_share_counts_experiments_on_cued_variables_only(world) -> None:
    tasks = sample_cued_tasks(world, "target", 6, np.random.default_rng(4))
    cues = world.mask(tasks)

    def policy(batch: EpisodeBatch, t: int) -> np.ndarray:
        off = np.argmin(cues, axis=1)  # an irrelevant variable of each episode
        on = np.array([[v for v in t_.cue if v != t_.goal][0] for t_ in tasks])
        # experiments: irrelevant in trials 0 and 3 (2 of 5); exploitation: always irrelevant
        return 2 * np.where(t in (0, 3) or t >= batch.config.n_explore, off, on)

    batch = run_cued_episodes(policy, tasks, world, np.random.default_rng(5))
    assert relevant_experiment_share(batch) == pytest.approx(3 / 5)
    with pytest.raises(InvalidArgument, match="cued batch"):
        relevant_experiment_share(EpisodeBatch.empty(2, world.space.config))


def test_irrelevant_variables_are_noise_and_do_on_them_touches_nothing_else(world) -> None:
    tasks = sample_cued_tasks(world, "train", 400, np.random.default_rng(6))
    cues = world.mask(tasks)
    off = np.argmin(cues, axis=1)
    on = np.array([t.cue[0] for t in tasks])
    batch = run_cued_episodes(lambda b, t: 2 * np.where(t % 2 == 0 or t >= 5, off, on) + 1, tasks, world,
                              np.random.default_rng(7))
    sigma, v = world.space.config.noise, world.space.config.intervention
    residuals, loose = [], []
    for n, task in enumerate(tasks):
        w = _lifted(world, task)
        for t in range(batch.config.n_trials):
            for x, pinned in ((batch.initial[n, t], -1), (batch.outcomes[n, t], batch.actions[n, t] // 2)):
                if pinned >= 0:
                    assert x[pinned] == -v
                r = x - np.tanh(x @ w)  # every unpinned variable: its mechanism plus N(0, σ²)
                free = [j for j in range(8) if j != pinned]
                residuals.append(r[free])
                loose.append(x[[j for j in free if not cues[n, j]]])  # irrelevant: pure noise
    residuals, loose = np.concatenate(residuals), np.concatenate(loose)
    assert abs(residuals.std() / sigma - 1) < 0.03 and abs(residuals.mean()) < 0.01
    assert abs(loose.std() / sigma - 1) < 0.03 and abs(loose.mean()) < 0.01


def _lifted_log_posterior(world: CuedSpace, batch: EpisodeBatch, n: int, upto: int, graphs) -> np.ndarray:
    """log posterior over ``graphs`` from every vector of the episode over all 8 variables: the
    Gaussian density of each unpinned variable's residual under the graph placed on the cue,
    written out here without the five-node code."""
    cue = tuple(np.flatnonzero(batch.cues[n]))
    sigma = world.space.config.noise
    vectors = [(batch.initial[n, t], -1) for t in range(min(upto + 1, batch.config.n_trials))]
    vectors += [(batch.outcomes[n, t], batch.actions[n, t] // 2) for t in range(upto)]
    w = np.zeros((len(graphs), 8, 8))
    w[:, np.array(cue)[:, None], np.array(cue)[None, :]] = world.space.fweights[np.asarray(graphs)]
    logw = np.zeros(len(graphs))
    for x, pinned in vectors:
        r = (x[None, :] - np.tanh(np.einsum("i,hij->hj", x, w))) / sigma  # (H, 8)
        logw += (-0.5 * r[:, np.arange(8) != pinned] ** 2).sum(axis=1)
    return logw - np.logaddexp.reduce(logw)


def test_the_cued_posterior_is_exact_over_every_variable_and_is_the_engines(world) -> None:
    """Episodes whose experiments hit cued and irrelevant variables: the experimenter's posterior
    (five-node, from the cued coordinates) equals the posterior computed over all 8 variables on
    the whole space, and the engine's on a support of graphs (the existing tests' tolerance)."""
    tasks = sample_cued_tasks(world, "target", 2, np.random.default_rng(8))
    cues = world.mask(tasks)
    off, on = np.argmin(cues, axis=1), np.array([t.cue[1] for t in tasks])
    schedule = lambda b, t: 2 * np.where(t in (1, 3), off, on) + (t % 2)  # noqa: E731
    batch = run_cued_episodes(schedule, tasks, world, np.random.default_rng(9))
    rng = np.random.default_rng(10)
    everything = np.arange(len(world.space))
    for n, task in enumerate(tasks):
        support = sorted(set(rng.choice(len(world.space), 25, replace=False).tolist()) | {task.graph})
        mixture = engine_mixture(world.space, support)
        for upto in (2, 4, batch.config.n_trials):
            h = cued_transcript(batch, n, upto)
            alive, logw = log_posterior(world.space, h, "do")
            fast = np.full(len(everything), -np.inf)
            fast[alive] = logw
            lifted = _lifted_log_posterior(world, batch, n, upto, everything)
            assert np.allclose(np.exp(fast), np.exp(lifted), atol=1e-9), upto
            engine = mixture.posterior(h, mode="do")
            lifted_support = np.exp(_lifted_log_posterior(world, batch, n, upto, support))
            for g, p in zip(support, lifted_support):
                assert engine[f"g{g}"] == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_the_cued_experimenter_exploits_that_posterior(world) -> None:
    tasks = sample_cued_tasks(world, "validation", 3, np.random.default_rng(11))
    batch = run_cued_episodes(CuedExperimenter(world.space, 1), tasks, world, np.random.default_rng(12))
    e = batch.config.n_explore
    everything = np.arange(len(world.space))
    for n, task in enumerate(tasks):
        logw = _lifted_log_posterior(world, batch, n, e, everything)
        local = task.cue.index(task.goal)
        expected = np.exp(logw) @ world.space.values(everything)[:, :, local]
        expected[2 * local: 2 * local + 2] = -np.inf
        a = int(np.argmax(expected))
        assert batch.actions[n, e] == 2 * task.cue[a // 2] + a % 2


def test_the_learners_tokens_carry_the_raw_cue_and_nothing_else_new(world) -> None:
    from neural.dag.passive_learner import N_FEATURES, episode_features

    tasks = sample_cued_tasks(world, "train", 5, np.random.default_rng(13))
    batch = run_cued_episodes(CuedExperimenter(world.space, 0), tasks, world, np.random.default_rng(14))
    feats = episode_features(batch, batch.config.n_trials)
    assert feats.shape == (5, batch.config.n_trials, 8, N_FEATURES + 1)
    assert (feats[..., N_FEATURES] == world.mask(tasks)[:, None, :]).all()
    plain = EpisodeBatch(batch.initial, batch.goals, batch.actions, batch.outcomes, batch.config)
    assert (episode_features(plain, batch.config.n_trials) == feats[..., :N_FEATURES]).all()


def test_target_is_played_only_after_the_checkpoint_is_chosen(monkeypatch) -> None:
    import neural.dag.cued as cued
    from neural.dag.runs import CONFIGS, TrainedLearner

    learner = TrainedLearner(model=None, losses=[0.0], curve={}, selection=None, expert=None, expert_tasks=[])
    monkeypatch.setattr(cued, "train_cued_on_validation", lambda *a, **k: learner)
    played = []
    real = cued.sample_cued_tasks
    monkeypatch.setattr(cued, "sample_cued_tasks", lambda w, split, *a: played.append(split) or real(w, split, *a))
    monkeypatch.setattr(cued, "CUED_SPLITS", ("target",))  # the rule guarded: target waits for a selection
    with pytest.raises(InvalidArgument, match="target played before the checkpoint"):
        cued.run_cued_seed(CONFIGS["cued-micro"], 0, verbose=False)
    assert "target" not in played


def test_cli_runs_the_cued_micro_report(tmp_path) -> None:
    """``--config cued-micro``: the issue's keys, the held-out cues named, the share recomputed."""
    import json

    import neural.dag.cued as cued
    from bayes_agent.cli import main
    from neural.dag.runs import CONFIGS

    assert main(["causal-strategies", "--out", str(tmp_path), "--config", "cued-micro", "--quiet", "--jobs", "1"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for split in ("train", "validation", "target"):
        share = metrics[split]["relevant_experiment_share"]
        assert set(share) == {"bc_agent", "experimenter", "observation_only", *BASELINES, "random"}
        assert share["experimenter"]["mean"] == 1.0 and 0.0 <= share["bc_agent"]["mean"] <= 1.0
        assert {"largest_change", "total_correlation", "partial_correlation"} <= set(metrics[split]["bc_minus"])
        assert metrics[split]["bc_minus"]["largest_change"]["verdict"] in ("above", "below", "tied")
        assert {"observation_only", "largest_change", "all_trials"} <= set(metrics[split]["agreement"])
    assert metrics["cues"]["target"] == ["ABDEH", "ADEFG", "BDEFH", "BDEGH"]
    assert not set(metrics["cues"]["train"]) & set(metrics["cues"]["target"] + metrics["cues"]["validation"])
    seeds = [json.loads((tmp_path / "seeds" / f"seed_{k}.json").read_text()) for k in range(2)]
    assert metrics["target"]["relevant_experiment_share"]["bc_agent"]["per_seed"] == [
        s["result"]["relevant_share"]["bc_agent"]["target"] for s in seeds]
    assert set(seeds[0]["result"]) == set(cued.CUED_SEED_KEYS)  # what a resume checks for
    # every setting is recorded (the cue settings among them), and exactly these files are written
    assert {k: v for k, v in metrics["settings"].items() if k != "jobs"} == CONFIGS["cued-micro"].settings()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bc_training_curve.png", "metrics.json", "report.md",
                                                         "seeds"]
    assert set(metrics["acceptance"]) == {"split", "relevant_share", "above", "all"}
    assert set(metrics["bc_training_curve"]) == {"train", "validation", "relevant_share"}  # no target curve
    assert "| bc_agent |" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize("cued", [False, True])
@pytest.mark.parametrize("bad, message", [
    (lambda n, t, goal, k: np.zeros(n + 1, dtype=int), "integer actions"),  # wrong length
    (lambda n, t, goal, k: np.zeros(n), "integer actions"),  # floats
    (lambda n, t, goal, k: np.full(n, k), "must lie in"),  # one past the last action
    (lambda n, t, goal, k: 2 * goal if t >= 3 else np.zeros(len(goal), dtype=int), "the goal"),
])
def test_a_policys_bad_actions_are_refused_in_either_world(space3, world, cued, bad, message) -> None:
    """Both worlds check a policy's actions with one rule (world.check_actions): shape and integer
    type, range, and no intervention on the goal once it is named."""
    rng = np.random.default_rng(0)
    if cued:
        tasks = sample_cued_tasks(world, "train", 4, rng)
        goals, k = np.array([t.goal for t in tasks]), world.n_actions
        play = lambda policy: run_cued_episodes(policy, tasks, world, rng)  # noqa: E731
    else:
        tasks = sample_tasks(space3, "train", 4, rng)
        goals, k = np.array([t.goal for t in tasks]), 10
        play = lambda policy: run_episodes(policy, tasks, space3, rng)  # noqa: E731
    with pytest.raises(InvalidArgument, match=message):
        play(lambda batch, t: bad(len(tasks), t, goals, k))
