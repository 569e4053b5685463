"""Runs the passive-causal-strategies study end to end: data, training, evaluation, report.

Per seed: the exact Bayesian experimenter plays ``n_expert`` training-split episodes (D is never
an ancestor of E, C never one of A); a fresh transformer is behaviour-cloned on them. Every model
choice is made on the ``validation`` split (goal A, C the best node): the checkpoint kept is the
one with the best validation reward. Only then does every agent play the same ``train``,
``validation``, ``target`` and ``path`` episodes once. Then the talk's analyses: agreement with
each strategy on the trials where strategies disagree, the experimenting behaviour, and the
explanation experiment (confounded training, deconfounded test, with vs without an auxiliary
explanation target). Intervals are 95% Student-t intervals over seeds; differences are paired.
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from bayes_agent.dag.baselines import HeuristicPolicy
from bayes_agent.dag.evaluation import (
    REFERENCE_AGENTS,
    best_action_rate,
    evaluate_split,
    paired_difference,
    reference_policies,
    seed_interval,
    strategy_agreement,
    studies_markdown,
)
from bayes_agent.dag.experimenter import BayesianExperimenter
from bayes_agent.dag.studies import bystander_study, delusion_study
from bayes_agent.dag.world import (N_NODES, SPLITS, DagConfig, EpisodeBatch, HypothesisSpace, action_node,
                                   run_episodes, sample_tasks)
from bayes_agent.atomic import write_atomic
from bayes_agent.errors import InvalidArgument

from .passive_learner import BCConfig, BCPolicy, PassiveLearner, explanation_targets, train_passive_learner

__all__ = ["CONFIGS", "ReportConfig", "TrainedLearner", "run_causal_report", "train_on_validation", "usable_cpus"]

#: the learner's comparison set, in report order
METHODS: tuple[str, ...] = ("bc_agent", *REFERENCE_AGENTS)
#: what the BC agent is compared with, seed by seed, in the verdict
COMPARED: tuple[str, ...] = ("experimenter", "observation_only", "largest_change", "best_value",
                             "total_correlation", "partial_correlation", "random")
#: the heuristic that the confounded training data always agrees with
CONFOUND = "largest_change"
#: what the named variant's report says first: its held-out splits are not held out for it
IN_DISTRIBUTION_NOTE = (
    "**Named variant, shuffled identities: the target split is in-distribution by construction.** "
    "Node identities are reshuffled every episode and one head serves every node, so every target "
    "(graph, goal) pair is a relabelling of a training pair; this run does not test generalisation "
    "to an unseen dependency.")


@dataclass(frozen=True)
class ReportConfig:
    """Everything one run depends on."""

    seeds: int = 4
    n_expert: int = 4000
    n_eval: int = 200
    n_info_gain: int = 50  # episodes per split for the (slow) information-gain experimenter
    n_validation: int = 100  # validation episodes per checkpoint (model selection)
    n_studies: int = 100  # episodes of the bystander and delusion studies
    checkpoint_every: int = 250
    world: DagConfig = field(default_factory=DagConfig)
    bc: BCConfig = field(default_factory=BCConfig)
    explanations: bool = True
    explain_steps: int = 1000  # steps of each explanation arm (no model selection: fixed budget)
    explain_weight: float = 1.0


CONFIGS: dict[str, ReportConfig] = {
    "micro": ReportConfig(seeds=2, n_expert=60, n_eval=12, n_info_gain=2, n_validation=6,
                          n_studies=6, checkpoint_every=15, explain_steps=10,
                          bc=BCConfig(d_model=32, n_layers=1, n_heads=2, steps=30, batch_size=32,
                                      warmup=5, decay=True, exploit_weight=3.0)),
    "default": ReportConfig(bc=BCConfig(steps=1500, lr=3e-3, warmup=100, decay=True,
                                        exploit_weight=3.0)),
}
#: the named variant: node identities reshuffled every episode (target split in-distribution)
CONFIGS["shuffled-identities"] = replace(
    CONFIGS["default"], explanations=False, bc=replace(CONFIGS["default"].bc, shuffle_identities=True))


def usable_cpus() -> int:
    """CPU cores this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def run_causal_report(out: str | Path, config: ReportConfig | str = "default",
                      verbose: bool = True, jobs: int | None = None, resume: bool = False) -> dict:
    """Run everything, write ``metrics.json``, ``report.md`` and the figures to ``out``, and
    return the metrics. Each finished seed is saved at once to ``out/seeds/seed_K.json`` (written
    to a temporary file, then renamed), so an interrupted run keeps the seeds it finished; with
    ``resume`` those seeds are loaded instead of run again.

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
    if isinstance(jobs, bool) or not (isinstance(jobs, int) and jobs >= 1):
        raise InvalidArgument(f"jobs must be a positive int, got {jobs!r}")
    out = Path(out)
    (out / "seeds").mkdir(parents=True, exist_ok=True)
    start = time.time()
    say = print if verbose else (lambda *a, **k: None)
    space = HypothesisSpace.shared(config.world)
    say(f"{len(space)} hypotheses; split sizes " +
        ", ".join(f"{s}={len(space.split_members(s))}" for s in SPLITS) +
        f"; {config.seeds} seeds on {min(jobs, config.seeds)} processes")
    results: dict[int, dict] = {}

    def done(seed: int, result: dict) -> None:
        results[seed] = result
        write_atomic(out / "seeds" / f"seed_{seed}.json", json.dumps(result, indent=1))
        say(f"seed {seed} done and saved ({time.time() - start:.0f}s)", flush=True)

    todo = []
    for seed in range(config.seeds):
        saved = out / "seeds" / f"seed_{seed}.json"
        if resume and saved.exists():  # finished before an interruption: kept, not run again
            results[seed] = json.loads(saved.read_text())
            say(f"seed {seed} loaded from {saved}")
        else:
            todo.append(seed)
    if jobs == 1:
        for seed in todo:
            done(seed, _run_seed(config, seed, verbose))
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(_run_seed, config, seed, verbose): seed for seed in todo}
            for future in as_completed(futures):
                done(futures[future], future.result())
    per_seed = [results[seed] for seed in range(config.seeds)]
    metrics = _aggregate(per_seed, config, name, space, jobs)
    metrics["bystander"] = bystander_study(space, config.n_studies, seed=0)
    metrics["delusion"] = delusion_study(space, config.n_studies, seed=0)
    metrics["seconds"] = round(time.time() - start, 1)
    write_atomic(out / "metrics.json", json.dumps(metrics, indent=2))
    _plot(metrics, out / "causal_strategies.png")
    _plot_curve(metrics, out / "bc_training_curve.png")
    _plot_experimenting(metrics, out / "experimenting.png")
    write_atomic(out / "report.md", _markdown(metrics))
    say(f"wrote {out}/report.md, metrics.json and the figures in {metrics['seconds']}s")
    return metrics


@dataclass
class TrainedLearner:
    """One seed's behaviour-cloned learner, at the checkpoint chosen on the validation split."""

    model: PassiveLearner
    losses: list[float]
    curve: dict[str, dict[str, float]]  # split -> step -> active reward (train, validation only)
    chosen_step: int
    expert: EpisodeBatch
    expert_tasks: list


def train_on_validation(config: ReportConfig, seed: int, verbose: bool = False) -> TrainedLearner:
    """Expert data and behaviour cloning for one seed; every ``checkpoint_every`` steps the agent
    plays ``n_validation`` validation (and train) episodes, and the checkpoint with the best
    validation reward is kept. The ``target`` and ``path`` splits are not touched here."""
    import torch

    torch.set_num_threads(1)
    start = time.time()
    say = print if verbose else (lambda *a, **k: None)
    space = HypothesisSpace.shared(config.world)
    rng = np.random.default_rng(seed)
    expert_tasks = sample_tasks(space, "train", config.n_expert, rng)
    expert = run_episodes(BayesianExperimenter(space, seed), expert_tasks, space, rng)
    say(f"seed {seed}: {config.n_expert} expert episodes ({time.time() - start:.0f}s)", flush=True)
    val_tasks = sample_tasks(space, "validation", config.n_validation, np.random.default_rng(30_000 + seed))
    curve_tasks = sample_tasks(space, "train", config.n_validation, np.random.default_rng(31_000 + seed))
    curve: dict[str, dict[str, float]] = {"train": {}, "validation": {}}
    best: dict = {"reward": -np.inf, "step": 0, "state": None}

    def checkpoint(step: int, model) -> None:
        for split, tasks in (("train", curve_tasks), ("validation", val_tasks)):
            batch = run_episodes(BCPolicy(model, 50_000 + seed), tasks, space,
                                 np.random.default_rng(40_000 + seed))
            curve[split][str(step)] = float(batch.rewards().mean())
        if curve["validation"][str(step)] > best["reward"]:
            best.update(reward=curve["validation"][str(step)], step=step,
                        state=copy.deepcopy(model.state_dict()))
        say(f"seed {seed}: BC step {step}/{config.bc.steps}, validation reward "
            f"{curve['validation'][str(step)]:.3f} ({time.time() - start:.0f}s)", flush=True)

    model, losses = train_passive_learner(expert, config.bc, seed, on_checkpoint=checkpoint,
                                          checkpoint_every=config.checkpoint_every)
    model.load_state_dict(best["state"])
    return TrainedLearner(model.eval(), losses, curve, best["step"], expert, expert_tasks)


def _run_seed(config: ReportConfig, seed: int, verbose: bool) -> dict:
    """One seed end to end: expert data, behaviour cloning with checkpoints chosen on the
    validation split, one evaluation of every agent on every split, the analyses."""
    start = time.time()
    say = print if verbose else (lambda *a, **k: None)
    space = HypothesisSpace.shared(config.world)
    learner = train_on_validation(config, seed, verbose)
    model, expert = learner.model, learner.expert
    rewards: dict[str, dict[str, float]] = {m: {} for m in METHODS}
    rates: dict[str, dict[str, float]] = {m: {} for m in METHODS}
    agreement, experimenting = {}, {}
    cheap = [a for a in REFERENCE_AGENTS if a != "experimenter_info_gain"]
    for split in SPLITS:  # the held-out splits are played here, once
        tasks, batches = evaluate_split(space, split, config.n_eval, seed, lambda ts: {
            "bc_agent": BCPolicy(model, 60_000 + seed), **reference_policies(space, ts, seed, cheap)})
        few, ig = evaluate_split(space, split, min(config.n_info_gain, config.n_eval), seed,
                                 lambda ts: reference_policies(space, ts, seed, ["experimenter_info_gain"]))
        for method, batch in {**batches, **ig}.items():
            played = few if method == "experimenter_info_gain" else tasks
            rewards[method][split] = float(batch.rewards().mean())
            rates[method][split] = best_action_rate(space, played, batch)
        agreement[split] = strategy_agreement(space, batches["bc_agent"], seed)
        experimenting[split] = _experimenting(batches["bc_agent"])
    say(f"seed {seed}: evaluated, target reward {rewards['bc_agent']['target']:.3f} "
        f"({time.time() - start:.0f}s)", flush=True)
    result = {"rewards": rewards, "best_rate": rates, "final_loss": float(np.mean(learner.losses[-50:])),
              "curve": learner.curve, "chosen_step": learner.chosen_step, "agreement": agreement,
              "experimenting": experimenting,
              "expert_experimenting": _experimenting(expert)}
    if config.explanations:
        result["explanations"] = _explanation_experiment(config, space, expert, learner.expert_tasks, seed)
        say(f"seed {seed}: explanation experiment done ({time.time() - start:.0f}s)", flush=True)
    return result


def _experimenting(batch: EpisodeBatch) -> dict[str, list[float]]:
    """Per experimentation trial: the share of choices that are a positive intervention on a node
    not tried before in the episode, and the share of episodes that tried every node once."""
    e = batch.config.n_explore
    acts = batch.actions[:, :e]
    fresh = []
    for t in range(e):
        nodes = acts[:, t] // 2
        before = (acts[:, :t] // 2 == nodes[:, None]).any(axis=1) if t else np.zeros(len(acts), bool)
        fresh.append(float(((acts[:, t] % 2 == 0) & ~before).mean()))
    every = float(np.mean([len({action_node(a) for a in row}) == min(e, N_NODES) for row in acts]))
    return {"fresh_positive": fresh, "each_node_once": every}


def _explanation_experiment(config: ReportConfig, space: HypothesisSpace, expert: EpisodeBatch,
                            tasks: list, seed: int) -> dict:
    """The talk's explanation result in this world. Confounded training: only the expert
    episodes in which the ``largest_change`` heuristic would have chosen exactly as the expert
    did. Deconfounded test: fresh training-split episodes, scored only where the two disagree
    (read off the experimenter's own run of the same episodes, same noise for every agent).
    Two BC agents, same data and budget, with and without the explanation target."""
    e = config.world.n_explore
    heuristic = HeuristicPolicy(CONFOUND, seed)
    agree = np.ones(len(expert), dtype=bool)
    for t in range(e, config.world.n_trials):
        agree &= heuristic.act(expert, t) == expert.actions[:, t]
    keep = np.flatnonzero(agree)
    data = _subset(expert, keep)
    why = explanation_targets(data, space.ancestors[[tasks[i].graph for i in keep]])
    test_tasks, batches = evaluate_split(space, "train", config.n_eval, 70_000 + seed, lambda ts: {
        "experimenter": BayesianExperimenter(space, 100 + seed)})
    reference = batches["experimenter"]
    differ = np.zeros(len(reference), dtype=bool)
    for t in range(e, config.world.n_trials):
        differ |= HeuristicPolicy(CONFOUND, seed).act(reference, t) != reference.actions[:, t]
    out = {"n_confounded": int(len(keep)), "n_expert": int(len(expert)),
           "n_deconfounded": int(differ.sum()), "n_test": int(len(reference))}
    bc = replace(config.bc, steps=config.explain_steps, warmup=min(config.bc.warmup, config.explain_steps // 10))
    for arm, weight in (("without", 0.0), ("with", config.explain_weight)):
        model, _ = train_passive_learner(data, replace(bc, explain_weight=weight), seed, explanations=why)
        _, played = evaluate_split(space, "train", config.n_eval, 70_000 + seed,
                                   lambda ts: {"bc": BCPolicy(model.eval(), 80_000 + seed)})
        batch = played["bc"]
        own = batch.actions[:, e:]
        expert_choice = np.stack([BayesianExperimenter(space, seed).act(batch, t)
                                  for t in range(e, config.world.n_trials)], axis=1)
        heur_choice = np.stack([HeuristicPolicy(CONFOUND, seed).act(batch, t)
                                for t in range(e, config.world.n_trials)], axis=1)
        out[arm] = {
            "deconfounded_reward": float(batch.rewards()[differ].mean()) if differ.any() else float("nan"),
            "confounded_reward": float(batch.rewards()[~differ].mean()) if (~differ).any() else float("nan"),
            "matches_experimenter": float((own == expert_choice)[differ].mean()) if differ.any() else float("nan"),
            "matches_confound": float((own == heur_choice)[differ].mean()) if differ.any() else float("nan"),
        }
    out["experimenter_deconfounded_reward"] = float(reference.rewards()[differ].mean()) if differ.any() else float("nan")
    return out


def _subset(batch: EpisodeBatch, rows: np.ndarray) -> EpisodeBatch:
    return EpisodeBatch(batch.initial[rows], batch.goals[rows], batch.actions[rows], batch.outcomes[rows],
                        batch.config)


def _aggregate(per_seed: list[dict], config: ReportConfig, name: str, space: HypothesisSpace,
               jobs: int) -> dict:
    metrics: dict = {
        "config": name,
        "settings": {"seeds": config.seeds, "n_expert": config.n_expert, "n_eval": config.n_eval,
                     "n_info_gain": config.n_info_gain, "n_validation": config.n_validation,
                     "world": asdict(config.world), "bc": asdict(config.bc),
                     "jobs": min(jobs, config.seeds)},
        "n_hypotheses": len(space),
        "split_sizes": {s: int(len(space.split_members(s))) for s in SPLITS},
        "bc_final_loss": [r["final_loss"] for r in per_seed],
        "chosen_step": [r["chosen_step"] for r in per_seed],
    }
    for split in SPLITS:
        rw = {m: [r["rewards"][m][split] for r in per_seed] for m in METHODS}
        metrics[split] = {
            "reward": {m: seed_interval(v) for m, v in rw.items()},
            "best_action_rate": {m: seed_interval([r["best_rate"][m][split] for r in per_seed]) for m in METHODS},
            "bc_minus": {m: paired_difference(rw["bc_agent"], rw[m]) for m in COMPARED},
            "agreement": {s: {k: seed_interval([r["agreement"][split][s][k] for r in per_seed])
                              for k in per_seed[0]["agreement"][split][s]}
                          for s in per_seed[0]["agreement"][split]},
        }
    metrics["experimenting"] = {
        who: {"fresh_positive": [seed_interval([r[key][split]["fresh_positive"][t] if split else
                                                r[key]["fresh_positive"][t] for r in per_seed])
                                 for t in range(config.world.n_explore)],
              "each_node_once": seed_interval([r[key][split]["each_node_once"] if split else
                                               r[key]["each_node_once"] for r in per_seed])}
        for who, key, split in (("bc_agent_target", "experimenting", "target"),
                                ("bc_agent_train", "experimenting", "train"),
                                ("expert", "expert_experimenting", None))}
    metrics["bc_training_curve"] = {s: {k: seed_interval([r["curve"][s][k] for r in per_seed])
                                        for k in per_seed[0]["curve"][s]} for s in ("train", "validation")}
    if config.explanations:
        ex = [r["explanations"] for r in per_seed]
        metrics["explanations"] = {
            "counts": {k: [x[k] for x in ex] for k in ("n_confounded", "n_expert", "n_deconfounded", "n_test")},
            **{f"{arm}_{k}": seed_interval([x[arm][k] for x in ex])
               for arm in ("with", "without") for k in ex[0]["with"]},
            "with_minus_without": {k: paired_difference([x["with"][k] for x in ex], [x["without"][k] for x in ex])
                                   for k in ex[0]["with"]},
            "experimenter_deconfounded_reward": seed_interval([x["experimenter_deconfounded_reward"] for x in ex]),
        }
    return metrics


# ------------------------------------------------------------------------------------------------
# figures and markdown


def _err(d: dict) -> float:
    return 0.0 if d["ci95"] is None else d["ci95"]


def _plot(m: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 4.8))
    width = 0.8 / len(METHODS)
    for i, meth in enumerate(METHODS):
        xs = np.arange(len(SPLITS)) + (i - (len(METHODS) - 1) / 2) * width
        ax.bar(xs, [m[s]["reward"][meth]["mean"] for s in SPLITS], width,
               yerr=[_err(m[s]["reward"][meth]) for s in SPLITS], capsize=2, label=meth.replace("_", " "))
    ax.set_xticks(np.arange(len(SPLITS)))
    ax.set_xticklabels(["train", "validation\n(C → A held out)", "target\n(D → E held out)", "path\n(D on the path to E)"])
    ax.set_ylabel("mean exploitation reward\n(goal value after intervention)")
    ax.set_title(f"Passive BC agent vs exact experimenter and baselines "
                 f"(95% CI over {m['settings']['seeds']} seeds)")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_curve(m: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for s in ("train", "validation"):
        curve = m["bc_training_curve"][s]
        steps = sorted(curve, key=int)
        mean = np.array([curve[k]["mean"] for k in steps])
        ci = np.array([_err(curve[k]) for k in steps])
        line, = ax.plot([int(k) for k in steps], mean, marker="o", label=f"BC agent, {s}")
        ax.fill_between([int(k) for k in steps], mean - ci, mean + ci, alpha=0.2, color=line.get_color())
        ax.axhline(m[s]["reward"]["experimenter"]["mean"], color=line.get_color(), linestyle="--",
                   linewidth=1, label=f"exact experimenter, {s}")
    ax.set_xlabel("behaviour-cloning step (passive training)")
    ax.set_ylabel("mean exploitation reward (active evaluation)")
    ax.set_title("Active evaluations during passive training\n(the held-out test splits are not looked at)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_experimenting(m: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for who, label in (("expert", "expert (exact experimenter)"), ("bc_agent_train", "BC agent, train split"),
                       ("bc_agent_target", "BC agent, target split")):
        rows = m["experimenting"][who]["fresh_positive"]
        ts = np.arange(1, len(rows) + 1)
        ax.errorbar(ts, [r["mean"] for r in rows], yerr=[_err(r) for r in rows], marker="o", capsize=3,
                    label=f"{label} (each node once: {m['experimenting'][who]['each_node_once']['mean']:.2f})")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("experimentation trial")
    ax.set_ylabel("share of choices: do(+v) on a node\nnot tried before in the episode")
    ax.set_title("Experimenting behaviour: does it try each variable once?")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _cell(d: dict, signed: bool = False) -> str:
    ci = "n/a" if d["ci95"] is None else f"{d['ci95']:.3f}"
    return f"{d['mean']:+.3f} ± {ci}" if signed else f"{d['mean']:.3f} ± {ci}"


def _markdown(m: dict) -> str:
    s = m["settings"]
    lines = [f"# Passive learning of active causal strategies ({m['config']} config)", "",
             f"{m['n_hypotheses']} hypotheses; split sizes {m['split_sizes']}; world {s['world']}; "
             f"{s['seeds']} seeds, {s['n_expert']} expert episodes per seed, {s['n_eval']} evaluation "
             f"episodes per split ({s['n_info_gain']} for the information-gain experimenter); "
             f"checkpoint chosen on validation at steps {m['chosen_step']}; {m['seconds']} s.", "",
             *([IN_DISTRIBUTION_NOTE, ""] if s["bc"]["shuffle_identities"] else []),
             "Mean exploitation reward ± 95% CI over seeds:", "",
             "| agent | " + " | ".join(SPLITS) + " |", "|---|" + "---|" * len(SPLITS)]
    for meth in METHODS:
        lines.append(f"| {meth} | " + " | ".join(_cell(m[sp]["reward"][meth]) for sp in SPLITS) + " |")
    lines += ["", "Share of exploitation choices that are the true best action:", "",
              "| agent | " + " | ".join(SPLITS) + " |", "|---|" + "---|" * len(SPLITS)]
    for meth in METHODS:
        lines.append(f"| {meth} | " + " | ".join(_cell(m[sp]["best_action_rate"][meth]) for sp in SPLITS) + " |")
    lines += ["", "BC agent minus each agent, paired by seed (verdict: above / below / tied when the "
              "interval covers 0):", "", "| BC agent minus | " + " | ".join(SPLITS) + " |",
              "|---|" + "---|" * len(SPLITS)]
    for other in COMPARED:
        lines.append(f"| {other} | " + " | ".join(
            f"{_cell(m[sp]['bc_minus'][other], True)} ({m[sp]['bc_minus'][other]['verdict']})"
            for sp in SPLITS) + " |")
    for split in ("target", "validation"):
        ag = m[split]["agreement"]
        lines += ["", f"Strategy agreement on the {split} split: on the exploitation trials where the "
                  "experimenter and a strategy choose differently, how often the BC agent chose as each:", "",
                  "| strategy | trials (mean per seed) | BC = experimenter | BC = strategy |", "|---|---|---|---|"]
        for strat, row in ag.items():
            if strat == "all_trials":
                continue
            lines.append(f"| {strat} | {row['trials']['mean']:.1f} | {_cell(row['matches_experimenter'])} "
                         f"| {_cell(row['matches_strategy'])} |")
        lines.append("| (all trials) BC = | " + ", ".join(
            f"{k} {v['mean']:.3f}" for k, v in ag["all_trials"].items()) + " | | |")
    ex = m["experimenting"]
    lines += ["", "Experimenting behaviour (share of do(+v) on an untried node per experimentation trial; "
              "episodes that tried each node once):", "", "| who | per trial | each node once |", "|---|---|---|"]
    for who, row in ex.items():
        lines.append(f"| {who} | " + ", ".join(f"{r['mean']:.3f}" for r in row["fresh_positive"]) +
                     f" | {_cell(row['each_node_once'])} |")
    if "explanations" in m:
        e = m["explanations"]
        lines += ["", f"Explanations (confounded training: expert episodes where `{CONFOUND}` agrees with the "
                  f"expert, {e['counts']['n_confounded']} of {e['counts']['n_expert']} per seed; deconfounded "
                  f"test: {e['counts']['n_deconfounded']} of {e['counts']['n_test']} train-split episodes where "
                  "they disagree; experimenter there "
                  f"{_cell(e['experimenter_deconfounded_reward'])}):", "",
                  "| metric | without explanations | with explanations | with - without (paired) |",
                  "|---|---|---|---|"]
        for k in e["with_minus_without"]:
            d = e["with_minus_without"][k]
            lines.append(f"| {k} | {_cell(e['without_' + k])} | {_cell(e['with_' + k])} | "
                         f"{_cell(d, True)} ({d['verdict']}) |")
    lines += studies_markdown(m)
    lines += ["", "BC agent during training (active evaluation on train and validation only):", "",
              "| step | train | validation |", "|---|---|---|"]
    curve = m["bc_training_curve"]
    for k in sorted(curve["train"], key=int):
        lines.append(f"| {k} | {_cell(curve['train'][k])} | {_cell(curve['validation'][k])} |")
    lines += ["", "![comparison](causal_strategies.png)", "", "![curve](bc_training_curve.png)", "",
              "![experimenting](experimenting.png)", ""]
    return "\n".join(lines)
