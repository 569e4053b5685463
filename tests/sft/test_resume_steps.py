"""A resume never counts the steps back: a --max-steps below what a checkpoint has trained is refused
(the weights would stay the longer run's under the shorter count, and a later resume would train
steps twice); a finished seed with fewer steps than asked trains on, as a single seed does."""

import json

import pytest

from bayes_agent.cli import main
from bayes_agent.errors import BayesAgentError
from neural.sft.train import TrainConfig, train_pair

CFG = TrainConfig(epochs=2, lr=3e-3, seed=0)
MICRO = ["--preset", "micro", "--no-progress"]


@pytest.mark.parametrize("sequential", [False, True])
def test_resuming_with_fewer_steps_than_trained_is_refused(micro_setup, tmp_path, sequential):
    model, exs, _, _ = micro_setup
    train_pair(model, exs, CFG, checkpoint_dir=tmp_path, stop_after=5, sequential=sequential, progress=False)
    before = (tmp_path / "state.json").read_text()
    with pytest.raises(BayesAgentError, match="has trained 5 steps, more than this run's 3"):
        train_pair(model, exs, CFG, checkpoint_dir=tmp_path, resume=tmp_path, stop_after=3,
                   sequential=sequential, progress=False)
    assert (tmp_path / "state.json").read_text() == before  # the checkpoint still tells the truth
    # as many steps as trained (or more) is still a resume
    r = train_pair(model, exs, CFG, checkpoint_dir=tmp_path, resume=tmp_path, stop_after=5,
                   sequential=sequential, progress=False)
    assert r.steps_done == 5 and all(len(v) == 5 for v in r.losses.values())


def test_reproduce_refuses_a_smaller_max_steps_before_any_work(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["reproduce", "--out", str(out), *MICRO, "--max-steps", "6"]) == 0
    state = (out / "checkpoint" / "state.json").read_text()
    files = sorted(p.name for p in out.rglob("*"))
    capsys.readouterr()
    assert main(["reproduce", "--out", str(out), *MICRO, "--max-steps", "3", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "has trained 6 steps, more than --max-steps 3" in err and "--overwrite" in err, err
    assert "Traceback" not in err and "model:" not in err  # refused before the model was built
    assert (out / "checkpoint" / "state.json").read_text() == state
    assert sorted(p.name for p in out.rglob("*")) == files


def test_a_finished_seed_with_fewer_steps_trains_on_and_seeds_never_mix_lengths(tmp_path, capsys):
    out = tmp_path / "ms"
    seeds = ["--seeds", "0", "1", "--epochs", "1", "--n-dialogues", "8"]
    assert main(["reproduce", "--out", str(out), *MICRO, *seeds, "--max-steps", "2"]) == 0
    assert main(["reproduce", "--out", str(out), *MICRO, *seeds, "--max-steps", "4", "--resume"]) == 0
    per_seed = json.loads((out / "metrics.json").read_text())["per_seed"]
    assert [m["steps"] for m in per_seed] == [4, 4]
    for s in (0, 1):
        state = json.loads((out / f"seed_{s}" / "checkpoint" / "state.json").read_text())
        assert state["step"] == 4 and all(len(v) == 4 for v in state["losses"].values())
    assert main(["reproduce", "--out", str(out), *MICRO, *seeds, "--max-steps", "2", "--resume"]) == 2
    assert "has trained 4 steps, more than --max-steps 2" in capsys.readouterr().err


def test_an_aggregate_over_seeds_of_different_lengths_is_refused(tmp_path, capsys):
    """--ablate-order seeds cannot resume, so a kept seed stays at its length: a new seed trained
    longer beside it would be averaged into one CI without a word; that is refused instead."""
    out = tmp_path / "ms"
    common = ["--epochs", "1", "--n-dialogues", "8", "--ablate-order", "--arms", "obs", "do"]
    assert main(["reproduce", "--out", str(out), *MICRO, *common, "--seeds", "0", "1", "--max-steps", "2"]) == 0
    capsys.readouterr()
    code = main(["reproduce", "--out", str(out), *MICRO, *common, "--seeds", "0", "1", "2", "--max-steps", "4",
                 "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and "different numbers of steps (seed 0: 2, seed 1: 2, seed 2: 4)" in err, err


@pytest.mark.parametrize("first, then", [([], ["--sequential-arms"]), (["--sequential-arms"], [])])
def test_switching_sequential_arms_on_resume_is_refused_early_naming_the_flag(tmp_path, capsys, first, then):
    out = tmp_path / "r"
    assert main(["reproduce", "--out", str(out), *MICRO, "--max-steps", "2", "--arms", "obs", "do", *first]) == 0
    capsys.readouterr()
    assert main(["reproduce", "--out", str(out), *MICRO, "--max-steps", "2", "--arms", "obs", "do", "--resume",
                 *then]) == 2
    err = capsys.readouterr().err
    was, now = ("on", "off") if first else ("off", "on")
    assert f"was trained with --sequential-arms {was}, not {now}" in err and "model:" not in err, err


def test_an_interrupted_multi_seed_run_names_the_checkpoints_it_keeps(tmp_path):
    """It said "saved 0 of 2 seeds" though seed_0/checkpoint held 150 steps to resume from."""
    from neural.commands.reproduce import _saved_seeds

    out = tmp_path / "ms"
    assert _saved_seeds(out, [0, 1]) == f"0 of 2 seeds in {out}"
    (out / "seed_0" / "checkpoint").mkdir(parents=True)
    (out / "seed_0" / "checkpoint" / "state.json").write_text("{}")
    assert _saved_seeds(out, [0, 1]) == f"0 of 2 seeds in {out} and the checkpoint {out / 'seed_0' / 'checkpoint'}"
    (out / "seed_0" / "metrics.json").write_text("{}")  # finished: counted, its checkpoint not named again
    (out / "seed_1" / "checkpoint").mkdir(parents=True)
    (out / "seed_1" / "checkpoint" / "state.json").write_text("{}")
    assert _saved_seeds(out, [0, 1]) == f"1 of 2 seeds in {out} and the checkpoint {out / 'seed_1' / 'checkpoint'}"
