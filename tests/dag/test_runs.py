"""The study's order of play and its expert data: target only after the checkpoint is chosen,
and no held-out dependency in any demonstration (oracle or experimenter)."""

from __future__ import annotations

import json
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


# --- resume: a saved seed is used only by the settings that made it ------------------------------

def _saved_micro_seed(folder, seed: int = 0, config=None) -> dict:
    """A seed file as a micro run writes it (a stand-in result with every key a seed records)."""
    from neural.dag.runs import CONFIGS, SEED_KEYS, save_seed

    config = config or CONFIGS["micro"]
    result = {k: {"stand-in": seed} for k in SEED_KEYS + (("explanations",) if config.explanations else ())}
    save_seed(folder / "seeds" / f"seed_{seed}.json", config, seed, result)
    return result


def test_resume_refuses_a_seed_saved_under_other_settings(tmp_path) -> None:
    """The tester's silent case (a micro folder resumed with other settings) and the cued one
    (a KeyError before): refused up front, naming the settings that differ; nothing is trained."""
    from neural.dag.runs import CONFIGS, load_seed, run_causal_report

    (tmp_path / "seeds").mkdir()
    result = _saved_micro_seed(tmp_path)
    other = replace(CONFIGS["micro"], n_eval=3, n_expert=7, data="oracle")
    with pytest.raises(InvalidArgument, match=r'seed_0\.json was made with other settings.*data "experimenter" '
                       r'-> "oracle"; n_eval 12 -> 3; n_expert 60 -> 7\)'):
        run_causal_report(tmp_path, other, verbose=False, jobs=1, resume=True)
    with pytest.raises(InvalidArgument, match=r"cued null -> a setting group"):
        run_causal_report(tmp_path, "cued-micro", verbose=False, jobs=1, resume=True)
    with pytest.raises(InvalidArgument, match=r"bc\.steps 30 -> 700.*and \d+ more"):
        run_causal_report(tmp_path, "default", verbose=False, jobs=1, resume=True)
    assert sorted(p.name for p in (tmp_path / "seeds").iterdir()) == ["seed_0.json"]  # nothing ran
    # the same settings load it; the number of seeds is not a setting of any one seed
    seed_file = tmp_path / "seeds" / "seed_0.json"
    assert load_seed(seed_file, CONFIGS["micro"], 0) == result
    assert load_seed(seed_file, replace(CONFIGS["micro"], seeds=5), 0) == result
    with pytest.raises(InvalidArgument, match="holds seed 0, not seed 1"):
        load_seed(seed_file, CONFIGS["micro"], 1)


def test_resume_names_a_damaged_or_unrecorded_seed_file(tmp_path) -> None:
    from neural.dag.runs import CONFIGS, run_causal_report

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    result = _saved_micro_seed(tmp_path)
    cases = {
        (seeds / "seed_0.json").read_text()[:200]: r"seed_0\.json is damaged \(not valid JSON: .*line \d+",
        "{}": r"seed_0\.json is damaged \(it lacks seed, settings, result\)",
        "[1, 2]": r"seed_0\.json is damaged \(it lacks seed, settings, result\)",
        json.dumps(result): r"seed_0\.json was saved by an older version that did not record the settings",
    }
    good = json.loads((seeds / "seed_0.json").read_text())
    cases[json.dumps({**good, "settings": 5})] = r"seed_0\.json is damaged \(its settings are not a record\)"
    del good["result"]["final_loss"]
    cases[json.dumps(good)] = r"seed_0\.json is damaged \(its result lacks final_loss\)"
    for content, message in cases.items():
        (seeds / "seed_0.json").write_text(content)
        with pytest.raises(InvalidArgument, match=message + r".*delete it to run that seed again, or start over"):
            run_causal_report(tmp_path, "micro", verbose=False, jobs=1, resume=True)


def test_library_entry_points_refuse_bad_arguments_before_any_work(tmp_path) -> None:
    """A bad world, config or out path: one InvalidArgument and no folder left behind; a world
    whose evaluation splits are empty is refused before seed 0 starts."""
    from bayes_agent.dag.evaluation import run_baselines
    from bayes_agent.dag.world import DagConfig
    from neural.dag.runs import CONFIGS, run_causal_report

    with pytest.raises(InvalidArgument, match="world must be a DagConfig"):
        run_baselines(tmp_path / "a", world="x", verbose=False)
    with pytest.raises(InvalidArgument, match="world must be a DagConfig"):
        replace(CONFIGS["micro"], world="x")
    with pytest.raises(InvalidArgument, match="config must be a ReportConfig"):
        run_causal_report(tmp_path / "b", 3, verbose=False)
    a_file = tmp_path / "file"
    a_file.write_text("")
    for out, message in ((a_file, "exists and is not a directory"), (a_file / "below", "cannot create")):
        with pytest.raises(InvalidArgument, match=f"out: .*{message}"):
            run_baselines(out, seeds=1, n_eval=1, n_info_gain=1, n_studies=1, verbose=False)
        with pytest.raises(InvalidArgument, match=f"out: .*{message}"):
            run_causal_report(out, "micro", verbose=False, jobs=1)
    for edges in (1, 2):
        with pytest.raises(InvalidArgument, match=f"'path' is empty for max_edges={edges}"):
            run_baselines(tmp_path / "c", world=DagConfig(max_edges=edges), seeds=1, n_eval=1, n_info_gain=1,
                          n_studies=1, verbose=False)
        with pytest.raises(InvalidArgument, match=f"'path' is empty for max_edges={edges}"):
            run_causal_report(tmp_path / "d", replace(CONFIGS["micro"], world=DagConfig(max_edges=edges)),
                              verbose=False, jobs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_baselines_ctrl_c_says_nothing_was_kept_and_how_to_run_it_again(tmp_path, monkeypatch, capsys) -> None:
    import bayes_agent.dag.evaluation as evaluation
    from bayes_agent.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluation, "run_baselines", interrupted)
    out = tmp_path / "bl"
    assert main(["causal-strategies", "--config", "baselines", "--out", str(out), "--resume"]) == 130
    err = capsys.readouterr().err.strip()
    assert "seeds" not in err and "finished seed" not in err
    assert err.endswith("interrupted: saved nothing: the baselines configuration writes its results only when "
                        f"it finishes, so it runs again from the start; resume with: bayes-agent "
                        f"causal-strategies --config baselines --out {out} --resume")  # "resume with" and --resume agree
    (out / "old.txt").write_text("")  # --resume starts baselines over in a folder that holds something too
    assert main(["causal-strategies", "--config", "baselines", "--out", str(out), "--resume"]) == 130
    assert capsys.readouterr().err.strip().endswith(f"--config baselines --out {out} --resume")


def test_resume_with_another_config_is_refused_before_any_work(tmp_path, monkeypatch, capsys) -> None:
    """A micro folder resumed with --config baselines ran baselines to the end and left its report
    beside micro's figures and seeds; now refused in one line naming both configurations."""
    import bayes_agent.dag.evaluation as evaluation
    import neural.dag.report as dag_report
    from bayes_agent.cli import main

    ran = []
    monkeypatch.setattr(evaluation, "run_baselines", lambda *a, **k: ran.append("baselines"))
    monkeypatch.setattr(dag_report, "run_causal_report", lambda *a, **k: ran.append("learner"))
    out = tmp_path / "D"
    (out / "seeds").mkdir(parents=True)
    _saved_micro_seed(out)  # an interrupted micro run: one seed saved, no metrics.json yet
    seed_file = (out / "seeds" / "seed_0.json").read_text()
    assert main(["causal-strategies", "--config", "baselines", "--out", str(out), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "was made with a learning configuration (it saved seed_0.json), not --config baselines" in err, err
    (out / "metrics.json").write_text(json.dumps({"config": "micro"}))  # the micro run finished
    for config in ("baselines", "cued-micro"):
        assert main(["causal-strategies", "--config", config, "--out", str(out), "--resume", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"was made with --config micro, not --config {config}" in err and len(err.strip().splitlines()) == 1
    assert (out / "seeds" / "seed_0.json").read_text() == seed_file and ran == []  # nothing ran or changed
    (out / "seeds" / "seed_0.json").unlink()
    (out / "metrics.json").write_text(json.dumps({"config": "baselines"}))
    assert main(["causal-strategies", "--config", "micro", "--out", str(out), "--resume", "--quiet"]) == 2
    assert "was made with --config baselines, not --config micro" in capsys.readouterr().err
    assert ran == []  # nothing ran
    assert main(["causal-strategies", "--config", "baselines", "--out", str(out), "--resume", "--quiet"]) == 0
    assert ran == ["baselines"]  # the same configuration resumes


def _shaped_result(config) -> dict:
    """A result with the shape a seed's result has (what the summary reads), made-up numbers."""
    from bayes_agent.dag.world import SPLITS
    from neural.dag.agreement import HEURISTICS, METHODS

    trials = {"fresh_positive": [0.5] * config.world.n_explore, "each_node_once": 0.5}
    return {"final_loss": 0.1, "chosen_step": 3,
            "rewards": {m: {s: 0.5 for s in SPLITS} for m in METHODS},
            "best_rate": {m: {s: 0.5 for s in SPLITS} for m in METHODS},
            "agreement": {s: {h: {"matches_experimenter": 0.5, "matches_strategy": 0.4}
                              for h in (*HEURISTICS, "all_trials")} for s in SPLITS},
            "experimenting": {"target": trials, "train": trials}, "expert_experimenting": trials,
            "curve": {"train": {"10": 0.5}, "validation": {"10": 0.5}},
            **({"explanations": {"n_confounded": 3, "n_expert": 4, "n_deconfounded": 5, "n_test": 6,
                                 "with": {"reward": 0.5}, "without": {"reward": 0.4},
                                 "experimenter_deconfounded_reward": 0.6}} if config.explanations else {})}


def test_resume_names_a_seed_file_damaged_deep_inside(tmp_path) -> None:
    """Valid JSON with every key, but a field of the wrong type or shape inside the result: one
    line naming the file, before any seed runs (it was a traceback after the other seeds ran)."""
    from neural.dag.runs import CONFIGS, _check_readable, run_causal_report, save_seed
    from bayes_agent.dag.world import HypothesisSpace

    config = CONFIGS["micro"]
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    good = _shaped_result(config)
    _check_readable(seeds / "seed_0.json", good, config, "micro", HypothesisSpace.shared(config.world))  # reads
    damaged = {
        "curve is a number": {**good, "curve": 5},
        "a reward is text": {**good, "rewards": {**good["rewards"], "bc_agent": {**good["rewards"]["bc_agent"],
                                                                                  "target": "high"}}},
        "a split is missing": {**good, "best_rate": {m: {"train": 0.5} for m in good["best_rate"]}},
    }
    for what, result in damaged.items():
        save_seed(seeds / "seed_0.json", config, 0, result)
        with pytest.raises(InvalidArgument, match=r"seed_0\.json is damaged \(its result cannot be summarised: "
                           r".*\); delete it to run that seed again"):
            run_causal_report(tmp_path, "micro", verbose=False, jobs=1, resume=True)
        assert sorted(p.name for p in seeds.iterdir()) == ["seed_0.json"], what  # nothing ran
