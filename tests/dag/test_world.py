"""The causal-DAG world: hypothesis set, mechanisms, splits, episodes and the baselines."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bayes_agent.dag.baselines import BASELINES, HeuristicPolicy, OraclePolicy, RandomPolicy
from bayes_agent.dag.world import (
    D_INDEX,
    E_INDEX,
    DagConfig,
    EpisodeBatch,
    HypothesisSpace,
    action_name,
    allowed_actions,
    log_likelihood,
    propagate,
    run_episodes,
    sample_tasks,
)
from bayes_agent.errors import InvalidArgument


@pytest.fixture(scope="module")
def space3() -> HypothesisSpace:
    return HypothesisSpace(DagConfig(max_edges=3))


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
        noise = cfg.noise_values[rng.integers(0, 3, 5)]
        x = propagate(space3.fweights[h], noise)
        assert np.isfinite(log_likelihood(space3.fweights[[h]], x, None, cfg))[0]
        y = propagate(space3.fweights[h], noise, 2, -3.0)
        assert y[2] == -3.0
        # non-descendants of the intervened node keep their values under the same noise
        keep = ~space3.ancestors[h, 2] & (np.arange(5) != 2)
        assert np.array_equal(x[keep], y[keep])


def test_likelihood_is_a_distribution_over_the_support() -> None:
    space = HypothesisSpace(DagConfig(max_edges=2))
    cfg = space.config
    h = int(np.flatnonzero((space.weights != 0).sum(axis=(1, 2)) == 2)[0])
    combos = np.array(list(itertools.product(range(3), repeat=5)))
    xs = {tuple(propagate(space.fweights[h], cfg.noise_values[c])) for c in combos}
    total = sum(np.exp(log_likelihood(space.fweights[[h]], np.array(x), None, cfg))[0] for x in xs)
    assert total == pytest.approx(1.0, abs=1e-12)


def test_expected_values_match_monte_carlo(space3: HypothesisSpace) -> None:
    rng = np.random.default_rng(1)
    h = int(space3.split_members("target")[0])
    cfg = space3.config
    noise = cfg.noise_values[rng.choice(3, size=(20000, 5), p=cfg.noise_probs)]
    for a in (0, 6, 7):
        x = propagate(space3.fweights[h], noise, a // 2, (1 - 2 * (a % 2)) * cfg.intervention)
        assert x.mean(axis=0) == pytest.approx(space3.values([h])[0, a], abs=0.02)


def test_splits_hold_what_they_promise(space3: HypothesisSpace) -> None:
    anc = space3.ancestors
    train = space3.split_members("train")
    assert not anc[train, D_INDEX, E_INDEX].any()
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
        batch.initial[0, t] = propagate(w, cfg.noise_values[rng.integers(0, 3, 5)])
        a = 2 * t % 10 if t < 5 else 6
        batch.actions[0, t] = a
        batch.outcomes[0, t] = propagate(w, cfg.noise_values[rng.integers(0, 3, 5)], a // 2, 3.0)
    batch.actions[0, 5:] = -1
    batch.goals[0, 5:] = E_INDEX
    partial = HeuristicPolicy("partial_correlation").act(batch, 5)[0]
    assert partial // 2 == 2 and partial % 2 == 0  # do(C=+3)
