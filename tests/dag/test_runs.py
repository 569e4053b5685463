"""The study's order of play and its expert data: target only after the checkpoint is chosen,
and no held-out dependency in any demonstration (oracle or experimenter)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bayes_agent.dag.oracle import oracle_episodes  # noqa: E402
from bayes_agent.dag.world import A_INDEX, C_INDEX, D_INDEX, E_INDEX  # noqa: E402
from bayes_agent.errors import InvalidArgument  # noqa: E402


def test_oracle_data_never_shows_a_held_out_dependency(space3) -> None:
    tasks, batch = oracle_episodes(space3, 3000, np.random.default_rng(0))
    graphs = np.array([t.graph for t in tasks])
    anc = space3.ancestors[graphs]
    assert not anc[:, D_INDEX, E_INDEX].any() and not anc[:, C_INDEX, A_INDEX].any()
    assert {t.goal for t in tasks} >= {A_INDEX, E_INDEX}
    # every goal has an ancestor; experiments try each node once at +v; exploitation is the best action
    goals = np.array([t.goal for t in tasks])
    assert anc[np.arange(len(tasks)), :, goals].any(axis=1).all()
    explore = batch.actions[:, :5]
    assert (explore % 2 == 0).all() and (np.sort(explore // 2, axis=1) == np.arange(5)).all()
    best = np.array([space3.best_actions([h], g)[0] for h, g in zip(graphs[:300], goals[:300])])
    assert (batch.actions[:300, 5:] == best[:, None]).all()


def test_every_expert_source_trains_on_the_train_split_only(space3) -> None:
    from neural.dag.runs import CONFIGS, expert_data

    for data in ("oracle", "experimenter"):
        config = replace(CONFIGS["micro"], data=data, n_expert=40)
        tasks, batch = expert_data(config, space3, seed=0)
        assert len(tasks) == len(batch) == 40
        anc = space3.ancestors[[t.graph for t in tasks]]
        assert not anc[:, D_INDEX, E_INDEX].any() and not anc[:, C_INDEX, A_INDEX].any()
    with pytest.raises(InvalidArgument, match="data"):
        replace(CONFIGS["micro"], data="teacher")


def test_held_out_splits_need_a_selection_and_are_played_once() -> None:
    from neural.dag.runs import HeldOutPlays, Selection

    class Unchosen:
        selection = None

    class Chosen:
        selection = Selection(step=10, validation_reward=0.5)

    plays = HeldOutPlays()
    plays.admit(Unchosen(), "validation")  # validation and train are open to model choice
    with pytest.raises(InvalidArgument, match="before the checkpoint was chosen"):
        plays.admit(Unchosen(), "target")
    plays.admit(Chosen(), "target")
    with pytest.raises(InvalidArgument, match="already played"):
        plays.admit(Chosen(), "target")


def test_a_seed_plays_target_and_path_only_after_choosing_its_checkpoint(monkeypatch, space3) -> None:
    """The whole seed, spied on: every episode drawn for ``target`` or ``path`` (by any agent)
    comes after ``train_on_validation`` has returned its selection."""
    import bayes_agent.dag.evaluation as evaluation
    import neural.dag.runs as runs

    events: list[str] = []
    for module in (runs, evaluation):
        original = module.sample_tasks

        def recording(space, split, n, rng, original=original):
            events.append(split)
            return original(space, split, n, rng)

        monkeypatch.setattr(module, "sample_tasks", recording)
    choose = runs.train_on_validation

    def choosing(*args, **kwargs):
        learner = choose(*args, **kwargs)
        events.append("selected")
        return learner

    monkeypatch.setattr(runs, "train_on_validation", choosing)
    config = replace(runs.CONFIGS["micro"], explanations=False, n_expert=30)
    runs._run_seed(config, 0, verbose=False)
    assert "selected" in events and {"target", "path"} <= set(events)
    chosen = events.index("selected")
    assert all(e not in ("target", "path") for e in events[:chosen])
