"""Runs the passive-causal-strategies comparison end to end: data, training, evaluation, report.

Per seed: the exact Bayesian experimenter plays ``n_expert`` training-split episodes (D is never
an ancestor of E); a fresh transformer is behaviour-cloned on them; then every strategy plays the
same evaluation episodes (same graphs, goals and world noise) of the ``train``, ``target`` and
``path`` splits. The score is the mean exploitation reward (the goal's value after each
exploitation trial). Confidence intervals are over seeds (Student t, 95%).
"""

from __future__ import annotations

import functools
import json
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from bayes_agent.dag.baselines import BASELINES, HeuristicPolicy, OraclePolicy, RandomPolicy
from bayes_agent.dag.world import SPLITS, DagConfig, HypothesisSpace, run_episodes, sample_tasks
from bayes_agent.errors import InvalidArgument
from bayes_agent.dag.experimenter import BayesianExperimenter, bystander_study

from .passive_learner import BCConfig, BCPolicy, train_passive_learner

__all__ = ["CONFIGS", "ReportConfig", "confidence_interval", "run_causal_report", "usable_cpus"]

METHODS: tuple[str, ...] = ("bc_agent", "experimenter", *BASELINES, "random", "oracle")


@dataclass(frozen=True)
class ReportConfig:
    """Everything one run depends on."""

    seeds: int = 3
    n_expert: int = 6000
    n_eval: int = 200
    n_bystander: int = 100
    n_curve: int = 100  # episodes per split for the active evaluations during training
    checkpoint_every: int = 500
    world: DagConfig = field(default_factory=DagConfig)
    bc: BCConfig = field(default_factory=BCConfig)


CONFIGS: dict[str, ReportConfig] = {
    "micro": ReportConfig(seeds=2, n_expert=60, n_eval=12, n_bystander=8, n_curve=6,
                          checkpoint_every=15,
                          bc=BCConfig(d_model=32, n_layers=1, n_heads=2, steps=30, batch_size=32,
                                      warmup=5, decay=True, exploit_weight=3.0)),
    "default": ReportConfig(seeds=4, checkpoint_every=250,
                            bc=BCConfig(steps=2000, lr=3e-3, warmup=100, decay=True,
                                         exploit_weight=3.0)),
}
#: the ablation: the default run with every node wearing the same identity vector in every episode
CONFIGS["fixed-identities"] = replace(
    CONFIGS["default"], bc=replace(CONFIGS["default"].bc, shuffle_identities=False))

# two-sided 95% Student t quantiles by degrees of freedom
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def confidence_interval(values: list[float]) -> tuple[float, float]:
    """Mean and 95% half-width over seeds (t distribution); half-width is NaN for one seed."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        raise InvalidArgument("a confidence interval needs at least one value")
    if len(x) == 1:
        return float(x[0]), float("nan")
    t = _T95.get(len(x) - 1, 1.96)
    return float(x.mean()), float(t * x.std(ddof=1) / math.sqrt(len(x)))


#: what the BC agent is compared with, seed by seed, in the verdict
COMPARED: tuple[str, ...] = ("experimenter", "total_correlation", "partial_correlation",
                             "largest_change")


def paired_differences(rewards: dict[str, dict[str, list[float]]], method: str,
                       others: tuple[str, ...]) -> dict[str, dict[str, dict]]:
    """``method`` minus each of ``others`` on every split, paired by seed (within a seed both
    played the same episodes), with a 95% CI and a verdict word: above, below or tied (the CI
    covers 0), or undetermined with one seed."""
    table: dict[str, dict[str, dict]] = {}
    for other in others:
        table[other] = {}
        for split in SPLITS:
            diffs = [a - b for a, b in zip(rewards[method][split], rewards[other][split])]
            mean, ci = confidence_interval(diffs)
            if math.isnan(ci):
                verdict = "undetermined"
            else:
                verdict = "above" if mean - ci > 0 else "below" if mean + ci < 0 else "tied"
            table[other][split] = {"mean": mean, "ci95": ci, "verdict": verdict}
    return table


def usable_cpus() -> int:
    """CPU cores this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def run_causal_report(out: str | Path, config: ReportConfig | str = "default",
                      verbose: bool = True, jobs: int | None = None) -> dict:
    """Run everything, write ``metrics.json``, ``report.md``, ``causal_strategies.png`` and
    ``bc_training_curve.png`` to ``out``, and return the metrics.

    Seeds are independent and run in ``jobs`` worker processes (default: one per CPU core, at
    most one per seed), each on one torch thread, so the numbers do not depend on ``jobs``."""
    if isinstance(config, str):
        if config not in CONFIGS:
            raise InvalidArgument(f"config must be one of {sorted(CONFIGS)}, got {config!r}")
        name, config = config, CONFIGS[config]
    else:
        name = "custom"
    if jobs is None:
        jobs = min(config.seeds, usable_cpus())
    if not (isinstance(jobs, int) and jobs >= 1):
        raise InvalidArgument(f"jobs must be a positive int, got {jobs!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    say = _speaker(verbose)
    space = _space(config.world)
    say(f"{len(space)} hypotheses; split sizes " +
        ", ".join(f"{s}={len(space.split_members(s))}" for s in SPLITS) +
        f"; {config.seeds} seeds on {min(jobs, config.seeds)} processes")
    results: dict[int, dict] = {}
    if jobs == 1:
        for seed in range(config.seeds):
            results[seed] = _run_seed(config, seed, verbose)
            say(f"seed {seed} done ({time.time() - start:.0f}s)")
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(_run_seed, config, seed, verbose): seed
                       for seed in range(config.seeds)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                say(f"seed {futures[future]} done ({time.time() - start:.0f}s)")
    per_seed = [results[seed] for seed in range(config.seeds)]
    rewards = {m: {s: [r["rewards"][m][s] for r in per_seed] for s in SPLITS} for m in METHODS}
    best_rate = {m: {s: [r["best_rate"][m][s] for r in per_seed] for s in SPLITS} for m in METHODS}
    final_losses = [r["final_loss"] for r in per_seed]
    curves = {s: {step: [r["curve"][s][step] for r in per_seed] for step in per_seed[0]["curve"][s]}
              for s in SPLITS}
    bystander = bystander_study(space, config.n_bystander, seed=0)
    summary = {m: {s: dict(zip(("mean", "ci95"), confidence_interval(rewards[m][s])))
                   for s in SPLITS} for m in METHODS}
    metrics = {
        "config": name,
        "settings": {"seeds": config.seeds, "n_expert": config.n_expert, "n_eval": config.n_eval,
                     "n_bystander": config.n_bystander, "world": asdict(config.world),
                     "bc": asdict(config.bc), "jobs": min(jobs, config.seeds)},
        "n_hypotheses": len(space),
        "split_sizes": {s: int(len(space.split_members(s))) for s in SPLITS},
        "exploitation_reward": summary,
        "per_seed_reward": rewards,
        "best_action_rate": {m: {s: dict(zip(("mean", "ci95"), confidence_interval(best_rate[m][s])))
                                 for s in SPLITS} for m in METHODS},
        "bc_final_loss": final_losses,
        "bc_training_curve": {s: {k: dict(zip(("mean", "ci95"), confidence_interval(v)))
                                  for k, v in curves[s].items()} for s in SPLITS},
        "bc_vs": paired_differences(rewards, "bc_agent", COMPARED),
        "bystander": bystander,
        "seconds": round(time.time() - start, 1),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    _plot(summary, config.seeds, out / "causal_strategies.png")
    _plot_curve(metrics["bc_training_curve"], summary, config.seeds, out / "bc_training_curve.png")
    (out / "report.md").write_text(_markdown(metrics))
    say(f"wrote {out}/report.md, metrics.json, causal_strategies.png in {metrics['seconds']}s")
    return metrics


@functools.lru_cache(maxsize=2)
def _space(world: DagConfig) -> HypothesisSpace:
    """One hypothesis space per world and process: its expected-value table is filled once and
    shared by every seed the process runs."""
    return HypothesisSpace(world)


def _speaker(verbose: bool) -> Callable[..., None]:
    return print if verbose else (lambda *args, **kwargs: None)


def _run_seed(config: ReportConfig, seed: int, verbose: bool) -> dict:
    """One seed end to end: expert data, behaviour cloning (with active evaluations along the
    way), then every strategy on the same evaluation episodes of each split."""
    import torch

    torch.set_num_threads(1)
    start = time.time()
    say = _speaker(verbose)
    space = _space(config.world)
    space.values(np.arange(len(space)))  # the whole expected-value table, once per process
    rng = np.random.default_rng(seed)
    expert_tasks = sample_tasks(space, "train", config.n_expert, rng)
    expert = run_episodes(BayesianExperimenter(space, seed), expert_tasks, space, rng)
    say(f"seed {seed}: {config.n_expert} expert episodes ({time.time() - start:.0f}s)", flush=True)
    curve_tasks = {s: sample_tasks(space, s, config.n_curve, np.random.default_rng(30_000 + seed))
                   for s in SPLITS}
    curve: dict[str, dict[str, float]] = {s: {} for s in SPLITS}

    def checkpoint(step: int, model) -> None:
        for s in SPLITS:
            batch = run_episodes(BCPolicy(model, 50_000 + seed), curve_tasks[s], space,
                                 np.random.default_rng(40_000 + seed))
            curve[s][str(step)] = float(batch.rewards().mean())
        say(f"seed {seed}: BC step {step}/{config.bc.steps}, target reward "
            f"{curve['target'][str(step)]:.3f} ({time.time() - start:.0f}s)", flush=True)

    model, losses = train_passive_learner(expert, config.bc, seed, on_checkpoint=checkpoint,
                                          checkpoint_every=config.checkpoint_every)
    final_loss = float(np.mean(losses[-50:]))
    rewards: dict[str, dict[str, float]] = {m: {} for m in METHODS}
    best_rate: dict[str, dict[str, float]] = {m: {} for m in METHODS}
    for split in SPLITS:
        tasks = sample_tasks(space, split, config.n_eval, np.random.default_rng(10_000 + seed))
        policies = {
            "bc_agent": BCPolicy(model, 60_000 + seed),
            "experimenter": BayesianExperimenter(space, 100 + seed),
            **{b: HeuristicPolicy(b, 100 + seed) for b in BASELINES},
            "random": RandomPolicy(100 + seed),
            "oracle": OraclePolicy(space, tasks, 100 + seed),
        }
        best = np.array([space.best_actions([k.graph], k.goal)[0] for k in tasks])
        for method, policy in policies.items():
            batch = run_episodes(policy, tasks, space, np.random.default_rng(20_000 + seed))
            rewards[method][split] = float(batch.rewards().mean())
            chosen = batch.actions[:, config.world.n_explore:]
            best_rate[method][split] = float((chosen == best[:, None]).mean())
    say(f"seed {seed}: evaluated ({time.time() - start:.0f}s)", flush=True)
    return {"rewards": rewards, "best_rate": best_rate, "final_loss": final_loss, "curve": curve}


def _plot(summary: dict, seeds: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11.5, 4.5))
    width = 0.8 / len(METHODS)
    for i, m in enumerate(METHODS):
        xs = np.arange(len(SPLITS)) + (i - (len(METHODS) - 1) / 2) * width
        means = [summary[m][s]["mean"] for s in SPLITS]
        errs = [0 if math.isnan(summary[m][s]["ci95"]) else summary[m][s]["ci95"] for s in SPLITS]
        ax.bar(xs, means, width, yerr=errs, capsize=2, label=m.replace("_", " "))
    ax.set_xticks(np.arange(len(SPLITS)))
    ax.set_xticklabels([f"{s}" for s in SPLITS])
    ax.set_xlabel("evaluation split (train: D never an ancestor of E; target/path: held-out D → E)")
    ax.set_ylabel("mean exploitation reward\n(goal value after intervention)")
    ax.set_title(f"Passive BC agent vs exact experimenter and baselines (95% CI over {seeds} seeds)")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_curve(curve: dict, summary: dict, seeds: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, s in enumerate(SPLITS):
        steps = sorted(curve[s], key=int)
        xs = [int(k) for k in steps]
        mean = np.array([curve[s][k]["mean"] for k in steps])
        ci = np.nan_to_num(np.array([curve[s][k]["ci95"] for k in steps]))
        line, = ax.plot(xs, mean, marker="o", label=f"BC agent, {s}")
        ax.fill_between(xs, mean - ci, mean + ci, alpha=0.2, color=line.get_color())
        ax.axhline(summary["experimenter"][s]["mean"], color=line.get_color(), linestyle="--",
                   linewidth=1, label=f"exact experimenter, {s}")
    ax.set_xlabel("behaviour-cloning step (passive training)")
    ax.set_ylabel("mean exploitation reward (active evaluation)")
    ax.set_title(f"Active evaluations during passive training ({seeds} seeds, 95% CI)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _markdown(m: dict) -> str:
    lines = [f"# Passive learning of active causal strategies ({m['config']} config)", "",
             f"{m['n_hypotheses']} hypotheses; split sizes {m['split_sizes']}; "
             f"{m['settings']['seeds']} seeds, {m['settings']['n_expert']} expert episodes per seed, "
             f"{m['settings']['n_eval']} evaluation episodes per split; {m['seconds']} s.", "",
             "Mean exploitation reward ± 95% CI over seeds:", "",
             "| method | " + " | ".join(SPLITS) + " |", "|---|" + "---|" * len(SPLITS)]
    for meth, row in m["exploitation_reward"].items():
        cells = [f"{row[s]['mean']:.3f} ± {row[s]['ci95']:.3f}" for s in SPLITS]
        lines.append(f"| {meth} | " + " | ".join(cells) + " |")
    lines += ["", "Share of exploitation choices that are the true best action (mean ± 95% CI):", "",
              "| method | " + " | ".join(SPLITS) + " |", "|---|" + "---|" * len(SPLITS)]
    for meth, row in m["best_action_rate"].items():
        cells = [f"{row[s]['mean']:.3f} ± {row[s]['ci95']:.3f}" for s in SPLITS]
        lines.append(f"| {meth} | " + " | ".join(cells) + " |")
    lines += ["", "BC agent minus each reference, paired by seed (mean ± 95% CI; verdict: above / "
              "below / tied when the interval covers 0):", "",
              "| BC agent minus | " + " | ".join(SPLITS) + " |", "|---|" + "---|" * len(SPLITS)]
    for other, row in m["bc_vs"].items():
        cells = [f"{row[s]['mean']:+.3f} ± {row[s]['ci95']:.3f} ({row[s]['verdict']})" for s in SPLITS]
        lines.append(f"| {other} | " + " | ".join(cells) + " |")
    lines += ["", "Bystander study (teacher who knows the graph; goal E, target split):", "",
              "| case | posterior mass on true graph | next choice is best |", "|---|---|---|"]
    b = m["bystander"]
    for actor in ("teacher", "self"):
        for record in ("choices", "trials"):
            for mode in ("obs", "do"):
                k = f"{actor}_{record}_{mode}"
                lines.append(f"| {k} | {b[k + '_true_graph_mass']:.4f} | {b[k + '_best_action_rate']:.3f} |")
    lines += ["", "BC agent during training (active evaluation, mean ± 95% CI):", "",
              "| step | " + " | ".join(SPLITS) + " |", "|---|" + "---|" * len(SPLITS)]
    curve = m["bc_training_curve"]
    for k in sorted(curve[SPLITS[0]], key=int):
        lines.append(f"| {k} | " + " | ".join(
            f"{curve[s][k]['mean']:.3f} ± {curve[s][k]['ci95']:.3f}" for s in SPLITS) + " |")
    lines += ["", "![comparison](causal_strategies.png)", "", "![curve](bc_training_curve.png)", ""]
    return "\n".join(lines)
