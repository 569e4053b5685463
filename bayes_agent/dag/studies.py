"""Where the two seeds meet: whose choices are evidence, read from the transcript's gates.

* :func:`bystander_study` - a teacher who knows the graph exploits; a learner reads the record.
  With the teacher's choices world-gated (a bystander, §3.3's demonstrations) they are evidence
  about the graph; gated as the learner's own (the mislabelling) they are not.
* :func:`delusion_study` - an experimenter that scores its own exploitation choices as evidence
  (``mode="obs"``, §3.2's self-delusion) against one that does not (``mode="do"``), in episodes
  short on experiments so that the posterior has not collapsed: the cost in reward and in
  calibration (confidence that its choice is best, minus how often it is).
"""

from __future__ import annotations

import numpy as np

from .world import (ACTIONS, E_INDEX, EpisodeBatch, HypothesisSpace, allowed_actions, run_episodes,
                    sample_tasks)
from .experimenter import (
    BayesianExperimenter,
    episode_transcript,
    explore_action,
    log_posterior,
    teacher_action_probs,
    TranscriptView,
)
from .._checks import expect_count
from ..errors import InvalidArgument
from ..seeds import check_seed
from ..transcript import Gate, Mode

__all__ = ["BYSTANDER_CASES", "bystander_study", "delusion_study"]

#: (who acted, how the record is gated, likelihood mode)
BYSTANDER_CASES: dict[str, tuple[str, Gate, Mode]] = {
    "teacher_world_gated": ("teacher", Gate.WORLD, Mode.INTERVENTIONAL),  # a bystander: evidence
    "teacher_agent_gated": ("teacher", Gate.AGENT, Mode.INTERVENTIONAL),  # mislabelled as own
    "self_agent_gated": ("self", Gate.AGENT, Mode.INTERVENTIONAL),  # own choices: interventions
    "self_scored_obs": ("self", Gate.AGENT, Mode.OBSERVATIONAL),  # own choices as evidence
}


def _choice(space: HypothesisSpace, graphs: np.ndarray, logw: np.ndarray, goal: int) -> tuple[int, float]:
    """The exploiter's choice under a posterior, and the posterior mass on it being the best action."""
    w = np.exp(logw)
    expected = w @ space.values(graphs)[:, :, goal]
    choice = int(np.argmax(np.where(allowed_actions(goal), expected, -np.inf)))
    return choice, float(w[space.best_actions(graphs, goal) == choice].sum())


def bystander_study(space: HypothesisSpace, n_episodes: int, seed: int = 0,
                    n_exploit: int = 4) -> dict[str, float]:
    """Watching a teacher who knows the graph vs. acting oneself: when choices are evidence.

    ``target``-split episodes (goal E) with ``n_exploit`` exploitation trials; the teacher samples
    each exploitation choice from its own channel (best action with probability 1 - ε), the
    "self" actor picks uniformly at random. A learner reads only the exploitation choices
    (no values) as a transcript gated per :data:`BYSTANDER_CASES` and then picks an action for E.
    Returned per case: the mean posterior mass on the true graph and the rate at which the
    learner's next choice is the true best action; ``prior_true_graph_mass`` is 1 / |space|.
    """
    n_episodes = expect_count(n_episodes, "n_episodes")
    n_exploit = expect_count(n_exploit, "n_exploit")
    world = space.with_phases(space.config.n_explore, n_exploit)
    config = world.config
    rng = np.random.default_rng(check_seed(seed))
    tasks = sample_tasks(world, "target", n_episodes, rng)
    truth = np.array([t.graph for t in tasks])
    best = world.best_actions(truth, E_INDEX)
    allowed = np.flatnonzero(allowed_actions(E_INDEX))

    def teacher(batch: EpisodeBatch, t: int) -> np.ndarray:
        if t < config.n_explore:
            return np.array([explore_action(batch, n, t, rng) for n in range(len(batch))])
        probs = [np.array([float(q) for q in teacher_action_probs(int(b), [], E_INDEX, 0)]) for b in best]
        return np.array([int(rng.choice(len(ACTIONS), p=p / p.sum())) for p in probs])

    def own(batch: EpisodeBatch, t: int) -> np.ndarray:
        if t < config.n_explore:
            return teacher(batch, t)
        return rng.choice(allowed, size=len(batch)).astype(int)

    batches = {"teacher": run_episodes(teacher, tasks, world, rng),
               "self": run_episodes(own, tasks, world, rng)}
    results: dict[str, float] = {"n_episodes": float(n_episodes), "n_exploit": float(n_exploit),
                                 "prior_true_graph_mass": 1.0 / len(world)}
    for case, (actor, gate, mode) in BYSTANDER_CASES.items():
        mass, correct = [], []
        for n in range(len(tasks)):
            h = episode_transcript(batches[actor], n, config.n_trials, actor=gate,
                                   first_trial=config.n_explore, view=TranscriptView.CHOICES)
            graphs, logw = log_posterior(world, h, mode)
            mass.append(float(np.exp(logw[graphs == truth[n]]).sum()))
            correct.append(_choice(world, graphs, logw, E_INDEX)[0] == best[n])
        results[f"{case}_true_graph_mass"] = float(np.mean(mass))
        results[f"{case}_best_action_rate"] = float(np.mean(correct))
    return results


def delusion_study(space: HypothesisSpace, n_episodes: int, seed: int = 0, n_explore: int = 1,
                   n_exploit: int = 6) -> dict[str, dict[str, float]]:
    """The self-delusion check: the same experimenter with ``mode="do"`` and ``mode="obs"`` on
    the same ``target`` episodes (same graphs and world noise), with few experiments
    (``n_explore``) and many exploitation trials. Per mode: mean exploitation reward, best-action
    rate, mean confidence (posterior mass on the chosen action being best), the calibration gap
    (confidence minus best-action rate) and the mean posterior mass on the true graph."""
    n_episodes = expect_count(n_episodes, "n_episodes")
    n_exploit = expect_count(n_exploit, "n_exploit")
    n_explore = expect_count(n_explore, "n_explore", least=0)
    world = space.with_phases(n_explore, n_exploit)
    tasks = sample_tasks(world, "target", n_episodes, np.random.default_rng(check_seed(seed)))
    best = world.best_actions([t.graph for t in tasks], E_INDEX)
    out: dict[str, dict[str, float]] = {}
    for mode in (Mode.INTERVENTIONAL, Mode.OBSERVATIONAL):
        agent = BayesianExperimenter(world, seed, mode=mode)
        batch = run_episodes(agent, tasks, world, np.random.default_rng(seed + 1))
        confidence, correct, truth_mass = [], [], []
        for n, task in enumerate(tasks):
            for t in range(n_explore, world.config.n_trials):
                graphs, logw = agent.posterior(batch, n, t)
                choice, conf = _choice(world, graphs, logw, E_INDEX)
                if choice != batch.actions[n, t]:
                    raise InvalidArgument("the replayed posterior does not reproduce the choice")
                confidence.append(conf)
                correct.append(choice == best[n])
                truth_mass.append(float(np.exp(logw[graphs == task.graph]).sum()))
        out[mode.value] = {
            "reward": float(batch.rewards().mean()),
            "best_action_rate": float(np.mean(correct)),
            "confidence": float(np.mean(confidence)),
            "calibration_gap": float(np.mean(confidence) - np.mean(correct)),
            "true_graph_mass": float(np.mean(truth_mass)),
        }
    out["settings"] = {"n_episodes": float(n_episodes), "n_explore": float(n_explore),
                       "n_exploit": float(n_exploit)}
    return out
