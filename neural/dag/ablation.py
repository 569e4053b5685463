"""Validation-only studies of the passive learner: which of its two inductive biases matter
(the ablation), which demonstrations the default trains on (the data-source rule), and whether
the identity prior creeps back in long runs, and which fix stops it. Nothing here plays
``target`` or ``path``.

Each cell is one (attention, identities, data, steps, seed, identity fix) training by
:func:`~neural.dag.runs.train_on_validation`; its kept checkpoint then plays fresh validation
episodes (the *score*). Cells run one at a time in the protocol's order
(docs/causal_strategies.md), each appended to ``cells.jsonl`` as it finishes, so an interrupted
study keeps its cells and a second call continues it.

Run: ``python -m neural.dag.ablation --out DIR [--scale default|micro] [--seeds 1000 1001 1002]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from bayes_agent.atomic import write_atomic
from bayes_agent.dag.evaluation import paired_difference, seed_interval
from bayes_agent.dag.world import HypothesisSpace, run_episodes, sample_tasks
from bayes_agent.errors import InvalidArgument

from .passive_learner import ATTENTIONS, IDENTITY_INITS
from .runs import CONFIGS, DATA_SOURCES, ReportConfig

__all__ = ["Cell", "FIXES", "SCALES", "Scale", "creeps_back", "data_source_choice", "fix_adoption", "fix_choice",
           "plan", "run_study", "summarise"]

#: the data-source rule's tie margin: a mean score difference this small keeps the experimenter
TIE_MARGIN = 0.02
#: the fixes for the identity prior creeping back, softer first (the protocol's tie order):
#: a fix's changes to the learner's ``BCConfig``; "none" is the learner as it is
#: ("none" is spelled out, so a recorded cell means the same learner whatever the default becomes)
FIXES: dict[str, dict] = {"none": {"identity_decay": 0.01, "train_identities": True},
                          "decay": {"identity_decay": 10.0, "train_identities": True},
                          "frozen": {"identity_decay": 0.01, "train_identities": False}}
#: creep-back thresholds (validation fall, train hold, C-share fall), fixed before the long runs
CREEP_VALIDATION, CREEP_TRAIN, CREEP_C = 0.05, 0.03, 0.10


@dataclass(frozen=True)
class Scale:
    """How big a study is: the base report config, the oracle's data size, the long budgets and
    how many fresh validation episodes score a kept checkpoint."""

    base: ReportConfig
    n_oracle: int
    long_steps: tuple[int, ...]
    n_score: int


SCALES: dict[str, Scale] = {
    "default": Scale(CONFIGS["default"], 100_000, (1500, 3000), 200),
    "micro": Scale(replace(CONFIGS["micro"], n_expert=40, n_validation=4, checkpoint_every=5,
                           bc=replace(CONFIGS["micro"].bc, steps=10, warmup=2)), 100, (15, 20), 8),
}


@dataclass(frozen=True)
class Cell:
    """One training of the study: the learner's two inductive biases, its data and budget, a seed."""

    attention: str
    identity_init: str
    data: str
    n_expert: int
    steps: int
    seed: int
    fix: str = "none"

    def __post_init__(self) -> None:
        if (self.attention not in ATTENTIONS or self.identity_init not in IDENTITY_INITS
                or self.data not in DATA_SOURCES or self.fix not in FIXES):
            raise InvalidArgument(f"not a study cell: {self}")

    @property
    def arm(self) -> tuple:
        """The cell without its seed: what the seeds of an arm share."""
        return (self.attention, self.identity_init, self.data, self.n_expert, self.steps, self.fix)

    def config(self, base: ReportConfig) -> ReportConfig:
        """``base`` with this cell's attention, identities, data and steps (the cosine decay
        stretched to the steps; warm-up as in ``base``)."""
        bc = replace(base.bc, attention=self.attention, identity_init=self.identity_init, steps=self.steps,
                     **FIXES[self.fix])
        return replace(base, data=self.data, n_expert=self.n_expert, bc=bc)

    @classmethod
    def from_record(cls, record: dict) -> "Cell":
        """The cell of a ``cells.jsonl`` record (records written before the fixes have none)."""
        return cls(**{f.name: record.get(f.name, f.default) for f in fields(cls)})


def _learner(scale: Scale, steps: int, seed: int, fix: str = "none") -> Cell:
    """The default learner (relation attention, zero identities) on the experimenter's data:
    the cell of the long runs, the fixes and the adoption check."""
    return Cell("relation", "zero", "experimenter", scale.base.n_expert, steps, seed, fix)


def plan(scale: Scale, seeds: Sequence[int], records: Sequence[dict] = ()) -> list[Cell]:
    """Every cell in the protocol's order: (1) the attention x identity cells on the
    experimenter's data (seed-major); (2) the relation/zero cell on the oracle's data; (3) the
    long runs on the first seed; (4) the other oracle cells; (5) the long runs on the other seeds;
    (6) each fix at the longest budget; and, once ``records`` hold (6) and a fix was chosen,
    (7) that fix at the default's budget (the adoption check)."""
    base = scale.base
    n_exp, steps = base.n_expert, base.bc.steps
    arms = [(a, i) for a in ("standard", "relation") for i in ("random", "zero")]

    def oracle(a: str, i: str, s: int) -> Cell:
        return Cell(a, i, "oracle", scale.n_oracle, steps, s)

    def long(s: int) -> list[Cell]:
        return [_learner(scale, n, s) for n in scale.long_steps]

    cells = [Cell(a, i, "experimenter", n_exp, steps, s) for s in seeds for a, i in arms]
    cells += [oracle("relation", "zero", s) for s in seeds]
    cells += long(seeds[0])
    cells += [oracle(a, i, s) for s in seeds for a, i in arms if (a, i) != ("relation", "zero")]
    cells += [c for s in seeds[1:] for c in long(s)]
    cells += [_learner(scale, scale.long_steps[-1], s, fix) for fix in FIXES if fix != "none" for s in seeds]
    chosen = fix_choice(records, scale, seeds)["fix"] if records else None
    if chosen not in (None, "none"):
        cells += [_learner(scale, steps, s, chosen) for s in seeds]
    return cells


def run_cell(cell: Cell, scale: Scale, space: HypothesisSpace, expert: tuple | None = None,
             verbose: bool = False) -> dict:
    """Train one cell (checkpoint kept on validation), then score the kept checkpoint on
    ``scale.n_score`` fresh validation episodes: mean reward and share of choices on C."""
    import torch

    from .passive_learner import BCPolicy
    from .runs import c_share, train_on_validation

    torch.set_num_threads(1)
    cpu, wall = time.process_time(), time.time()
    learner = train_on_validation(cell.config(scale.base), cell.seed, verbose, expert=expert)
    tasks = sample_tasks(space, "validation", scale.n_score, np.random.default_rng(32_000 + cell.seed))
    batch = run_episodes(BCPolicy(learner.model, 52_000 + cell.seed), tasks, space,
                         np.random.default_rng(42_000 + cell.seed))
    return {**asdict(cell), "score": float(batch.rewards().mean()), "c_share": c_share(batch),
            "chosen_step": learner.chosen_step, "validation": learner.selection.validation_reward,
            "curve": learner.curve, "cpu_s": round(time.process_time() - cpu, 1),
            "wall_s": round(time.time() - wall, 1)}


def creeps_back(curve: dict[str, dict[str, float]]) -> dict:
    """The protocol's test of the identity prior returning, on one run's checkpoint curve: after
    its peak, validation ends more than 0.05 below it while train ends within 0.03 of its own
    peak, or the C share ends more than 0.10 below its peak."""
    def series(name: str) -> np.ndarray:
        return np.array([curve[name][k] for k in sorted(curve[name], key=int)])

    val, train, pick = series("validation"), series("train"), series("c_pick")
    fall, c_fall = float(val.max() - val[-1]), float(pick.max() - pick[-1])
    holds = bool(train.max() - train[-1] <= CREEP_TRAIN)
    return {"validation_fall": fall, "train_holds": holds, "c_share_fall": c_fall,
            "creeps_back": bool((fall > CREEP_VALIDATION and holds) or c_fall > CREEP_C)}


def data_source_choice(arms: dict[tuple, dict], scale: Scale, seeds: Sequence[int]) -> dict:
    """The protocol's rule: relation/zero on the experimenter's data vs on the oracle's; the
    higher mean score wins unless within ``TIE_MARGIN``, and a tie (or a missing seed) keeps the
    experimenter's data."""
    base = scale.base
    exp = arms.get(_learner(scale, base.bc.steps, 0).arm)
    ora = arms.get(("relation", "zero", "oracle", scale.n_oracle, base.bc.steps, "none"))
    keep = {"data": "experimenter", "n_expert": base.n_expert}
    if not exp or not ora or sorted(exp["seeds"]) != sorted(seeds) or sorted(ora["seeds"]) != sorted(seeds):
        return {**keep, "why": "a candidate lacks a seed: no choice made, the default stays"}
    diff = paired_difference(ora["score"]["per_seed"], exp["score"]["per_seed"])
    if diff["mean"] > TIE_MARGIN:
        return {"data": "oracle", "n_expert": scale.n_oracle, "oracle_minus_experimenter": diff,
                "why": f"oracle higher by {diff['mean']:+.3f} > {TIE_MARGIN}"}
    return {**keep, "oracle_minus_experimenter": diff,
            "why": f"oracle minus experimenter {diff['mean']:+.3f} <= {TIE_MARGIN}: the experimenter's data stays"}


def fix_choice(records: Sequence[dict], scale: Scale, seeds: Sequence[int]) -> dict:
    """The protocol's rule for the creep-back fixes, from the longest-budget cells: a fix works
    if the creep-back test is negative on every seed; of the fixes that work the higher mean
    score is chosen, the softer (earlier in :data:`FIXES`) within ``TIE_MARGIN``. ``fix`` is
    None while a fix lacks a seed, "none" when no fix works."""
    steps = scale.long_steps[-1]
    per_fix: dict[str, dict] = {}
    for fix in (f for f in FIXES if f != "none"):
        rs = sorted((r for r in records if Cell.from_record(r) == _learner(scale, steps, r["seed"], fix)
                     and r["seed"] in seeds), key=lambda r: r["seed"])
        if sorted(r["seed"] for r in rs) != sorted(seeds):
            return {"fix": None, "why": f"the {fix} fix lacks a seed at {steps} steps: no choice yet"}
        creep = [creeps_back(r["curve"])["creeps_back"] for r in rs]
        per_fix[fix] = {"score": seed_interval([r["score"] for r in rs]), "creeps_back": creep,
                        "works": not any(creep)}
    working = [f for f in per_fix if per_fix[f]["works"]]
    if not working:
        return {"fix": "none", "fixes": per_fix, "why": "no fix keeps the prior from creeping back on every seed"}
    best = max(per_fix[f]["score"]["mean"] for f in working)
    chosen = next(f for f in working if per_fix[f]["score"]["mean"] >= best - TIE_MARGIN)
    return {"fix": chosen, "fixes": per_fix,
            "why": f"{chosen} works on every seed and scores {per_fix[chosen]['score']['mean']:.3f} "
                   f"(best working fix {best:.3f}, ties of {TIE_MARGIN} to the softer fix)"}


def fix_adoption(records: Sequence[dict], scale: Scale, seeds: Sequence[int], choice: dict | None = None) -> dict:
    """The protocol's adoption rule: the chosen fix (``choice``, :func:`fix_choice` of the same
    records when not given) joins the default only if, at the default's budget, its mean score is
    no more than ``TIE_MARGIN`` below the default's (paired by seed)."""
    chosen = (choice or fix_choice(records, scale, seeds)).get("fix")
    if chosen in (None, "none"):
        return {"adopt": False, "why": "no fix chosen"}
    base = scale.base

    def scores(fix: str) -> list[float] | None:
        by_seed = {r["seed"]: r["score"] for r in records
                   if Cell.from_record(r) == _learner(scale, base.bc.steps, r["seed"], fix) and "score" in r}
        return [by_seed[s] for s in seeds] if all(s in by_seed for s in seeds) else None

    fixed, today = scores(chosen), scores("none")
    if fixed is None or today is None:
        return {"fix": chosen, "adopt": False, "why": "the adoption cells lack a seed: the default stays for now"}
    diff = paired_difference(fixed, today)
    adopt = diff["mean"] >= -TIE_MARGIN
    return {"fix": chosen, "adopt": adopt, "fix_minus_default": diff,
            "why": f"{chosen} minus the default at {base.bc.steps} steps {diff['mean']:+.3f} "
                   + (f">= -{TIE_MARGIN}: adopted" if adopt else f"< -{TIE_MARGIN}: the default stays")}


def summarise(records: list[dict], scale: Scale, seeds: Sequence[int]) -> dict:
    """Per arm (a cell without its seed): score, C share, the kept checkpoint's reward and step,
    over seeds; the data-source choice; the creep-back test of every run longer than the default."""
    by_arm: dict[tuple, list[dict]] = {}
    for r in sorted(records, key=lambda r: r["seed"]):
        by_arm.setdefault(Cell.from_record(r).arm, []).append(r)
    arms = {}
    for arm, rs in by_arm.items():
        rs = [r for r in rs if "score" in r]  # a curve-only record (an imported long run) has none
        if not rs:
            continue
        arms[arm] = {"seeds": [r["seed"] for r in rs],
                     "score": seed_interval([r["score"] for r in rs]),
                     "c_share": seed_interval([r["c_share"] for r in rs]),
                     "kept_reward": seed_interval([r["validation"] for r in rs]),
                     "chosen_steps": [r["chosen_step"] for r in rs],
                     "cpu_s": seed_interval([r["cpu_s"] for r in rs])}
    long = [{"steps": r["steps"], "seed": r["seed"], "fix": Cell.from_record(r).fix, **creeps_back(r["curve"])}
            for r in records if r["steps"] > scale.base.bc.steps]
    names = ("attention", "identity_init", "data", "n_expert", "steps", "fix")
    order = {f: i for i, f in enumerate(FIXES)}
    choice = fix_choice(records, scale, seeds)
    return {"arms": [{**dict(zip(names, arm)), **v} for arm, v in
                     sorted(arms.items(), key=lambda kv: (kv[0][4], order[kv[0][5]], kv[0][2], kv[0][0], kv[0][1]))],
            "data_source": data_source_choice(arms, scale, seeds), "long_runs": long,
            "fix": choice, "adoption": fix_adoption(records, scale, seeds, choice),
            "curves": [{**{k: r[k] for k in ("attention", "identity_init", "data", "steps", "seed", "curve")},
                        "fix": Cell.from_record(r).fix}
                       for r in records if r["attention"] == "relation" and r["identity_init"] == "zero"
                       and r["data"] == "experimenter"],
            "cells": len(records), "planned": len(plan(scale, seeds, records)), "seeds": list(seeds)}


def _fmt(d: dict) -> str:
    return f"{d['mean']:.3f}" + ("" if d["ci95"] is None else f" ± {d['ci95']:.3f}")


def markdown(summary: dict) -> str:
    """The study's tables: one row per arm, the data-source choice, the long runs' creep test."""
    lines = [f"{summary['cells']} of {summary['planned']} planned cells finished (seeds {summary['seeds']}).", "",
             "| attention | identities | identity fix | data | steps | seeds | validation score (fresh episodes) "
             "| share of choices on C | kept checkpoint's reward | kept steps |", "|---|---|---|---|---|---|---|---|---|---|"]
    for a in summary["arms"]:
        lines.append(f"| {a['attention']} | {a['identity_init']} | {a['fix']} | {a['data']} {a['n_expert']:,} | "
                     f"{a['steps']} | "
                     f"{len(a['seeds'])} | {_fmt(a['score'])} | {_fmt(a['c_share'])} | {_fmt(a['kept_reward'])} | "
                     f"{', '.join(map(str, a['chosen_steps']))} |")
    d = summary["data_source"]
    lines += ["", f"Data-source rule: **{d['data']} {d['n_expert']:,}** ({d['why']})."]
    if summary["long_runs"]:
        lines += ["", "| long run | identity fix | seed | validation: peak minus last | train holds "
                  "| C share: peak minus last | creeps back |", "|---|---|---|---|---|---|---|"]
        for r in summary["long_runs"]:
            lines.append(f"| {r['steps']} steps | {r['fix']} | {r['seed']} | {r['validation_fall']:.3f} | "
                         f"{r['train_holds']} | {r['c_share_fall']:.3f} | {r['creeps_back']} |")
    f, adopt = summary["fix"], summary["adoption"]
    lines += ["", f"Creep-back fix rule: **{f['fix'] or 'not yet decided'}** ({f['why']}).",
              f"Adoption rule: **{'adopted' if adopt['adopt'] else 'not adopted'}** ({adopt['why']})."]
    return "\n".join(lines) + "\n"


def _records(path: Path) -> list[dict]:
    """The finished cells of ``cells.jsonl``; a line that is not a cell's record is refused,
    naming the file and the line (nothing is run or rewritten)."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            Cell.from_record(record)
            if not {"seed", "steps", "curve"} <= record.keys():
                raise ValueError("fields missing")
        except (ValueError, TypeError, AttributeError, InvalidArgument) as exc:
            raise InvalidArgument(f"{path}, line {number}: not a finished cell's record ({exc}); "
                                  "move the file away or remove that line") from None
        records.append(record)
    return records


def _write(out: Path, records: list[dict], scale: Scale, seeds: Sequence[int]) -> dict:
    from .figures import plot_ablation

    summary = summarise(records, scale, seeds)
    write_atomic(out / "ablation.json", json.dumps(summary, indent=1))
    write_atomic(out / "ablation.md", markdown(summary))
    plot_ablation(summary, out / "ablation.png")
    return summary


def run_study(out: str | Path, scale: str = "default", seeds: Sequence[int] = (1000, 1001, 1002),
              verbose: bool = True, max_cells: int | None = None) -> dict:
    """Run the cells of :func:`plan` not yet in ``out/cells.jsonl`` (at most ``max_cells`` of
    them), one at a time, appending each as it finishes; then write ``ablation.json``,
    ``ablation.md`` and ``ablation.png`` from every finished cell, and return the summary."""
    if scale not in SCALES:
        raise InvalidArgument(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds) or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise InvalidArgument(f"seeds must be distinct non-negative ints, got {seeds!r}")
    study, out = SCALES[scale], Path(out)
    say = print if verbose else (lambda *a, **k: None)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"scale": scale, "seeds": seeds}
    meta = out / "study.json"
    try:
        held = json.loads(meta.read_text()) if meta.exists() else settings
    except ValueError:
        raise InvalidArgument(f"{meta} is not a study's settings file; use another --out") from None
    if held != settings:
        raise InvalidArgument(f"{out} holds a study with other settings ({meta.read_text().strip()}); use another --out")
    write_atomic(meta, json.dumps(settings))
    sink = out / "cells.jsonl"
    records = _records(sink)
    done = {Cell.from_record(r) for r in records}
    space = HypothesisSpace.shared(study.base.world)
    data: dict[tuple, tuple] = {}  # one seed's demonstrations, shared by the cells that use them
    start, ran = time.time(), 0
    while max_cells is None or ran < max_cells:
        from .runs import expert_data

        todo = [c for c in plan(study, seeds, records) if c not in done]  # block 7 appears after 6
        if not todo:
            break
        cell, tag = todo[0], f"[{ran + 1}/{ran + len(todo)}]"
        key = (cell.data, cell.n_expert, cell.seed)
        if key not in data:
            data[key] = expert_data(cell.config(study.base), space, cell.seed)
        say(f"{tag} {cell} ({time.time() - start:.0f}s)", flush=True)
        record = run_cell(cell, study, space, data[key], verbose)
        with sink.open("a") as f:
            f.write(json.dumps(record) + "\n")
        records.append(record)
        done.add(cell)
        ran += 1
        say(f"{tag} score {record['score']:.3f}, C share {record['c_share']:.2f}, kept step "
            f"{record['chosen_step']}, {record['cpu_s']:.0f}s CPU ({time.time() - start:.0f}s)", flush=True)
    summary = _write(out, records, study, seeds)
    say(f"wrote {out}/ablation.md, ablation.json and ablation.png ({len(records)} cells)")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m neural.dag.ablation", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="study directory (cells.jsonl, ablation.json/.md/.png)")
    parser.add_argument("--scale", default="default", help=f"one of {sorted(SCALES)}")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001, 1002])
    parser.add_argument("--max-cells", type=int, default=None, help="run at most this many new cells")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    from bayes_agent.commands import prepare_out_dir  # the commands' --out check

    try:
        prepare_out_dir(args.out, resume=True, create=False)  # the study continues what --out holds
        run_study(args.out, args.scale, args.seeds, not args.quiet, args.max_cells)
    except (InvalidArgument, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: the finished cells are in {Path(args.out) / 'cells.jsonl'}; "
              "the same command continues the study", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
