"""The causal-DAG world: hypothesis set, mechanisms, splits, episodes and the baselines."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bayes_agent.dag.baselines import BASELINES, HeuristicPolicy, OraclePolicy, RandomPolicy
from bayes_agent.dag.world import (
    A_INDEX,
    C_INDEX,
    D_INDEX,
    E_INDEX,
    DagConfig,
    EpisodeBatch,
    HypothesisSpace,
    action_name,
    allowed_actions,
    log_likelihood,
    mechanism,
    propagate,
    run_episodes,
    sample_tasks,
)
from bayes_agent.errors import InvalidArgument


def _count_signed_dags(max_edges: int) -> int:
    """Independent count: every signed digraph with ≤ max_edges edges, minus the cyclic ones."""
    pairs = [(i, j) for i in range(5) for j in range(5) if i != j]
    total = 0
    for k in range(max_edges + 1):
        for edges in itertools.combinations(pairs, k):
            adj = {i: [j for a, j in edges if a == i] for i in range(5)}
            state = [0] * 5

            def cyclic(v: int) -> bool:
                state[v] = 1
                for w in adj[v]:
                    if state[w] == 1 or (state[w] == 0 and cyclic(w)):
                        return True
                state[v] = 2
                return False

            if not any(state[v] == 0 and cyclic(v) for v in range(5)):
                total += 2 ** k
    return total


@pytest.mark.parametrize("max_edges", [1, 2, 3])
def test_hypothesis_set_is_every_signed_dag(max_edges: int) -> None:
    space = HypothesisSpace(DagConfig(max_edges=max_edges))
    assert len(space) == _count_signed_dags(max_edges)
    flat = space.weights.reshape(len(space), -1)
    assert len(np.unique(flat, axis=0)) == len(space)  # no duplicates
    assert not space.ancestors[:, range(5), range(5)].any()  # acyclic: nobody is its own ancestor


def test_propagate_satisfies_every_mechanism_and_do_is_surgery(space3: HypothesisSpace) -> None:
    rng = np.random.default_rng(0)
    cfg = space3.config
    for h in rng.choice(len(space3), 50):
        noise = rng.normal(0, cfg.noise, 5)
        x = propagate(space3.fweights[h], noise)
        # each node is its mechanism's mean plus its own noise, exactly
        assert np.allclose(x - mechanism(x[None], space3.fweights[h])[0], noise, atol=1e-12)
        y = propagate(space3.fweights[h], noise, 2, -3.0)
        assert y[2] == -3.0
        # non-descendants of the intervened node keep their values under the same noise
        keep = ~space3.ancestors[h, 2] & (np.arange(5) != 2)
        assert np.array_equal(x[keep], y[keep])
        desc = space3.ancestors[h, 2]
        if desc.any():
            assert not np.allclose(x[desc], y[desc])


def test_likelihood_is_the_gaussian_density_of_the_residuals(space3: HypothesisSpace) -> None:
    from scipy.stats import norm

    cfg = space3.config
    rng = np.random.default_rng(3)
    graphs = rng.choice(len(space3), 30, replace=False)
    xs = rng.normal(0, 1, (3, 5))
    dos = np.array([-1, 1, 4])
    got = log_likelihood(space3.fweights[graphs], xs, dos, cfg)
    for k, h in enumerate(graphs):
        w = space3.weights[h]
        want = 0.0
        for x, d in zip(xs, dos):
            for j in range(5):
                if j != d:
                    mean = np.tanh(sum(w[i, j] * x[i] for i in range(5)))
                    want += norm.logpdf(x[j], loc=mean, scale=cfg.noise)
        assert got[k] == pytest.approx(want, abs=1e-9)
    # the pinned node's value never matters
    moved = xs.copy()
    moved[1, 1] += 5.0
    changed = log_likelihood(space3.fweights[graphs], moved[1], 1, cfg)
    assert np.allclose(changed[space3.weights[graphs][:, 1].any(axis=1) == 0],
                       log_likelihood(space3.fweights[graphs], xs[1], 1, cfg)[
                           space3.weights[graphs][:, 1].any(axis=1) == 0])


def test_expected_values_match_monte_carlo(space3: HypothesisSpace) -> None:
    rng = np.random.default_rng(1)
    cfg = space3.config
    for h in (int(space3.split_members("target")[0]), int(space3.split_members("path")[0])):
        noise = rng.normal(0, cfg.noise, (40000, 5))
        for a in (0, 5, 6, 7):
            x = propagate(space3.fweights[h], noise, a // 2, (1 - 2 * (a % 2)) * cfg.intervention)
            assert x.mean(axis=0) == pytest.approx(space3.values([h])[0, a], abs=0.01)


def test_passive_samples_do_not_identify_the_graph(space3: HypothesisSpace) -> None:
    """Why the noise is Gaussian: after a passive sample many graphs keep real weight."""
    rng = np.random.default_rng(2)
    for h in space3.split_members("target")[:5]:
        x = propagate(space3.fweights[h], rng.normal(0, space3.config.noise, 5))
        ll = log_likelihood(space3.fweights, x, None, space3.config)
        w = np.exp(ll - np.logaddexp.reduce(ll))
        assert (w > 1e-2 * w.max()).sum() > 100


def test_splits_hold_what_they_promise(space3: HypothesisSpace) -> None:
    anc = space3.ancestors
    train = space3.split_members("train")
    assert not anc[train, D_INDEX, E_INDEX].any() and not anc[train, C_INDEX, A_INDEX].any()
    validation = space3.split_members("validation")
    assert anc[validation, C_INDEX, A_INDEX].all() and not anc[validation, D_INDEX, E_INDEX].any()
    assert (space3.best_actions(validation, A_INDEX) // 2 == C_INDEX).all()
    for t in sample_tasks(space3, "validation", 20, np.random.default_rng(0)):
        assert t.goal == A_INDEX
    target, path = space3.split_members("target"), space3.split_members("path")
    assert len(target) and len(path) and not set(target) & set(path)
    assert anc[target, D_INDEX, E_INDEX].all() and anc[path, D_INDEX, E_INDEX].all()
    assert (space3.best_actions(target, E_INDEX) // 2 == D_INDEX).all()
    best_path = space3.best_actions(path, E_INDEX) // 2
    assert (best_path != D_INDEX).all() and anc[path, best_path, D_INDEX].all()
    for t in sample_tasks(space3, "train", 50, np.random.default_rng(0)):
        assert anc[t.graph, :, t.goal].any()  # training goals can be influenced


def test_episodes_are_deterministic_and_rewards_are_goal_values(space3: HypothesisSpace) -> None:
    tasks = sample_tasks(space3, "target", 5, np.random.default_rng(0))
    runs = [run_episodes(HeuristicPolicy("largest_change", 3), tasks, space3, np.random.default_rng(7))
            for _ in range(2)]
    assert np.array_equal(runs[0].outcomes, runs[1].outcomes)
    assert np.array_equal(runs[0].actions, runs[1].actions)
    b = runs[0]
    assert (b.goals[:, :5] == -1).all() and (b.goals[:, 5:] == E_INDEX).all()
    assert np.array_equal(b.rewards(), b.outcomes[:, 5:, E_INDEX])
    # experimentation tries every node once, positive
    assert all(sorted(b.actions[n, :5]) == [0, 2, 4, 6, 8] for n in range(len(b)))


@pytest.mark.parametrize("bad", [
    lambda b, t: np.full(len(b), 2 * E_INDEX),  # intervenes on the goal (checked in exploitation)
    lambda b, t: np.full(len(b), 10),
    lambda b, t: np.full(len(b), -1),
    lambda b, t: np.zeros(len(b) + 1, dtype=int),
    lambda b, t: np.zeros(len(b)),  # floats
])
def test_bad_policies_are_refused(space3: HypothesisSpace, bad) -> None:
    tasks = sample_tasks(space3, "path", 3, np.random.default_rng(0))
    with pytest.raises(InvalidArgument):
        run_episodes(bad, tasks, space3, np.random.default_rng(0))


@pytest.mark.parametrize("kwargs", [
    {"noise": 0}, {"noise": 1.5}, {"intervention": 0.5}, {"max_edges": 0}, {"max_edges": 5},
    {"n_explore": -1}, {"n_exploit": 0}, {"noise": "0.2"},
])
def test_bad_config_is_refused(kwargs) -> None:
    with pytest.raises(InvalidArgument):
        DagConfig(**kwargs)


def test_bad_arguments_are_refused(space3: HypothesisSpace) -> None:
    with pytest.raises(InvalidArgument, match="split"):
        space3.split_members("test")
    with pytest.raises(InvalidArgument, match="positive int"):
        sample_tasks(space3, "train", 0, np.random.default_rng(0))
    with pytest.raises(InvalidArgument, match="action"):
        action_name(10)
    with pytest.raises(InvalidArgument, match="rule"):
        HeuristicPolicy("telepathy")
    with pytest.raises(InvalidArgument, match="at least one task"):
        run_episodes(RandomPolicy(), [], space3, np.random.default_rng(0))


def test_allowed_actions_mask_the_goal() -> None:
    assert allowed_actions(None).all()
    assert list(np.flatnonzero(~allowed_actions(D_INDEX))) == [6, 7]


def test_baselines_act_legally_and_order_as_expected(space3: HypothesisSpace) -> None:
    tasks = sample_tasks(space3, "train", 60, np.random.default_rng(2))
    scores = {}
    for name, policy in [(b, HeuristicPolicy(b, 0)) for b in BASELINES] + [
            ("random", RandomPolicy(0)), ("oracle", OraclePolicy(space3, tasks, 0))]:
        batch = run_episodes(policy, tasks, space3, np.random.default_rng(3))
        scores[name] = batch.rewards().mean()
    assert scores["random"] < min(scores[b] for b in BASELINES)
    assert scores["oracle"] >= max(scores[b] for b in BASELINES) - 0.02


def test_partial_correlation_controls_for_a_confounder() -> None:
    """C drives both D and E; D has no effect on E: the regression controlling for D credits C."""
    cfg = DagConfig()
    batch = EpisodeBatch.empty(1, cfg)
    rng = np.random.default_rng(0)
    w = np.zeros((5, 5))
    w[2, 3], w[2, 4] = 1.0, 1.0
    for t in range(cfg.n_trials):
        batch.initial[0, t] = propagate(w, rng.normal(0, cfg.noise, 5))
        a = 2 * t % 10 if t < 5 else 6
        batch.actions[0, t] = a
        batch.outcomes[0, t] = propagate(w, rng.normal(0, cfg.noise, 5), a // 2, 3.0)
    batch.actions[0, 5:] = -1
    batch.goals[0, 5:] = E_INDEX
    partial = HeuristicPolicy("partial_correlation").act(batch, 5)[0]
    assert partial // 2 == 2 and partial % 2 == 0  # do(C=+3)


def test_the_spaces_column_shortcut_gives_the_same_likelihood(space3: HypothesisSpace) -> None:
    rng = np.random.default_rng(5)
    xs = rng.normal(0, 1, (4, 5))
    dos = np.array([-1, 0, 3, -1])
    graphs = rng.choice(len(space3), 200, replace=False)
    want = log_likelihood(space3.fweights[graphs], xs, dos, space3.config)
    assert np.allclose(space3.log_likelihood(xs, dos, graphs), want, rtol=1e-12, atol=1e-9)
    per = space3.log_likelihood(xs, dos, graphs, per_vector=True)
    assert per.shape == (200, 4) and np.allclose(per.sum(axis=1), want, atol=1e-9)
    assert np.allclose(space3.log_likelihood(xs[0], None)[graphs],
                       log_likelihood(space3.fweights[graphs], xs[0], None, space3.config), atol=1e-9)


def test_the_shared_value_table_is_cached_and_equals_a_fresh_one(tmp_path, monkeypatch) -> None:
    """The table a shared space writes to the cache equals a fresh computation, a later load
    returns it, and a corrupt file is recomputed, not trusted."""
    import bayes_agent.dag.world as world

    monkeypatch.setenv("BAYES_AGENT_CACHE", str(tmp_path))
    config = DagConfig(max_edges=1, noise=0.25)
    build = world._shared_space.__wrapped__  # past the in-process cache, to the disk one
    first = build(config)
    (path,) = tmp_path.glob("dag-values-*.npy")
    fresh = HypothesisSpace(config)
    assert np.array_equal(np.load(path), fresh.values(np.arange(len(fresh))))
    np.save(path, first._values + 1.0)  # proves the load path is taken: it is returned as stored
    assert np.array_equal(build(config)._values, first._values + 1.0)
    path.write_bytes(b"not a table")
    assert np.array_equal(build(config)._values, fresh._values)
    monkeypatch.setenv("BAYES_AGENT_CACHE", "off")
    path.unlink()
    build(config)
    assert not path.exists()
