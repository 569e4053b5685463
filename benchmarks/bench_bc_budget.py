"""The passive learner's training budget, chosen on the validation split only.

For each budget (behaviour-cloning steps; everything else is the ``default`` configuration of
``bayes-agent causal-strategies``, cosine schedule stretched to the budget) one seed is trained
exactly as in the report (``neural.dag.report.train_on_validation``: checkpoint every 250 steps
kept by its reward on 100 validation episodes), then the kept checkpoint plays the report's 200
``validation`` evaluation episodes of that seed. The ``target`` and ``path`` splits are never
played here: the budget is chosen before they are looked at.

Run:  OMP_NUM_THREADS=1 python benchmarks/bench_bc_budget.py [--steps 1500 4000] [--seed 0] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace

import numpy as np


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1500, 4000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results here as well")
    args = parser.parse_args(argv)
    if any(s < 250 for s in args.steps):
        parser.error("every budget must be at least 250 steps (one checkpoint)")

    import torch

    from bayes_agent.dag.evaluation import evaluate_split
    from bayes_agent.dag.world import HypothesisSpace
    from neural.dag.passive_learner import BCPolicy
    from neural.dag.report import CONFIGS, train_on_validation

    base = CONFIGS["default"]
    space = HypothesisSpace.shared(base.world)
    rows = []
    for steps in args.steps:
        config = replace(base, bc=replace(base.bc, steps=steps))
        start = time.process_time(), time.time()
        learner = train_on_validation(config, args.seed, verbose=True)
        trained = time.process_time() - start[0], time.time() - start[1]
        _, played = evaluate_split(space, "validation", config.n_eval, args.seed, lambda ts: {
            "bc_agent": BCPolicy(learner.model, 60_000 + args.seed)})
        row = {"steps": steps, "chosen_step": learner.chosen_step,
               "checkpoint_validation": learner.curve["validation"],
               "checkpoint_train": learner.curve["train"],
               "validation_reward": float(played["bc_agent"].rewards().mean()),
               "final_loss": float(np.mean(learner.losses[-50:])),
               "train_cpu_s": round(trained[0], 1), "train_wall_s": round(trained[1], 1)}
        rows.append(row)
        print(f"{steps} steps: checkpoint {row['chosen_step']} kept; validation reward "
              f"{row['validation_reward']:.3f} on {config.n_eval} episodes; training "
              f"{row['train_cpu_s']} s CPU", flush=True)
    result = {"seed": args.seed, "rows": rows,
              "chosen_budget": max(rows, key=lambda r: r["validation_reward"])["steps"],
              "environment": {"python": platform.python_version(), "torch": torch.__version__,
                              "numpy": np.__version__, "cpu": platform.processor() or platform.machine(),
                              "cores": os.cpu_count(), "omp_threads": os.environ.get("OMP_NUM_THREADS")}}
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
