"""Runs the passive-causal-strategies study end to end: data, training, model choice, evaluation.

Per seed: an expert plays ``n_expert`` training-split episodes (D is never an ancestor of E, C
never one of A) - the exact Bayesian experimenter, or the vectorised oracle expert
(:mod:`bayes_agent.dag.oracle`); a fresh transformer is behaviour-cloned on them. Every model
choice is made on the ``validation`` split (goal A, C the best node): the checkpoint kept is the
one with the best validation reward, recorded as a :class:`Selection`. Only a learner holding a
selection may play ``target`` and ``path``, and each of them once (:class:`HeldOutPlays`). Then
the talk's analyses: agreement with each strategy where strategies disagree, the experimenting
behaviour, and the explanation experiment. Intervals are 95% Student-t intervals over seeds;
differences are paired.
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
from typing import Callable

import numpy as np

from bayes_agent.dag.cued import CueConfig
from bayes_agent.dag.evaluation import (
    REFERENCE_AGENTS,
    best_action_rate,
    evaluate_split,
    reference_policies,
    results_dir,
    strategy_agreement,
)
from bayes_agent.dag.experimenter import BayesianExperimenter
from bayes_agent.dag.oracle import oracle_episodes
from bayes_agent.dag.studies import bystander_study, delusion_study
from bayes_agent.dag.world import (C_INDEX, SPLITS, DagConfig, EpisodeBatch, HypothesisSpace, Policy, Task,
                                   action_node, run_episodes, sample_tasks)
from bayes_agent.atomic import write_atomic
from bayes_agent.errors import InvalidArgument

from ..sft.settings import UNSET, setting_differences
from .agreement import METHODS, aggregate, experimenting
from .explanations import explanation_experiment
from .figures import plot_comparison, plot_curve, plot_experimenting
from .markdown import report_markdown
from .passive_learner import BCConfig, BCPolicy, PassiveLearner, train_passive_learner

__all__ = ["CONFIGS", "DATA_SOURCES", "HELD_OUT_SPLITS", "HeldOutPlays", "ReportConfig", "SEED_KEYS", "Selection",
           "TrainedLearner", "FIRST_LEARNER", "c_share", "expert_data", "load_seed", "run_causal_report", "save_seed",
           "train_on_validation", "usable_cpus"]

#: where the demonstrations come from: the exact Bayesian experimenter or the oracle expert
DATA_SOURCES: tuple[str, ...] = ("experimenter", "oracle")
#: the splits no choice may look at: played once, after the checkpoint is chosen
HELD_OUT_SPLITS: tuple[str, ...] = ("target", "path")


@dataclass(frozen=True)
class ReportConfig:
    """Everything one run depends on."""

    seeds: int = 4
    data: str = "experimenter"  # who demonstrates: one of DATA_SOURCES
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
    cued: CueConfig | None = None  # set: the cued-experiments study (neural.dag.cued) in that world

    def __post_init__(self) -> None:
        if self.data not in DATA_SOURCES:
            raise InvalidArgument(f"data must be one of {DATA_SOURCES}, got {self.data!r}")
        for name in ("seeds", "n_expert", "n_eval", "n_info_gain", "n_validation", "n_studies",
                     "checkpoint_every", "explain_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, int) and v >= 1):
                raise InvalidArgument(f"{name} must be a positive int, got {v!r}")
        if self.cued is not None and not isinstance(self.cued, CueConfig):
            raise InvalidArgument(f"cued must be a CueConfig or None, got {self.cued!r}")
        if not isinstance(self.world, DagConfig):
            raise InvalidArgument(f"world must be a DagConfig, got {self.world!r}")
        if not isinstance(self.bc, BCConfig):
            raise InvalidArgument(f"bc must be a BCConfig, got {self.bc!r}")

    def settings(self) -> dict:
        """Every setting, as JSON values: what metrics.json records and (less ``seeds``, which no
        seed's numbers depend on) what each seed file is checked against on resume."""
        return json.loads(json.dumps(asdict(self)))


#: the first learner of this study (ordinary attention, random identities), for the ablation
FIRST_LEARNER = dict(attention="standard", identity_init="random")

CONFIGS: dict[str, ReportConfig] = {
    "micro": ReportConfig(seeds=2, n_expert=60, n_eval=12, n_info_gain=2, n_validation=6,
                          n_studies=6, checkpoint_every=15, explain_steps=10,
                          bc=BCConfig(d_model=32, n_layers=1, n_heads=2, steps=30, batch_size=32,
                                      warmup=5, decay=True, exploit_weight=3.0)),
    "default": ReportConfig(checkpoint_every=100, explain_steps=700, explanations=False,
                            bc=BCConfig(steps=700, lr=3e-3, warmup=100, decay=True, exploit_weight=3.0)),
}
#: the default plus the explanation experiment (two more 700-step trainings per seed: past the
#: default's 20-minute bound on 2 cores, so a configuration of its own)
CONFIGS["explanations"] = replace(CONFIGS["default"], explanations=True)
#: the named variant: node identities reshuffled every episode (target split in-distribution)
CONFIGS["shuffled-identities"] = replace(
    CONFIGS["default"], explanations=False, bc=replace(CONFIGS["default"].bc, shuffle_identities=True))
#: the talk's adaptive experiments: 8 variables, a multi-hot cue names the 5 the DAG lives on,
#: whole cue subsets held out (neural.dag.cued); "cued-micro" is its seconds-long test size
CONFIGS["cued-micro"] = replace(CONFIGS["micro"], explanations=False, cued=CueConfig())
#: its size was fixed before its one run to fit a shared 2-core machine (8 x 7 = 56 tokens an
#: episode, about 1.7 x the default's cost per step): 3 seeds, 500 steps, the default's schedule
CONFIGS["cued"] = replace(CONFIGS["default"], seeds=3, n_eval=100, n_validation=100,
                          explanations=False, cued=CueConfig(),
                          bc=replace(CONFIGS["default"].bc, steps=500))


def usable_cpus() -> int:
    """CPU cores this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


#: what every seed of the study (not the cued one: ``neural.dag.cued.CUED_SEED_KEYS``) records
SEED_KEYS: tuple[str, ...] = ("rewards", "best_rate", "final_loss", "curve", "chosen_step", "agreement",
                              "experimenting", "expert_experimenting")


def run_causal_report(out: str | Path, config: ReportConfig | str = "default",
                      verbose: bool = True, jobs: int | None = None, resume: bool = False) -> dict:
    """Run everything, write ``metrics.json``, ``report.md`` and the figures to ``out``, and
    return the metrics. Each finished seed is saved at once to ``out/seeds/seed_K.json`` with the
    settings that produced it (written to a temporary file, then renamed), so an interrupted run
    keeps the seeds it finished; with ``resume`` those seeds are loaded instead of run again,
    after :func:`load_seed` has checked them against this run's settings.

    Seeds are independent and run in ``jobs`` worker processes (default: one per CPU core, at
    most one per seed), each on one torch thread, so the numbers do not depend on ``jobs``."""
    if isinstance(config, str):
        if config not in CONFIGS:
            raise InvalidArgument(f"config must be one of {sorted(CONFIGS)}, got {config!r}")
        name, config = config, CONFIGS[config]
    elif isinstance(config, ReportConfig):
        name = "custom"
    else:
        raise InvalidArgument(f"config must be a ReportConfig or one of {sorted(CONFIGS)}, got {config!r}")
    if jobs is None:
        jobs = min(config.seeds, usable_cpus())
    if isinstance(jobs, bool) or not (isinstance(jobs, int) and jobs >= 1):
        raise InvalidArgument(f"jobs must be a positive int, got {jobs!r}")
    start = time.time()
    say = print if verbose else (lambda *a, **k: None)
    space = HypothesisSpace.shared(config.world)
    if config.cued is None:  # (the cued world draws from its own cue splits)
        space.require_splits()
    out = results_dir(out)
    seeds_dir = out / "seeds"
    results: dict[int, dict] = {}
    for seed in range(config.seeds):  # every saved seed checked before any work
        saved = seeds_dir / f"seed_{seed}.json"
        if resume and saved.exists():  # finished before an interruption: kept, not run again
            results[seed] = load_seed(saved, config, seed)
            _check_readable(saved, results[seed], config, name, space)
    seeds_dir.mkdir(exist_ok=True)
    if config.cued is not None:
        from .cued import run_cued_seed as run_seed
        say(f"cued world: {config.cued.n_variables} variables, {len(space)} graphs per cue; "
            f"{config.seeds} seeds on {min(jobs, config.seeds)} processes")
    else:
        run_seed = _run_seed
        say(f"{len(space)} hypotheses; split sizes " +
            ", ".join(f"{s}={len(space.split_members(s))}" for s in SPLITS) +
            f"; {config.seeds} seeds on {min(jobs, config.seeds)} processes")
    for seed in results:
        say(f"seed {seed} loaded from {seeds_dir / f'seed_{seed}.json'}")

    def done(seed: int, result: dict) -> None:
        results[seed] = result
        save_seed(seeds_dir / f"seed_{seed}.json", config, seed, result)
        say(f"seed {seed} done and saved ({time.time() - start:.0f}s)", flush=True)

    todo = [seed for seed in range(config.seeds) if seed not in results]
    if jobs == 1:
        for seed in todo:
            done(seed, run_seed(config, seed, verbose))
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(run_seed, config, seed, verbose): seed for seed in todo}
            for future in as_completed(futures):
                done(futures[future], future.result())
    per_seed = [results[seed] for seed in range(config.seeds)]
    if config.cued is not None:
        return _write_cued(out, per_seed, config, name, jobs, start, say)
    metrics = aggregate(per_seed, config, name, space, jobs)
    metrics["bystander"] = bystander_study(space, config.n_studies, seed=0)
    metrics["delusion"] = delusion_study(space, config.n_studies, seed=0)
    metrics["seconds"] = round(time.time() - start, 1)
    write_atomic(out / "metrics.json", json.dumps(metrics, indent=2))
    plot_comparison(metrics, out / "causal_strategies.png")
    plot_curve(metrics, out / "bc_training_curve.png")
    plot_experimenting(metrics, out / "experimenting.png")
    write_atomic(out / "report.md", report_markdown(metrics))
    say(f"wrote {out}/report.md, metrics.json and the figures in {metrics['seconds']}s")
    return metrics


def _check_readable(path: Path, result: dict, config: ReportConfig, name: str, space: HypothesisSpace) -> None:
    """Refuse, in one line naming the file, a loaded seed whose result the summary cannot read
    (a field of the wrong type or shape deep inside): summarised alone, before any seed runs,
    instead of failing with a traceback once every other seed has run."""
    try:
        if config.cued is not None:
            from .cued import aggregate_cued, cued_world

            aggregate_cued([result], config, name, cued_world(config), 1)
        else:
            aggregate([result], config, name, space, 1)
    except (TypeError, KeyError, IndexError, ValueError, AttributeError, InvalidArgument) as exc:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        detail = detail if len(detail) <= 120 else detail[:119] + "…"
        raise InvalidArgument(f"--resume: {path} is damaged (its result cannot be summarised: {detail}); "
                              f"{RESUME_FIX}") from None


def _seed_settings(config: ReportConfig) -> dict:
    """What one seed's numbers depend on: every setting but the number of seeds."""
    settings = config.settings()
    del settings["seeds"]
    return settings


def _shown(value) -> str:
    """A setting's value in a resume refusal: JSON, a nested group by that name."""
    if value is UNSET:
        return '"unset"'
    return "a setting group" if isinstance(value, dict) else json.dumps(value)


def save_seed(path: str | Path, config: ReportConfig, seed: int, result: dict) -> Path:
    """One finished seed's result with the seed and the settings that produced it (what
    :func:`load_seed` checks), written atomically."""
    return write_atomic(path, json.dumps({"seed": seed, "settings": _seed_settings(config), "result": result},
                                         indent=1))


#: What a refused seed file's message advises.
RESUME_FIX = "delete it to run that seed again, or start over (--overwrite or a new --out)"


def load_seed(path: str | Path, config: ReportConfig, seed: int) -> dict:
    """A seed saved by an earlier run, for ``resume``: refused in one line, naming the file, when
    it is damaged, was saved by a version that did not record its settings, or was produced by
    different settings than ``config``'s (the settings that differ are named). Returns the
    seed's result."""
    path = Path(path)
    fix = RESUME_FIX
    try:
        saved = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"--resume: cannot read {path}: {getattr(exc, 'strerror', None) or exc}; {fix}") from None
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"--resume: {path} is damaged (not valid JSON: {exc.msg}, line {exc.lineno} "
                              f"column {exc.colno}; a truncated file?); {fix}") from None
    if isinstance(saved, dict) and "settings" not in saved and "final_loss" in saved:
        raise InvalidArgument(f"--resume: {path} was saved by an older version that did not record the "
                              f"settings behind it, so it cannot be checked against this run; {fix}")
    missing = [k for k in ("seed", "settings", "result") if not isinstance(saved, dict) or k not in saved]
    if missing:
        raise InvalidArgument(f"--resume: {path} is damaged (it lacks {', '.join(missing)}); {fix}")
    if not isinstance(saved["settings"], dict):
        raise InvalidArgument(f"--resume: {path} is damaged (its settings are not a record); {fix}")
    differ = [f"{d.name} {_shown(d.saved)} -> {_shown(d.now)}"
              for d in setting_differences(saved["settings"], _seed_settings(config))]
    if differ:
        shown = "; ".join(differ[:6]) + (f"; and {len(differ) - 6} more" if len(differ) > 6 else "")
        raise InvalidArgument(f"--resume: {path} was made with other settings than this run's (saved -> now: "
                              f"{shown}); resume with the settings it was made with, or {fix}")
    if saved["seed"] != seed:
        raise InvalidArgument(f"--resume: {path} holds seed {saved['seed']!r}, not seed {seed}; {fix}")
    result = saved["result"]
    if config.cued is not None:
        from .cued import CUED_SEED_KEYS as keys
    else:
        keys = SEED_KEYS + (("explanations",) if config.explanations else ())
    lacking = [k for k in keys if not isinstance(result, dict) or k not in result]
    if lacking:
        raise InvalidArgument(f"--resume: {path} is damaged (its result lacks {', '.join(lacking)}); {fix}")
    return result


def _write_cued(out: Path, per_seed: list[dict], config: ReportConfig, name: str, jobs: int,
                start: float, say) -> dict:
    """The cued study's metrics.json, report.md and training curve."""
    from .cued import aggregate_cued, cued_markdown, cued_world

    metrics = aggregate_cued(per_seed, config, name, cued_world(config), jobs)
    metrics["seconds"] = round(time.time() - start, 1)
    write_atomic(out / "metrics.json", json.dumps(metrics, indent=2))
    plot_curve(metrics, out / "bc_training_curve.png")
    write_atomic(out / "report.md", cued_markdown(metrics))
    say(f"wrote {out}/report.md, metrics.json and the training curve in {metrics['seconds']}s")
    return metrics


@dataclass(frozen=True)
class Selection:
    """The checkpoint chosen on the validation split: its step and validation reward. Only
    :func:`train_on_validation` makes one, after its last checkpoint."""

    step: int
    validation_reward: float


@dataclass
class TrainedLearner:
    """One seed's behaviour-cloned learner, at the checkpoint chosen on the validation split."""

    model: PassiveLearner
    losses: list[float]
    curve: dict[str, dict[str, float]]  # train/validation -> step -> reward; c_pick -> step -> rate
    selection: Selection
    expert: EpisodeBatch
    expert_tasks: list

    @property
    def chosen_step(self) -> int:
        return self.selection.step


class HeldOutPlays:
    """The one door to the held-out splits: a learner plays ``target`` and ``path`` only once it
    holds a :class:`Selection`, and each of them once."""

    def __init__(self) -> None:
        self.played: list[str] = []

    def admit(self, learner: TrainedLearner, split: str) -> None:
        if split not in HELD_OUT_SPLITS:
            return
        if not isinstance(getattr(learner, "selection", None), Selection):
            raise InvalidArgument(f"{split} played before the checkpoint was chosen on validation")
        if split in self.played:
            raise InvalidArgument(f"{split} was already played once; held-out splits are played once")
        self.played.append(split)


def expert_data(config: ReportConfig, space: HypothesisSpace, seed: int) -> tuple[list[Task], EpisodeBatch]:
    """One seed's demonstrations on ``train`` tasks, from ``config.data``'s expert."""
    rng = np.random.default_rng(seed)
    if config.data == "oracle":
        return oracle_episodes(space, config.n_expert, rng)
    tasks = sample_tasks(space, "train", config.n_expert, rng)
    return tasks, run_episodes(BayesianExperimenter(space, seed), tasks, space, rng)


def train_on_validation(config: ReportConfig, seed: int, verbose: bool = False,
                        expert: tuple[list[Task], EpisodeBatch] | None = None) -> TrainedLearner:
    """Expert data (``expert_data``, or the ``(tasks, batch)`` passed in, so that studies can
    share one seed's demonstrations between cells) and behaviour cloning for one seed; every
    ``checkpoint_every`` steps the agent
    plays ``n_validation`` validation (and train) episodes, and the checkpoint with the best
    validation reward is kept. The ``target`` and ``path`` splits are not touched here. The
    curve also records how often the agent acts on C for goal A on validation (``c_pick``),
    where C is the best node in every episode."""
    import torch

    torch.set_num_threads(1)
    start = time.time()
    say = print if verbose else (lambda *a, **k: None)
    space = HypothesisSpace.shared(config.world)
    expert_tasks, expert = expert_data(config, space, seed) if expert is None else expert
    say(f"seed {seed}: {len(expert)} {config.data} episodes ({time.time() - start:.0f}s)", flush=True)
    val_tasks = sample_tasks(space, "validation", config.n_validation, np.random.default_rng(30_000 + seed))
    curve_tasks = sample_tasks(space, "train", config.n_validation, np.random.default_rng(31_000 + seed))
    play = lambda policy, tasks, rng: run_episodes(policy, tasks, space, rng)  # noqa: E731
    return clone_and_select(config, seed, expert_tasks, expert, play, curve_tasks, val_tasks,
                            ("c_pick", "C picked", c_share), say, start)


def c_share(batch: EpisodeBatch) -> float:
    """The share of a batch's exploitation choices that act on C (on ``validation``, goal A, C
    is the best node in every episode): the identity prior's fingerprint."""
    return float((action_node(batch.actions[:, batch.config.n_explore:]) == C_INDEX).mean())


def clone_and_select(config: ReportConfig, seed: int, expert_tasks: list, expert: EpisodeBatch,
                     play: Callable[[Policy, list, np.random.Generator], EpisodeBatch],
                     curve_tasks: list, val_tasks: list,
                     extra: tuple[str, str, Callable[[EpisodeBatch], float]],
                     say: Callable[..., None], start: float) -> TrainedLearner:
    """Behaviour cloning on ``expert`` with the checkpoint chosen on validation reward only (the
    one model-selection rule of the study, for every world): every ``checkpoint_every`` steps the
    agent ``play``s the train and validation tasks, the curve records both rewards and
    ``extra = (key, label, statistic)`` of the validation batch, and the best validation
    checkpoint is restored. No held-out split is played here."""
    key, label, statistic = extra
    curve: dict[str, dict[str, float]] = {"train": {}, "validation": {}, key: {}}
    best: dict = {"reward": -np.inf, "step": 0, "state": None}

    def checkpoint(step: int, model) -> None:
        for split, tasks in (("train", curve_tasks), ("validation", val_tasks)):
            batch = play(BCPolicy(model, 50_000 + seed), tasks, np.random.default_rng(40_000 + seed))
            curve[split][str(step)] = float(batch.rewards().mean())
        curve[key][str(step)] = statistic(batch)
        if curve["validation"][str(step)] > best["reward"]:
            best.update(reward=curve["validation"][str(step)], step=step,
                        state=copy.deepcopy(model.state_dict()))
        say(f"seed {seed}: BC step {step}/{config.bc.steps}, validation reward "
            f"{curve['validation'][str(step)]:.3f}, {label} {curve[key][str(step)]:.2f} "
            f"({time.time() - start:.0f}s)", flush=True)

    model, losses = train_passive_learner(expert, config.bc, seed, on_checkpoint=checkpoint,
                                          checkpoint_every=config.checkpoint_every)
    model.load_state_dict(best["state"])
    return TrainedLearner(model.eval(), losses, curve, Selection(best["step"], best["reward"]),
                          expert, expert_tasks)


def _run_seed(config: ReportConfig, seed: int, verbose: bool) -> dict:
    """One seed end to end: expert data, behaviour cloning with checkpoints chosen on the
    validation split, then one evaluation of every agent on every split (the held-out ones
    through :class:`HeldOutPlays`), the analyses."""
    start = time.time()
    say = print if verbose else (lambda *a, **k: None)
    space = HypothesisSpace.shared(config.world)
    learner = train_on_validation(config, seed, verbose)
    model, expert = learner.model, learner.expert
    plays = HeldOutPlays()
    rewards: dict[str, dict[str, float]] = {m: {} for m in METHODS}
    rates: dict[str, dict[str, float]] = {m: {} for m in METHODS}
    agreement, behaviour = {}, {}
    cheap = [a for a in REFERENCE_AGENTS if a != "experimenter_info_gain"]
    for split in SPLITS:  # the held-out splits are played here, once
        plays.admit(learner, split)
        tasks, batches = evaluate_split(space, split, config.n_eval, seed, lambda ts: {
            "bc_agent": BCPolicy(model, 60_000 + seed), **reference_policies(space, ts, seed, cheap)})
        few, ig = evaluate_split(space, split, min(config.n_info_gain, config.n_eval), seed,
                                 lambda ts: reference_policies(space, ts, seed, ["experimenter_info_gain"]))
        for method, batch in {**batches, **ig}.items():
            played = few if method == "experimenter_info_gain" else tasks
            rewards[method][split] = float(batch.rewards().mean())
            rates[method][split] = best_action_rate(space, played, batch)
        agreement[split] = strategy_agreement(space, batches["bc_agent"], seed)
        behaviour[split] = experimenting(batches["bc_agent"])
    say(f"seed {seed}: evaluated, target reward {rewards['bc_agent']['target']:.3f} "
        f"({time.time() - start:.0f}s)", flush=True)
    result = {"rewards": rewards, "best_rate": rates, "final_loss": float(np.mean(learner.losses[-50:])),
              "curve": learner.curve, "chosen_step": learner.chosen_step, "agreement": agreement,
              "experimenting": behaviour,
              "expert_experimenting": experimenting(expert)}
    if config.explanations:
        result["explanations"] = explanation_experiment(config, space, expert, learner.expert_tasks, seed)
        say(f"seed {seed}: explanation experiment done ({time.time() - start:.0f}s)", flush=True)
    return result
