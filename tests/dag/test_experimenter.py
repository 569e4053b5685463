"""The exact Bayesian experimenter: the engine and the vectorised path agree; gates decide."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from bayes_agent import Gate, Transcript
from bayes_agent.dag.baselines import HeuristicPolicy, OraclePolicy
from bayes_agent.dag.world import DagConfig, HypothesisSpace, run_episodes, sample_tasks
from bayes_agent.errors import InvalidArgument
from bayes_agent.dag.experimenter import (
    BayesianExperimenter,
    DagProgram,
    bystander_study,
    engine_mixture,
    episode_transcript,
    log_posterior,
    teacher_action_probs,
)


@pytest.fixture(scope="module")
def space() -> HypothesisSpace:
    return HypothesisSpace(DagConfig(max_edges=3))


@pytest.fixture(scope="module")
def episodes(space: HypothesisSpace):
    tasks = sample_tasks(space, "target", 3, np.random.default_rng(4))
    return tasks, run_episodes(OraclePolicy(space, tasks, 1), tasks, space, np.random.default_rng(5))


def _support(space, batch, n, tasks, rng) -> list[int]:
    """The true graph, the graphs the first initial sample leaves alive, and random others."""
    alive, _ = log_posterior(space, batch, n, 1, include_outcomes=False)
    extra = rng.choice(len(space), 15, replace=False)
    return sorted(set(alive[:40].tolist()) | set(extra.tolist()) | {tasks[n].graph})


@pytest.mark.parametrize("mode", ["do", "obs"])
def test_engine_and_vectorised_posteriors_agree_on_every_prefix(space, episodes, mode) -> None:
    tasks, batch = episodes
    rng = np.random.default_rng(0)
    for n in range(2):
        support = _support(space, batch, n, tasks, rng)
        mixture = engine_mixture(space, support)
        actor = Gate.AGENT if mode == "do" else Gate.WORLD
        sizes = []
        for upto in (1, 2, 5, 7):
            h = episode_transcript(batch, n, upto, actor=actor)
            exact = mixture.posterior(h, mode=mode)
            alive, logw = log_posterior(space, batch, n, upto, mode=mode, graphs=support)
            fast = dict(zip(alive.tolist(), np.exp(logw)))
            assert {int(k[1:]) for k, v in exact.items() if v > 0} == set(fast)
            for k, v in exact.items():
                assert isinstance(v, Fraction)
                assert float(v) == pytest.approx(fast.get(int(k[1:]), 0.0), abs=1e-12)
            assert exact[f"g{tasks[n].graph}"] > 0  # the truth is never ruled out
            sizes.append(len(fast))
        assert sizes[0] >= sizes[-1]


def test_own_actions_never_move_the_posterior(space, episodes) -> None:
    tasks, batch = episodes
    support = _support(space, batch, 0, tasks, np.random.default_rng(1))
    mixture = engine_mixture(space, support)
    h = episode_transcript(batch, 0, 6)
    before = mixture.posterior(h[: len(h) - 1])  # after do(a) at trial 6, before its outcome
    assert before == mixture.posterior(h[: len(h) - 2])  # the agent slot changed nothing


def test_a_watched_choice_is_evidence_and_an_own_choice_is_not() -> None:
    """A world with no experimentation phase: the first slot is already an exploitation choice."""
    space0 = HypothesisSpace(DagConfig(max_edges=2, n_explore=0))
    graphs = np.random.default_rng(3).choice(len(space0), 40, replace=False)
    mixture = engine_mixture(space0, graphs)
    prior = mixture.posterior(Transcript(context=4))
    best = space0.best_actions(graphs, 4)
    a = int(np.bincount(best).argmax())
    own = Transcript(context=4).agent(a)
    watched = Transcript(context=4).world(a, channel="action")
    assert mixture.posterior(own) == prior
    assert mixture.posterior(own, mode="obs") == mixture.posterior(watched, mode="obs")
    post = mixture.posterior(watched)
    for g, b in zip(graphs, best):  # graphs whose best action it is gain weight, the others lose
        assert (post[f"g{g}"] > prior[f"g{g}"]) == (b == a)


def test_experimentation_choices_carry_no_information(space, episodes) -> None:
    """While experimenting, every graph's teacher picks untried nodes alike: obs == do."""
    tasks, batch = episodes
    support = _support(space, batch, 1, tasks, np.random.default_rng(2))
    mixture = engine_mixture(space, support)
    watched = episode_transcript(batch, 1, 5, actor=Gate.WORLD)
    assert mixture.posterior(watched, mode="obs") == mixture.posterior(watched, mode="do")


def test_teacher_channel_is_a_distribution() -> None:
    for tried, goal, best in (([], None, None), ([0, 2], None, None), ([], 4, 6), ([0], 1, 9)):
        p = teacher_action_probs(best, tried, goal, 5)
        assert sum(p) == 1 and min(p) >= 0
    assert teacher_action_probs(6, [], 4, 5)[6] == Fraction(9, 10)
    with pytest.raises(InvalidArgument, match="not allowed"):
        teacher_action_probs(8, [], 4, 5)  # E's own node


def test_program_refuses_foreign_symbols(space) -> None:
    p = DagProgram(space, 0)
    with pytest.raises(InvalidArgument, match="causal-DAG world"):
        p.prob("hello", Transcript(), "observation")
    assert p.prob((9.0, 9.0, 9.0, 9.0, 9.0), Transcript(), "observation") == 0
    with pytest.raises(InvalidArgument, match="exact"):
        p.convert("float")
    with pytest.raises(InvalidArgument, match="hypotheses"):
        DagProgram(space, len(space))


def test_experimenter_is_near_optimal_and_beats_a_heuristic(space) -> None:
    tasks = sample_tasks(space, "train", 40, np.random.default_rng(6))
    rewards = {}
    for name, policy in (("bayes", BayesianExperimenter(space, 0)),
                         ("oracle", OraclePolicy(space, tasks, 0)),
                         ("best_value", HeuristicPolicy("best_value", 0))):
        rewards[name] = run_episodes(policy, tasks, space, np.random.default_rng(8)).rewards().mean()
    assert rewards["bayes"] >= rewards["oracle"] - 0.05
    assert rewards["bayes"] > rewards["best_value"]


def test_bystander_learns_from_a_teachers_choices_but_not_from_its_own() -> None:
    space = HypothesisSpace(DagConfig(max_edges=2))
    r = bystander_study(space, 20, seed=0)
    # the teacher's choices alone: evidence for the bystander, nothing for the do-learner
    assert r["teacher_choices_obs_best_action_rate"] > r["teacher_choices_do_best_action_rate"] + 0.3
    assert r["teacher_choices_obs_true_graph_mass"] > r["teacher_choices_do_true_graph_mass"]
    # one's own random choices scored as evidence do not help find the best action
    assert r["self_choices_obs_best_action_rate"] < r["teacher_choices_obs_best_action_rate"]
    with pytest.raises(InvalidArgument):
        bystander_study(space, 0)
