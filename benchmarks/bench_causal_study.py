"""Take three's choices and checks on the validation split only (docs/causal_strategies.md).

Three studies, each training the passive learner exactly as the report does
(``neural.dag.runs.train_on_validation``) and never playing ``target`` or ``path``:

* ``data``: the demonstrations' source and size (experimenter 4k, oracle 4k, oracle 100k);
* ``long``: 1,500 and 3,000 steps, with the validation curve and the C-pick rate;
* ``ablation``: {standard, relation attention} x {random, zero identities} x {experimenter,
  oracle data}.

Each cell is one (settings, seed) training; cells run in worker processes on one torch thread
each, and every finished cell is appended to ``--out`` as one JSON line at once (an interrupted
run keeps what finished).

Run:  python benchmarks/bench_causal_study.py data --out runs/data.jsonl [--seeds 1000] [--jobs 2]

The protocol's ablation and long runs (several seeds, scored on fresh validation episodes, with
tables and a figure) are ``python -m neural.dag.ablation --out DIR`` (``neural.dag.ablation``);
this script's ``long`` and ``ablation`` train the same cells without that scoring.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace


def _cells(study: str, seeds: list[int], steps: int | None) -> list[dict]:
    if study == "data":
        cells = [dict(data="experimenter", n_expert=4000), dict(data="oracle", n_expert=4000),
                 dict(data="oracle", n_expert=100_000)]
    elif study == "long":
        cells = [dict(steps=1500), dict(steps=3000)]
    else:
        cells = [dict(attention=a, identity_init=i, data=d, n_expert=4000 if d == "experimenter" else 100_000)
                 for d in ("experimenter", "oracle") for a in ("standard", "relation") for i in ("random", "zero")]
    out = []
    for seed in seeds:
        for c in cells:
            if steps is not None and "steps" not in c:
                c = {**c, "steps": steps}
            out.append({**c, "seed": seed})
    return out


def _train(cell: dict, verbose: bool = False) -> dict:
    import torch

    torch.set_num_threads(1)
    from neural.dag.runs import CONFIGS, train_on_validation

    base = CONFIGS["default"]
    bc = base.bc
    for key in ("attention", "identity_init", "steps"):
        if key in cell:
            bc = replace(bc, **{key: cell[key]})
    config = replace(base, bc=bc, data=cell.get("data", base.data), n_expert=cell.get("n_expert", base.n_expert))
    start = time.process_time()
    wall = time.time()
    if verbose:
        print(f"cell {cell}", flush=True)
    learner = train_on_validation(config, cell["seed"], verbose=verbose)
    return {**cell, "chosen_step": learner.chosen_step,
            "validation": learner.selection.validation_reward,
            "curve": learner.curve, "cpu_s": round(time.process_time() - start, 1),
            "wall_s": round(time.time() - wall, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("study", choices=("data", "long", "ablation"))
    parser.add_argument("--out", required=True, help="JSON-lines file the finished cells are appended to")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1000])
    parser.add_argument("--steps", type=int, default=None, help="override the steps of every cell")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--verbose", action="store_true", help="print every checkpoint as it comes")
    args = parser.parse_args(argv)
    cells = _cells(args.study, args.seeds, args.steps)
    try:
        with open(args.out, "a") as sink, ProcessPoolExecutor(
                args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_train, c, args.verbose): c for c in cells}
            for future in as_completed(futures):
                result = future.result()
                sink.write(json.dumps(result) + "\n")
                sink.flush()
                print(json.dumps({k: v for k, v in result.items() if k != "curve"}), flush=True)
    except KeyboardInterrupt:
        print(f"interrupted; finished cells are in {args.out}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
