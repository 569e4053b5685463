"""The exact Bayesian experimenter: the engine and the vectorised path agree; gates decide."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from bayes_agent import Gate, Transcript, ZeroEvidence
from bayes_agent.dag.baselines import BASELINES, HeuristicPolicy, OraclePolicy
from bayes_agent.dag.experimenter import (
    BayesianExperimenter,
    DagProgram,
    EpisodeContext,
    ObservationOnlyPolicy,
    engine_mixture,
    episode_transcript,
    expected_information_gain,
    log_posterior,
    teacher_action_probs,
    TranscriptView,
)
from bayes_agent.dag.studies import bystander_study, delusion_study
from bayes_agent.dag.world import E_INDEX, HypothesisSpace, run_episodes, sample_tasks
from bayes_agent.errors import InvalidArgument


@pytest.fixture(scope="module")
def space(space3: HypothesisSpace) -> HypothesisSpace:
    return space3


@pytest.fixture(scope="module")
def episodes(space: HypothesisSpace):
    tasks = sample_tasks(space, "target", 3, np.random.default_rng(4))
    return tasks, run_episodes(OraclePolicy(space, tasks, 1), tasks, space, np.random.default_rng(5))


def _support(space, tasks, n, rng) -> list[int]:
    """The true graph, its single-edge neighbours' share of the space, and random others."""
    extra = rng.choice(len(space), 25, replace=False)
    return sorted(set(extra.tolist()) | {tasks[n].graph})


@pytest.mark.parametrize("gate", [Gate.AGENT, Gate.WORLD])
@pytest.mark.parametrize("mode", ["do", "obs"])
def test_engine_and_vectorised_posteriors_agree_on_every_prefix(space, episodes, gate, mode) -> None:
    tasks, batch = episodes
    rng = np.random.default_rng(0)
    for n in range(2):
        support = _support(space, tasks, n, rng)
        mixture = engine_mixture(space, support)
        for upto in (0, 1, 5, 6, 7):
            h = episode_transcript(batch, n, upto, actor=gate)
            exact = mixture.posterior(h, mode=mode)
            alive, logw = log_posterior(space, h, mode, graphs=support)
            fast = dict(zip(alive.tolist(), np.exp(logw)))
            for k, v in exact.items():
                assert v == pytest.approx(fast.get(int(k[1:]), 0.0), rel=1e-9, abs=1e-12)


@pytest.fixture(scope="module")
def own_episodes(space: HypothesisSpace):
    """Three target episodes played by the experimenter itself, one experiment and two exploitation
    trials each: its exploitation choices are its own, and its posterior has not collapsed."""
    world = space.with_phases(1, 2)
    tasks = sample_tasks(world, "target", 3, np.random.default_rng(11))
    return world, run_episodes(BayesianExperimenter(world, 2), tasks, world, np.random.default_rng(12))


def _own_record(batch, n: int) -> Transcript:
    """Episode ``n`` written out slot by slot as its actor lived it: the world's samples and
    outcomes are world slots, the actor's own actions agent slots (built here, independently of
    the code under test)."""
    h = Transcript(context=EpisodeContext(int(batch.goals[n, -1]), 0))
    for t in range(batch.config.n_trials):
        h = h.world(tuple(float(v) for v in batch.initial[n, t])).agent(int(batch.actions[n, t]))
        h = h.world(tuple(float(v) for v in batch.outcomes[n, t]))
    return h


def test_experimenter_posterior_is_the_engines_on_the_whole_space(own_episodes) -> None:
    """After whole episodes, the experimenter's posterior over all 8,281 graphs equals the engine's
    (``Mixture.posterior``: one ``DagProgram`` per graph, uniform prior) to 1e-12, with its own
    choices as agent slots: in ``do`` mode (three episodes), and for the self-deluded variant in
    ``obs`` mode (two). On these episodes the two modes differ by far more than the tolerance, so
    a gate read the wrong way round (own choices as evidence, or a watched choice ignored) fails."""
    world, batch = own_episodes
    mixture = engine_mixture(world, range(len(world)))
    do_posteriors = {}
    for n, mode in [(n, "do") for n in range(len(batch))] + [(0, "obs"), (1, "obs")]:
        h = _own_record(batch, n)
        engine = mixture.posterior(h, mode=mode)
        do_posteriors.setdefault(n, engine)
        exact = np.array([engine[f"g{g}"] for g in range(len(world))])
        graphs, logw = BayesianExperimenter(world, mode=mode).posterior(batch, n, world.config.n_trials)
        fast = np.zeros(len(world))
        fast[graphs] = np.exp(logw)
        assert np.abs(exact - fast).max() <= 1e-12, (n, mode, np.abs(exact - fast).max())
        assert set(graphs.tolist()) == set(np.flatnonzero(exact > 0).tolist())
        if mode == "obs":  # the modes really differ on this record
            assert max(abs(do_posteriors[n][k] - engine[k]) for k in engine) > 1e-3


def test_own_exploitation_choices_never_move_the_experimenters_posterior(space, episodes) -> None:
    """The experimenter's own history, cut just after its own choice at trial 5: the choice
    (an agent slot) leaves its posterior where it was. Scored as evidence, it would move."""
    _, batch = episodes
    for agent, moves in ((BayesianExperimenter(space, 0), False),
                         (BayesianExperimenter(space, 0, mode="obs"), True)):
        h = agent.history(batch, 0, 6)
        cut = next(i for i in range(len(h) - 1, -1, -1) if h[i].channel.value == "action")
        assert h[cut].value == batch.actions[0, 5]
        before = log_posterior(space, h[:cut], agent.mode)[1]
        after = log_posterior(space, h[:cut + 1], agent.mode)[1]
        assert (np.abs(before - after).max() > 1.0) == moves


def test_a_watched_choice_is_evidence_and_an_own_choice_is_not(space) -> None:
    """A record of one exploitation choice and nothing else: world-gated (a teacher's) it favours
    the graphs whose best action it is; agent-gated (one's own) it leaves the uniform prior."""
    a = 6  # do(D=+3)
    ctx = EpisodeContext(E_INDEX, space.config.n_explore)
    watched = Transcript(context=ctx).world(a, channel="action")
    own = Transcript(context=ctx).agent(a)
    g, w = log_posterior(space, own)
    assert len(g) == len(space) and np.allclose(w, -np.log(len(space)))
    g, w = log_posterior(space, watched)
    best = space.best_actions(g, E_INDEX) == a
    assert w[best].min() > w[~best].max()
    assert np.exp(w[best]).sum() > 0.5
    # the obs mode scores the own choice exactly like the watched one (§3.2's bystander view)
    assert np.allclose(log_posterior(space, own, "obs")[1], w)


def test_experimentation_choices_carry_no_information(space, episodes) -> None:
    """While experimenting, every graph's teacher picks untried nodes alike: gates do not matter."""
    _, batch = episodes
    mine = log_posterior(space, episode_transcript(batch, 1, 5, actor=Gate.AGENT))
    watched = log_posterior(space, episode_transcript(batch, 1, 5, actor=Gate.WORLD))
    assert np.allclose(mine[1], watched[1], atol=1e-9)


def test_observation_only_reads_the_passive_samples_only(space, episodes) -> None:
    _, batch = episodes
    h = ObservationOnlyPolicy(space, 0).history(batch, 0, 6)
    assert len(h) == 7 and all(s.gate is Gate.WORLD and s.channel.value == "observation" for s in h)
    changed = batch.__class__(batch.initial, batch.goals, batch.actions, batch.outcomes + 1.0, batch.config)
    assert ObservationOnlyPolicy(space, 0).history(changed, 0, 6) == h


def test_teacher_channel_is_a_distribution() -> None:
    for tried, goal, best in (([], None, None), ([0, 2], None, None), ([], 4, 6), ([0], 1, 9)):
        p = teacher_action_probs(best, tried, goal, 5)
        assert sum(p) == 1 and min(p) >= 0
    assert teacher_action_probs(6, [], 4, 5)[6] == Fraction(9, 10)
    with pytest.raises(InvalidArgument, match="not allowed"):
        teacher_action_probs(8, [], 4, 5)  # E's own node


def test_program_refuses_foreign_symbols(space) -> None:
    p = DagProgram(space, 0)
    h = Transcript(context=EpisodeContext(None))
    with pytest.raises(InvalidArgument, match="tuple of 5"):
        p.prob("hello", h, "observation")
    with pytest.raises(InvalidArgument, match="finite"):
        p.prob((float("nan"),) * 5, h, "observation")
    with pytest.raises(InvalidArgument, match="int in 0..9"):
        p.prob(10, h, "action")
    with pytest.raises(InvalidArgument, match="density"):
        p.distribution(h, "observation")
    with pytest.raises(InvalidArgument, match="float"):
        p.convert("exact")
    with pytest.raises(InvalidArgument, match="hypotheses"):
        DagProgram(space, len(space))
    with pytest.raises(InvalidArgument, match="EpisodeContext"):
        log_posterior(space, Transcript(context=4).world((0.0,) * 5))
    with pytest.raises(ZeroEvidence):  # a negative experiment is impossible for the protocol teacher
        log_posterior(space, Transcript(context=EpisodeContext(None)).world(1, channel="action"))
    with pytest.raises(InvalidArgument, match="explore"):
        BayesianExperimenter(space, explore="guess")


def test_experiments_matter_in_this_world(space) -> None:
    """The exact experimenter is near the oracle; the same Bayesian without the outcomes, and the
    correlational strategies, are far below it on the held-out dependency."""
    tasks = sample_tasks(space, "target", 60, np.random.default_rng(6))
    rewards = {}
    for name, policy in (("bayes", BayesianExperimenter(space, 0)),
                         ("oracle", OraclePolicy(space, tasks, 0)),
                         ("observation_only", ObservationOnlyPolicy(space, 0)),
                         *((b, HeuristicPolicy(b, 0)) for b in BASELINES)):
        rewards[name] = run_episodes(policy, tasks, space, np.random.default_rng(8)).rewards().mean()
    assert rewards["bayes"] >= rewards["oracle"] - 0.05
    for other in ("observation_only", *BASELINES):
        assert rewards["bayes"] > rewards[other] + 0.1, (other, rewards)


def test_information_gain_prefers_the_experiment_that_separates_hypotheses(space) -> None:
    """Two graphs left, A → E and B → E: intervening on A or B tells them apart; on C only the
    passive part of the outcome (A, B and E untouched) does, as any passive sample would."""
    w = space.weights.reshape(len(space), -1)

    def graph(i: int, j: int) -> int:
        target = np.zeros((5, 5), dtype=int)
        target[i, j] = 1
        return int(np.flatnonzero((w == target.reshape(-1)).all(axis=1))[0])

    graphs = np.array([graph(0, 4), graph(1, 4)])
    gain = expected_information_gain(space, graphs, np.log([0.5, 0.5]), np.random.default_rng(0))
    assert min(gain[0], gain[2]) > gain[4] + 0.2
    one = expected_information_gain(space, graphs[:1], np.zeros(1), np.random.default_rng(0))
    assert np.allclose(one, 0.0)


def test_bystander_learns_from_a_teachers_choices_but_not_from_its_own(space) -> None:
    r = bystander_study(space, 20, seed=0)
    # the teacher's choices, world-gated: evidence; gated as one's own: nothing
    assert r["teacher_world_gated_best_action_rate"] > r["teacher_agent_gated_best_action_rate"] + 0.5
    assert r["teacher_world_gated_true_graph_mass"] > 5 * r["teacher_agent_gated_true_graph_mass"]
    assert r["teacher_agent_gated_true_graph_mass"] == pytest.approx(r["prior_true_graph_mass"])
    # one's own random choices scored as evidence do not help find the best action
    assert r["self_scored_obs_best_action_rate"] < r["teacher_world_gated_best_action_rate"] - 0.5
    with pytest.raises(InvalidArgument):
        bystander_study(space, 0)


def test_scoring_own_choices_as_evidence_costs_reward_and_calibration(space) -> None:
    r = delusion_study(space, 40, seed=0)
    assert r["obs"]["confidence"] > r["do"]["confidence"] + 0.05
    assert r["obs"]["calibration_gap"] > r["do"]["calibration_gap"] + 0.1
    assert r["obs"]["best_action_rate"] < r["do"]["best_action_rate"]
    with pytest.raises(InvalidArgument):
        delusion_study(space, 5, n_explore=-1)


def test_each_transcript_view_shows_its_slots_and_no_invalid_view_exists(episodes) -> None:
    """FULL shows samples, actions and outcomes; PASSIVE the samples; CHOICES the actions. The
    deprecated flags still work (with a warning) and the one combination that cannot be scored,
    outcomes without actions, is refused."""
    from bayes_agent.transcript import Channel

    _, batch = episodes

    def kinds(h):
        return [("action" if s.channel is Channel.ACTION else "value") for s in h]

    full = episode_transcript(batch, 0, 2)
    assert kinds(full) == ["value", "action", "value"] * 2 + ["value"]
    assert kinds(episode_transcript(batch, 0, 2, view=TranscriptView.PASSIVE)) == ["value"] * 3
    assert kinds(episode_transcript(batch, 0, 2, view=TranscriptView.CHOICES)) == ["action"] * 2
    assert [s.value for s in episode_transcript(batch, 0, 2, view=TranscriptView.PASSIVE)] == \
        [s.value for i, s in enumerate(full) if i % 3 == 0]
    with pytest.warns(DeprecationWarning):
        old = episode_transcript(batch, 0, 2, outcomes=False, actions=False)
    assert old == episode_transcript(batch, 0, 2, view=TranscriptView.PASSIVE)
    with pytest.warns(DeprecationWarning), pytest.raises(InvalidArgument, match="without its action"):
        episode_transcript(batch, 0, 2, actions=False)
    assert {(v.outcomes, v.actions) for v in TranscriptView} <= {(True, True), (False, True), (False, False)}
