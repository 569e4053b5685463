"""Playing every strategy on the same episodes, and the statistics the study reports.

Within a seed every agent plays the same tasks with the same world noise (the noise stream does
not depend on the actions), so differences between agents are paired by seed. Intervals are 95%
Student-t intervals over seeds (``scipy.stats``). :func:`run_baselines` is the fast, no-learning
configuration: it shows the world separates the strategies before any learner is trained.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import stats

from .baselines import BASELINES, HeuristicPolicy, OraclePolicy, RandomPolicy
from .experimenter import BayesianExperimenter, ObservationOnlyPolicy
from .studies import bystander_study, delusion_study
from .world import SPLITS, DagConfig, EpisodeBatch, HypothesisSpace, Policy, run_episodes, sample_tasks
from ..commands._common import prepare_out_dir
from .._checks import expect_count
from ..errors import InvalidArgument
from ..seeds import check_seed

__all__ = [
    "REFERENCE_AGENTS",
    "STRATEGIES",
    "baselines_markdown",
    "best_action_rate",
    "evaluate_split",
    "paired_difference",
    "reference_policies",
    "results_dir",
    "run_baselines",
    "seed_interval",
    "strategy_agreement",
    "studies_markdown",
]

#: the non-learned agents, in report order
REFERENCE_AGENTS: tuple[str, ...] = ("experimenter", "experimenter_info_gain", "observation_only",
                                     *BASELINES, "random", "oracle")
#: the strategies a learner's choices are compared with, trial by trial
STRATEGIES: tuple[str, ...] = ("experimenter", "observation_only", *BASELINES)


def reference_policies(space: HypothesisSpace, tasks: Sequence, seed: int,
                       agents: Sequence[str] = REFERENCE_AGENTS) -> dict[str, Policy]:
    """Fresh, seeded policies for the named reference agents."""
    make: dict[str, Callable[[], Policy]] = {
        "experimenter": lambda: BayesianExperimenter(space, 100 + seed),
        "experimenter_info_gain": lambda: BayesianExperimenter(space, 100 + seed, explore="info_gain"),
        "observation_only": lambda: ObservationOnlyPolicy(space, 100 + seed),
        **{b: (lambda b=b: HeuristicPolicy(b, 100 + seed)) for b in BASELINES},
        "random": lambda: RandomPolicy(100 + seed),
        "oracle": lambda: OraclePolicy(space, tasks, 100 + seed),
    }
    unknown = [a for a in agents if a not in make]
    if unknown:
        raise InvalidArgument(f"unknown agents {unknown}; choose from {sorted(make)}")
    return {a: make[a]() for a in agents}


def evaluate_split(space: HypothesisSpace, split: str, n_episodes: int, seed: int,
                   policies: Mapping[str, Policy] | Callable[[list], Mapping[str, Policy]]
                   ) -> tuple[list, dict[str, EpisodeBatch]]:
    """Every policy plays the same ``n_episodes`` tasks of ``split`` with the same world noise.
    ``policies`` may be a function of the tasks (the oracle needs them). Returns the tasks and
    each policy's played batch."""
    tasks = sample_tasks(space, split, n_episodes, np.random.default_rng(10_000 + check_seed(seed)))
    chosen = policies(tasks) if callable(policies) else policies
    return tasks, {name: run_episodes(p, tasks, space, np.random.default_rng(20_000 + seed))
                   for name, p in chosen.items()}


def best_action_rate(space: HypothesisSpace, tasks: Sequence, batch: EpisodeBatch) -> float:
    """Share of exploitation choices that are the true graph's best action."""
    best = np.array([space.best_actions([k.graph], k.goal)[0] for k in tasks])
    return float((batch.actions[:, batch.config.n_explore:] == best[:, None]).mean())


def seed_interval(values: Sequence[float]) -> dict:
    """Mean, 95% Student-t half-width over seeds (None with one seed) and the per-seed values."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0 or not np.isfinite(x).all():
        raise InvalidArgument(f"a confidence interval needs finite values, got {list(values)!r}")
    half = None
    if len(x) > 1:
        half = float(stats.t.ppf(0.975, len(x) - 1) * stats.sem(x)) if x.std() > 0 else 0.0
    return {"mean": float(x.mean()), "ci95": half, "per_seed": [float(v) for v in x]}


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict:
    """``a - b`` paired by seed, with its interval and a verdict: above, below, tied (the interval
    covers 0) or undetermined (one seed)."""
    if len(a) != len(b):
        raise InvalidArgument(f"paired values differ in length ({len(a)} vs {len(b)})")
    d = seed_interval([x - y for x, y in zip(a, b)])
    if d["ci95"] is None:
        d["verdict"] = "undetermined"
    else:
        lo, hi = d["mean"] - d["ci95"], d["mean"] + d["ci95"]
        d["verdict"] = "above" if lo > 0 else "below" if hi < 0 else "tied"
    return d


def strategy_agreement(space: HypothesisSpace, batch: EpisodeBatch, seed: int = 0,
                       strategies: Sequence[str] = STRATEGIES,
                       policies: Mapping[str, Policy] | None = None) -> dict[str, dict[str, float]]:
    """How often an agent's exploitation choices match each strategy, on the trials where the
    strategies disagree (the talk's analysis).

    Each strategy is asked what it would have chosen given the agent's own history at every
    exploitation trial. For each baseline B: on the trials where the experimenter and B choose
    differently, the share on which the agent chose as the experimenter did, the share on which
    it chose as B did, and the number of such trials. ``policies`` (one per strategy, the
    experimenter among them) replaces the reference agents, e.g. with the cued world's."""
    if policies is None:
        policies = reference_policies(space, [], seed, strategies)
    strategies = list(policies)
    e = batch.config.n_explore
    choices = {name: np.stack([p.act(batch, t) for t in range(e, batch.config.n_trials)], axis=1)
               for name, p in policies.items()}
    own = batch.actions[:, e:]
    out: dict[str, dict[str, float]] = {}
    for name in strategies:
        if name == "experimenter":
            continue
        differ = choices["experimenter"] != choices[name]
        n = int(differ.sum())
        out[name] = {
            "trials": float(n),
            "matches_experimenter": float((own == choices["experimenter"])[differ].mean()) if n else math.nan,
            "matches_strategy": float((own == choices[name])[differ].mean()) if n else math.nan,
        }
    out["all_trials"] = {name: float((own == c).mean()) for name, c in choices.items()}
    return out


def results_dir(out: str | os.PathLike) -> Path:
    """Create the folder a study writes into (and its parents), or say in one line why it cannot
    be: a library caller gets the CLI's checks and messages (``prepare_out_dir``: not a file, not
    a dangling link, writable, no link inside that results would be written through), not a raw
    ``FileExistsError``. Earlier results there are replaced, as with ``--overwrite``."""
    if not isinstance(out, (str, os.PathLike)) or not str(out):
        raise InvalidArgument(f"out must be a folder path, got {out!r}")
    return prepare_out_dir(out, overwrite=True, option="out")


def run_baselines(out: str | Path, seeds: int = 4, n_eval: int = 200, n_info_gain: int = 50,
                  world: DagConfig | None = None, verbose: bool = True, n_studies: int = 100) -> dict:
    """The no-learning configuration: every reference agent on ``n_eval`` episodes of each
    evaluation split per seed (the information-gain experimenter on ``n_info_gain`` of them: it
    costs ~0.2 s an episode; the experimenter also plays those, so that the two are compared on
    the same episodes), the bystander and delusion studies; writes ``metrics.json``
    (``metrics[split]["reward"][agent]["mean"]``) and ``report.md`` to ``out``. Every argument
    is checked, and the world's splits too, before ``out`` is created."""
    seeds, n_eval, n_info_gain, n_studies = (expect_count(v, name) for name, v in (
        ("seeds", seeds), ("n_eval", n_eval), ("n_info_gain", n_info_gain), ("n_studies", n_studies)))
    start = time.time()
    say = print if verbose else (lambda *a, **k: None)
    space = HypothesisSpace.shared(world)
    splits = [s for s in SPLITS if s != "train"]
    space.require_splits(splits)
    out = results_dir(out)
    n_few = min(n_info_gain, n_eval)
    rewards = {s: {a: [] for a in REFERENCE_AGENTS} for s in splits}
    rates = {s: {a: [] for a in REFERENCE_AGENTS} for s in splits}
    on_few = {s: [] for s in splits}  # the experimenter on the information-gain agent's episodes
    for seed in range(seeds):
        for split in splits:
            cheap = [a for a in REFERENCE_AGENTS if a != "experimenter_info_gain"]
            tasks, batches = evaluate_split(space, split, n_eval, seed,
                                            lambda ts: reference_policies(space, ts, seed, cheap))
            few, ig = evaluate_split(space, split, n_few, seed, lambda ts: reference_policies(
                space, ts, seed, ["experimenter", "experimenter_info_gain"]))
            on_few[split].append(float(ig.pop("experimenter").rewards().mean()))
            for a, b in {**batches, **ig}.items():
                ts = few if a == "experimenter_info_gain" else tasks
                rewards[split][a].append(float(b.rewards().mean()))
                rates[split][a].append(best_action_rate(space, ts, b))
        say(f"seed {seed}: target experimenter {rewards['target']['experimenter'][-1]:.3f}, "
            f"observation-only {rewards['target']['observation_only'][-1]:.3f} "
            f"({time.time() - start:.0f}s)", flush=True)
    metrics: dict = {
        "config": "baselines",
        "settings": {"seeds": seeds, "n_eval": n_eval, "n_info_gain": n_info_gain, "n_studies": n_studies,
                     "world": space.config.__dict__.copy()},
        "n_hypotheses": len(space),
        "split_sizes": {s: int(len(space.split_members(s))) for s in SPLITS},
    }
    for split in splits:
        metrics[split] = {
            "reward": {a: seed_interval(v) for a, v in rewards[split].items()},
            "best_action_rate": {a: seed_interval(v) for a, v in rates[split].items()},
            # paired on the same episodes: the information-gain agent's n_few against the
            # experimenter's own play of those n_few, every other agent on all n_eval
            "experimenter_minus": {a: paired_difference(on_few[split] if a == "experimenter_info_gain"
                                                        else rewards[split]["experimenter"], v)
                                   for a, v in rewards[split].items() if a != "experimenter"},
            "experimenter_on_info_gain_episodes": seed_interval(on_few[split]),
        }
    metrics["bystander"] = bystander_study(space, n_studies, seed=0)
    metrics["delusion"] = delusion_study(space, n_studies, seed=0)
    metrics["seconds"] = round(time.time() - start, 1)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "report.md").write_text(baselines_markdown(metrics))
    say(f"wrote {out}/metrics.json and report.md in {metrics['seconds']}s")
    return metrics


def _cell(d: dict, signed: bool = False) -> str:
    ci = "n/a" if d["ci95"] is None else f"{d['ci95']:.3f}"
    return f"{d['mean']:+.3f} ± {ci}" if signed else f"{d['mean']:.3f} ± {ci}"


def baselines_markdown(m: dict) -> str:
    """The reference agents' table, the studies, as markdown."""
    splits = [s for s in SPLITS if s in m]
    lines = [f"# Causal-DAG world: reference agents ({m['config']} config)", "",
             f"{m['n_hypotheses']} hypotheses; split sizes {m['split_sizes']}; world {m['settings']['world']}; "
             f"{m['settings']['seeds']} seeds × {m['settings']['n_eval']} episodes per split.", "",
             "Mean exploitation reward (goal value after the intervention) ± 95% CI over seeds:", "",
             "| agent | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for a in m[splits[0]]["reward"]:
        lines.append(f"| {a} | " + " | ".join(_cell(m[s]["reward"][a]) for s in splits) + " |")
    n_few = min(m["settings"]["n_info_gain"], m["settings"]["n_eval"])
    lines += ["", f"Experimenter minus each agent, paired by seed on the same episodes (against "
              f"experimenter_info_gain: on its {n_few} episodes per split, which the experimenter "
              f"also plays):", "",
              "| experimenter minus | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for a in m[splits[0]]["experimenter_minus"]:
        lines.append(f"| {a} | " + " | ".join(
            f"{_cell(m[s]['experimenter_minus'][a], True)} ({m[s]['experimenter_minus'][a]['verdict']})"
            for s in splits) + " |")
    lines += studies_markdown(m)
    return "\n".join(lines) + "\n"


def studies_markdown(m: dict) -> list[str]:
    """The bystander and delusion tables."""
    b, d = m["bystander"], m["delusion"]
    lines = ["", f"Bystander study ({int(b['n_episodes'])} target episodes, {int(b['n_exploit'])} "
             f"exploitation choices read without values; prior mass on the true graph "
             f"{b['prior_true_graph_mass']:.2e}):", "",
             "| record read as | posterior mass on true graph | next choice is best |", "|---|---|---|"]
    for case in ("teacher_world_gated", "teacher_agent_gated", "self_agent_gated", "self_scored_obs"):
        lines.append(f"| {case} | {b[case + '_true_graph_mass']:.4f} | {b[case + '_best_action_rate']:.3f} |")
    s = d["settings"]
    lines += ["", f"Self-delusion check ({int(s['n_episodes'])} target episodes, {int(s['n_explore'])} "
              f"experiment(s), {int(s['n_exploit'])} exploitation trials):", "",
              "| own choices | reward | best-action rate | confidence | calibration gap | mass on true graph |",
              "|---|---|---|---|---|---|"]
    for mode, label in (("do", "interventions (do)"), ("obs", "evidence (obs, deluded)")):
        r = d[mode]
        lines.append(f"| {label} | {r['reward']:.3f} | {r['best_action_rate']:.3f} | {r['confidence']:.3f} "
                     f"| {r['calibration_gap']:+.3f} | {r['true_graph_mass']:.3f} |")
    return lines
