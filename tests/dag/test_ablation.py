"""The validation-only study of the passive learner: its order of cells, its data-source rule,
its creep-back test, and a micro run that never plays a held-out split and continues where it
stopped."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bayes_agent.errors import InvalidArgument  # noqa: E402
from neural.dag.ablation import (  # noqa: E402
    SCALES, Cell, creeps_back, data_source_choice, fix_adoption, fix_choice, main, plan, run_study, summarise)


def test_plan_runs_the_protocols_cells_in_its_order() -> None:
    scale = SCALES["default"]
    cells = plan(scale, [1000, 1001, 1002])
    assert len(cells) == 8 * 3 + 2 * 3 + 2 * 3 and len(set(cells)) == len(cells)
    first = cells[:12]  # (1) attention x identities on the experimenter's data, seed-major
    assert [c.seed for c in first] == [1000] * 4 + [1001] * 4 + [1002] * 4
    assert {(c.attention, c.identity_init) for c in first} == {
        (a, i) for a in ("standard", "relation") for i in ("random", "zero")}
    assert all(c.data == "experimenter" and c.n_expert == 4000 and c.steps == 700 for c in first)
    # (2) the data-source candidate, (3) the first seed's long runs
    assert cells[12:15] == [Cell("relation", "zero", "oracle", 100_000, 700, s) for s in (1000, 1001, 1002)]
    assert cells[15:17] == [Cell("relation", "zero", "experimenter", 4000, n, 1000) for n in (1500, 3000)]
    assert all(c.data == "oracle" for c in cells[17:26]) and {c.steps for c in cells[26:30]} == {1500, 3000}
    assert all(c.fix == "none" for c in cells[:30])
    # (6) each fix at 3,000 steps, three seeds; (7) only once a fix has been chosen
    assert cells[30:] == [Cell("relation", "zero", "experimenter", 4000, 3000, s, fix)
                          for fix in ("decay", "frozen") for s in (1000, 1001, 1002)]
    # a record written before the fixes existed reads as the learner without one
    old = {"attention": "relation", "identity_init": "zero", "data": "oracle", "n_expert": 100_000,
           "steps": 700, "seed": 1000}
    assert Cell.from_record(old) == Cell("relation", "zero", "oracle", 100_000, 700, 1000, "none")
    frozen = Cell("relation", "zero", "experimenter", 4000, 3000, 7, "frozen").config(scale.base)
    assert frozen.bc.train_identities is False and frozen.bc.identity_decay == 0.01
    assert Cell("relation", "zero", "experimenter", 4000, 3000, 7, "decay").config(scale.base).bc.identity_decay == 10.0
    with pytest.raises(InvalidArgument, match="not a study cell"):
        Cell("relation", "zero", "experimenter", 4000, 3000, 7, "dropout")
    config = Cell("standard", "random", "oracle", 100_000, 1500, 7).config(scale.base)
    assert (config.bc.attention, config.bc.identity_init, config.data, config.n_expert, config.bc.steps) == (
        "standard", "random", "oracle", 100_000, 1500)


def _arm(scores: list[float], seeds=(1, 2, 3)) -> dict:
    return {"seeds": list(seeds), "score": {"mean": float(np.mean(scores)), "per_seed": scores}}


@pytest.mark.parametrize("oracle, chosen", [([0.93, 0.95, 0.94], "oracle"),  # +0.04: oracle earns it
                                            ([0.905, 0.915, 0.925], "experimenter"),  # +0.015: a tie
                                            ([0.80, 0.85, 0.90], "experimenter")])  # lower
def test_data_source_rule_changes_the_default_only_past_the_tie_margin(oracle, chosen) -> None:
    scale = SCALES["default"]
    arms = {("relation", "zero", "experimenter", 4000, 700, "none"): _arm([0.89, 0.90, 0.91]),
            ("relation", "zero", "oracle", 100_000, 700, "none"): _arm(oracle)}
    assert data_source_choice(arms, scale, [1, 2, 3])["data"] == chosen
    # a candidate without every seed: no choice, the default stays
    arms[("relation", "zero", "oracle", 100_000, 700, "none")] = _arm([0.99, 0.99], seeds=(1, 2))
    choice = data_source_choice(arms, scale, [1, 2, 3])
    assert choice["data"] == "experimenter" and "lacks a seed" in choice["why"]


def _fix_records(fix: str, scores, creeping: bool, steps: int = 3000, seeds=(1, 2, 3)) -> list[dict]:
    pick = [0.4, 0.80, 0.60] if creeping else [0.4, 0.80, 0.79]
    cells = [Cell("relation", "zero", "experimenter", 4000, steps, s, fix) for s in seeds]
    from dataclasses import asdict
    return [{**asdict(c), "score": x, "curve": _curve([0.5, 0.85, 0.84], [0.5, 0.9, 0.9], pick)}
            for c, x in zip(cells, scores)]


@pytest.mark.parametrize("decay, frozen, chosen", [
    ((0.90, 0.91, 0.92, False), (0.93, 0.92, 0.93, False), "decay"),  # within 0.02: the softer fix
    ((0.80, 0.81, 0.82, False), (0.93, 0.92, 0.93, False), "frozen"),  # clearly better
    ((0.95, 0.95, 0.95, True), (0.80, 0.80, 0.80, False), "frozen"),  # decay creeps: only frozen works
    ((0.95, 0.95, 0.95, True), (0.80, 0.80, 0.80, True), "none")])  # neither works
def test_fix_rule_takes_a_working_fix_the_softer_within_the_tie_margin(decay, frozen, chosen) -> None:
    scale = SCALES["default"]
    records = _fix_records("decay", decay[:3], decay[3]) + _fix_records("frozen", frozen[:3], frozen[3])
    assert fix_choice(records, scale, [1, 2, 3])["fix"] == chosen
    assert fix_choice(records[:-1], scale, [1, 2, 3])["fix"] is None  # a missing seed: no choice yet
    block7 = plan(scale, [1, 2, 3], records)[36:]
    assert block7 == ([] if chosen == "none" else
                      [Cell("relation", "zero", "experimenter", 4000, 700, s, chosen) for s in (1, 2, 3)])


@pytest.mark.parametrize("fixed, adopt", [([0.89, 0.89, 0.88], True),  # -0.01: within the margin
                                          ([0.86, 0.87, 0.86], False)])  # -0.03: the default stays
def test_adoption_needs_the_fix_within_the_margin_at_the_defaults_budget(fixed, adopt) -> None:
    scale = SCALES["default"]
    records = _fix_records("decay", (0.9, 0.9, 0.9), False) + _fix_records("frozen", (0.8, 0.8, 0.8), False)
    today = _fix_records("none", (0.90, 0.90, 0.89), False, steps=700)
    assert fix_adoption(records + today, scale, [1, 2, 3])["adopt"] is False  # no adoption cells yet
    records += today + _fix_records("decay", fixed, False, steps=700)
    assert fix_adoption(records, scale, [1, 2, 3])["adopt"] is adopt


def _curve(validation, train, pick) -> dict:
    steps = [str(100 * (i + 1)) for i in range(len(validation))]
    return {name: dict(zip(steps, values)) for name, values in
            (("validation", validation), ("train", train), ("c_pick", pick))}


def test_creep_back_needs_validation_to_fall_while_train_holds_or_c_to_fall() -> None:
    flat = creeps_back(_curve([0.5, 0.85, 0.84], [0.5, 0.90, 0.90], [0.4, 0.80, 0.78]))
    assert not flat["creeps_back"] and flat["validation_fall"] == pytest.approx(0.01)
    prior = creeps_back(_curve([0.5, 0.85, 0.75], [0.5, 0.90, 0.89], [0.4, 0.80, 0.75]))
    assert prior["creeps_back"] and prior["train_holds"]
    # validation falls with train: over-fitting or noise, not the prior returning
    both = creeps_back(_curve([0.5, 0.85, 0.75], [0.5, 0.90, 0.80], [0.4, 0.80, 0.75]))
    assert not both["creeps_back"] and not both["train_holds"]
    # C abandoned although reward holds
    assert creeps_back(_curve([0.5, 0.85, 0.84], [0.5, 0.90, 0.90], [0.4, 0.80, 0.65]))["creeps_back"]


def test_micro_study_scores_on_validation_only_writes_its_tables_and_continues(tmp_path, monkeypatch) -> None:
    import neural.dag.ablation as ablation
    import neural.dag.runs as runs

    asked = []

    def spy(module):
        real = module.sample_tasks

        def recording(space, split, n, rng):
            asked.append(split)
            return real(space, split, n, rng)
        monkeypatch.setattr(module, "sample_tasks", recording)

    spy(ablation)
    spy(runs)
    out = tmp_path / "study"
    run_study(out, "micro", seeds=[0], verbose=False, max_cells=2)
    assert set(asked) == {"train", "validation"}  # never target or path
    records = [json.loads(line) for line in (out / "cells.jsonl").read_text().splitlines()]
    assert [Cell.from_record(r) for r in records] == plan(SCALES["micro"], [0])[:2]
    assert all(-3 < r["score"] < 3 and 0 <= r["c_share"] <= 1 for r in records)
    # the second call continues: the finished cells are kept, the next one is run
    summary = run_study(out, "micro", seeds=[0], verbose=False, max_cells=1)
    lines = (out / "cells.jsonl").read_text().splitlines()
    assert len(lines) == 3 and [json.loads(x) for x in lines[:2]] == records
    assert summary["cells"] == 3 and len(summary["arms"]) == 3
    assert summary == summarise([json.loads(x) for x in lines], SCALES["micro"], [0])
    assert "| standard | random | none | experimenter 40 |" in (out / "ablation.md").read_text()
    assert (out / "ablation.png").stat().st_size > 10_000
    assert json.loads((out / "ablation.json").read_text())["cells"] == 3
    with pytest.raises(InvalidArgument, match="other settings"):
        run_study(out, "micro", seeds=[0, 1], verbose=False, max_cells=0)


def test_study_command_refuses_bad_input_in_one_line(tmp_path, capsys) -> None:
    assert main(["--out", str(tmp_path / "x"), "--scale", "huge"]) == 2
    assert main(["--out", str(tmp_path / "y"), "--seeds", "3", "3"]) == 2
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["--out", str(blocker / "sub"), "--scale", "micro", "--max-cells", "0"]) == 2
    assert main(["--out", str(blocker), "--scale", "micro", "--max-cells", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("error: ") for line in err)
    assert "scale" in err[0] and "distinct" in err[1]
    assert err[3] == f"error: --out: {str(blocker)!r} exists and is not a directory"
    assert not (tmp_path / "x").exists()  # a refused study leaves nothing behind


def test_a_damaged_study_file_is_refused_in_one_line_and_left_as_it_was(tmp_path, capsys) -> None:
    """A cells.jsonl cut off mid-line (or holding something else), or a study.json that is not
    JSON: one line naming the file (and line), exit 2, the file untouched, nothing run."""
    good = json.dumps({"attention": "standard", "identity_init": "random", "data": "experimenter",
                       "n_expert": 40, "steps": 10, "seed": 0, "curve": {}})
    for name, text, where in (("cells.jsonl", good + '\n{"attention": "stand', "line 2"),
                              ("cells.jsonl", good + '\n["a list"]\n', "line 2"),
                              ("study.json", "{not json", "study.json")):
        out = tmp_path / f"study_{len(list(tmp_path.iterdir()))}"
        out.mkdir()
        (out / name).write_text(text)
        assert main(["--out", str(out), "--scale", "micro", "--seeds", "0", "--max-cells", "1"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and where in err[0], err
        assert (out / name).read_text() == text
        assert not (out / "ablation.md").exists()
