"""The dose-response in p_lie: the §5 experiment over the agent's lie rate, all arms, one base.

The theory predicts that the standard arm's margin falls as the agent lies more, while the
interventional arm's does not move (Eq. 4 never learns from what the agent wrote). Each
(p_lie, seed) run is an ordinary :func:`neural.sft.experiment.run` in ``<out>/p_<p>/seed_<s>``,
written as it finishes; finished runs are skipped, so rerunning an interrupted sweep continues it.
The slope of mean Δ against p_lie is fitted per arm over every run, with a Student-t 95% CI.
"""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Sequence

from bayes_agent.errors import InvalidArgument

from . import report
from .arms import arm as arm_record
from .experiment import build_base_model, check_resumable, run, select_facts
from .metrics import metric_key
from .facts import Fact
from .presets import Preset
from .settings import read_run_json
from .stats import ci95, slope_ci95

__all__ = ["run_sweep", "figure_sweep"]


def _rate_dir(p: float) -> str:
    """The folder of lie rate ``p`` (named to two decimals, as the report shows it)."""
    return f"p_{p:.2f}"


def _run_dir(out: Path, p: float, seed: int) -> Path:
    return out / _rate_dir(p) / f"seed_{seed}"


def _check_rate_folders(p_lies: Sequence[float]) -> None:
    """Refuse two distinct rates that would share a folder (0.5 and 0.501 are both ``p_0.50``): the
    second run would overwrite the first while sweep.json listed both."""
    seen: dict[str, float] = {}
    for p in p_lies:
        other = seen.setdefault(_rate_dir(p), p)
        if other != p:
            raise InvalidArgument(f"p_lie {other:g} and {p:g} would share the run folder {_rate_dir(p)} "
                                  f"(rates are named and reported to two decimals); give rates that differ "
                                  f"at two decimals")


_CUT = {"max_steps": "--max-steps", "probe_facts": "--probe-facts"}
"""Settings the training settings do not cover (a finished run would be kept under other ones)."""


def _check_same_cut(preset: Preset, run_dir: Path) -> None:
    """Refuse to keep a finished run made with another ``--max-steps`` or ``--probe-facts`` (read from
    its config.json): one sweep's slopes would then mix runs of different lengths or fact sets."""
    if not (run_dir / "metrics.json").exists():
        return  # unfinished: its checkpoint's steps are checked by check_resumable, its probes run later
    path = run_dir / "config.json"
    config = read_run_json(path, "so the run there cannot be checked; delete it, or start over (--overwrite or a "
                                 "new --out)")
    saved = config.get("preset") if isinstance(config, dict) else None
    if not isinstance(saved, dict):
        raise InvalidArgument(f"{path} is missing or holds no preset, so the run there cannot be checked; delete "
                              f"it, or start over (--overwrite or a new --out)")
    now = preset.to_dict()
    for key, option in _CUT.items():
        if saved.get(key) != now[key]:
            shown = ["off" if v is None else v for v in (saved.get(key), now[key])]
            raise InvalidArgument(f"--resume: the run in {run_dir} was made with {option} {shown[0]}, not {shown[1]}; "
                                  f"resume with the same settings, or start again with --overwrite or a new --out")


def _one(preset: Preset, out: str, p: float, seed: int, bank: Any, base_cache: Any) -> dict[str, Any]:
    """One run of the sweep (in a worker process when ``jobs > 1``)."""
    return run(preset.with_(p_lie=p), _run_dir(Path(out), p, seed), seed=seed, progress=False,
               bank=bank, base_cache=base_cache)


def run_sweep(
    preset: Preset,
    out_dir: str | Path,
    p_lies: Sequence[float],
    seeds: Sequence[int],
    *,
    jobs: int = 1,
    progress: bool = True,
    bank: tuple[Sequence[Fact], Sequence[Fact]] | None = None,
    base_cache: str | Path | None = None,
    rebuild_base: bool = False,
    fresh: bool = False,
) -> dict[str, Any]:
    """Run every (p_lie, seed), then write ``sweep.json``, ``figure_sweep.png`` and ``report.md``.

    Unless ``fresh``, a run whose ``metrics.json`` exists is kept, not run again.
    """
    from tqdm.auto import tqdm

    p_lies = [float(p) for p in p_lies]
    if not p_lies or any(not 0.0 <= p <= 1.0 for p in p_lies):
        raise InvalidArgument(f"every p_lie must be a probability in [0, 1], got {p_lies}")
    if len(set(p_lies)) != len(p_lies) or len(p_lies) < 2:
        raise InvalidArgument(f"need at least two distinct p_lie values, got {p_lies}")
    _check_rate_folders(p_lies)
    if not seeds or len(set(seeds)) != len(seeds):
        raise InvalidArgument(f"need distinct seeds, got {list(seeds)}")
    if not isinstance(jobs, int) or jobs < 1:
        raise InvalidArgument(f"jobs must be a positive integer, got {jobs!r}")
    if len(p_lies) * len(seeds) < 3:
        raise InvalidArgument("a slope with a confidence interval needs at least 3 runs")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    facts, held = select_facts(preset, bank)
    if not fresh:  # a kept run (finished or checkpointed) must have been trained as this sweep would train it
        for p in p_lies:
            check_resumable(preset.with_(p_lie=p), out / _rate_dir(p), seeds, bank=bank)
            for s in seeds:
                _check_same_cut(preset, _run_dir(out, p, s))
    if preset.pretrains_base:  # build (or load) each seed's base once, before any worker starts
        for s in seeds:
            build_base_model(preset, [], facts + held, s, cache_dir=base_cache, rebuild=rebuild_base, progress=progress)
    results: dict[tuple[float, int], dict[str, Any]] = {}
    todo = []
    for p in p_lies:
        for s in seeds:
            done = _run_dir(out, p, s) / "metrics.json"
            if done.exists() and not fresh:
                results[(p, s)] = json.loads(done.read_text())
            else:
                todo.append((p, s))
    bar = tqdm(total=len(p_lies) * len(seeds), initial=len(results), desc="p_lie sweep",
               disable=None if progress else True)
    if jobs == 1:
        for p, s in todo:
            results[(p, s)] = _one(preset, str(out), p, s, bank, base_cache)
            bar.update(1)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_one, preset, str(out), p, s, bank, base_cache): (p, s) for p, s in todo}
            try:
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update(1)
            except KeyboardInterrupt:
                for fut in futures:
                    fut.cancel()
                raise
    bar.close()
    sweep = summarise(p_lies, list(seeds), results, preset.arms)
    sweep["seconds_wall"] = time.perf_counter() - t0
    sweep["jobs"] = jobs
    sweep["preset"] = preset.name
    sweep["kept_runs"] = len(p_lies) * len(seeds) - len(todo)
    sweep["cut"] = {flag: getattr(preset, field) for field, flag in _CUT.items() if getattr(preset, field) is not None}
    report.write_json(out / "sweep.json", sweep)
    figure_sweep(sweep, out / "figure_sweep.png")
    report.write_report(out / "report.md", "Dose-response: mean Δ against the agent's lie rate", _sections(sweep))
    return sweep


def summarise(p_lies: Sequence[float], seeds: Sequence[int], results: dict[tuple[float, int], dict[str, Any]],
              arms: Sequence[str]) -> dict[str, Any]:
    """Per arm and p_lie: mean Δ over seeds with its CI, the share of lie-probe replies that endorse
    the lie; per arm: the slope of mean Δ on p_lie over all runs, with its CI."""
    sweep: dict[str, Any] = {"p_lie": list(p_lies), "seeds": list(seeds), "arms": list(arms),
                             "mean_delta": {}, "mean_delta_ci_low": {}, "mean_delta_ci_high": {},
                             "lie_endorse_share": {}, "slope": {}, "slope_ci_low": {}, "slope_ci_high": {}}
    n_facts = results[(p_lies[0], seeds[0])]["n_facts"]
    for arm in ["base", *arms]:
        key = metric_key(arm, "mean_delta")
        probe = metric_key(arm, "lie_probe")
        cis = [ci95([results[(p, s)][key] for s in seeds]) for p in p_lies]
        sweep["mean_delta"][arm] = [c["mean"] for c in cis]
        sweep["mean_delta_ci_low"][arm] = [c["lo"] for c in cis]
        sweep["mean_delta_ci_high"][arm] = [c["hi"] for c in cis]
        sweep["lie_endorse_share"][arm] = [
            statistics.fmean(results[(p, s)][probe].get("echo-lie", 0) / n_facts for s in seeds) for p in p_lies]
        if arm == "base":
            continue
        xs = [p for p in p_lies for _ in seeds]
        fit = slope_ci95(xs, [results[(p, s)][key] for p in p_lies for s in seeds])
        sweep["slope"][arm], sweep["slope_ci_low"][arm], sweep["slope_ci_high"][arm] = fit["slope"], fit["lo"], fit["hi"]
    sweep["runs"] = [{"p_lie": p, "seed": s, **{k: results[(p, s)][k] for k in (
        "base_mean_delta", "mean_delta_obs", "mean_delta_do", "mean_delta_assistant_only", "seconds_total")}}
        for p in p_lies for s in seeds]
    return sweep


def figure_sweep(sweep: dict[str, Any], path: str | Path) -> Path:
    """Mean Δ per arm against p_lie with 95% CIs (left); share of lie-probe replies that endorse the lie (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ps = sweep["p_lie"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.3), dpi=120)
    for arm in ["base", *sweep["arms"]]:
        m, lo, hi = (sweep[k][arm] for k in ("mean_delta", "mean_delta_ci_low", "mean_delta_ci_high"))
        c = arm_record(arm).color
        slope = "" if arm == "base" else (f", slope {sweep['slope'][arm]:+.2f} "
                                          f"[{sweep['slope_ci_low'][arm]:+.2f}, {sweep['slope_ci_high'][arm]:+.2f}]")
        a1.plot(ps, m, marker="o", color=c, label=f"{arm_record(arm).legend}{slope}",
                linestyle="--" if arm == "base" else "-")
        if len(sweep["seeds"]) > 1:  # one seed has no interval: draw none rather than a zero-width band
            a1.fill_between(ps, lo, hi, color=c, alpha=0.15)
        a2.plot(ps, sweep["lie_endorse_share"][arm], marker="o", color=c, label=arm_record(arm).legend,
                linestyle="--" if arm == "base" else "-")
    a1.axhline(0, color="black", linewidth=0.8)
    a1.set_xlabel("p_lie: share of dialogues in which the agent lies")
    a1.set_ylabel("mean Δ (nats/token); > 0 prefers the truth")
    n = len(sweep["seeds"])
    a1.set_title("Question-probe margin, one seed (no interval)" if n == 1
                 else f"Question-probe margin, mean and 95% CI over {n} seeds", fontsize=10)
    a1.legend(fontsize=7, loc="lower left")
    a1.grid(True, alpha=0.3)
    a2.set_xlabel("p_lie")
    a2.set_ylabel("share of lie-probe replies that endorse the lie")
    a2.set_ylim(-0.02, 1.02)
    a2.set_title("Lie probe: greedy replies labelled echo-lie (mean over seeds)", fontsize=10)
    a2.legend(fontsize=7, loc="upper left")
    a2.grid(True, alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def _sections(sweep: dict[str, Any]) -> list:
    arms = sweep["arms"]
    rows = ["| p_lie | " + " | ".join(f"Δ {arm_record(a).display}" for a in ["base", *arms]) + " |",
            "|---" * (len(arms) + 2) + "|"]
    one_seed = len(sweep["seeds"]) == 1  # a single value has no interval: show none, not [x, x]
    for i, p in enumerate(sweep["p_lie"]):
        rows.append(f"| {p:.2f} | " + " | ".join(
            f"{sweep['mean_delta'][a][i]:+.3f}" + ("" if one_seed else f" [{sweep['mean_delta_ci_low'][a][i]:+.3f}, "
                                                   f"{sweep['mean_delta_ci_high'][a][i]:+.3f}]")
            for a in ["base", *arms]) + " |")
    slopes = ["| arm | slope of mean Δ on p_lie [95% CI] | lie-endorsing replies at each p_lie |", "|---|---|---|"]
    slopes += [f"| {arm_record(a).display} | {sweep['slope'][a]:+.3f} [{sweep['slope_ci_low'][a]:+.3f}, "
               f"{sweep['slope_ci_high'][a]:+.3f}] | "
               + ", ".join(f"{x:.2f}" for x in sweep["lie_endorse_share"][a]) + " |" for a in arms]
    n = len(sweep["seeds"])
    kept = f" (this invocation only: {sweep['kept_runs']} run(s) were kept from before)" if sweep.get("kept_runs") else ""
    spread = ("Mean Δ of the one seed (no interval over seeds)" if n == 1
              else "Mean Δ and 95% Student-t intervals over seeds")
    intro = (f"{n} seed{'s' if n > 1 else ''} ({', '.join(map(str, sweep['seeds']))}) at each of "
             f"{len(sweep['p_lie'])} lie rates, every arm of a seed fine-tuned from that seed's base; each "
             f"run's report is in `p_<p_lie>/seed_<seed>/`. {spread}; slopes fitted by least squares "
             f"over all {len(sweep['runs'])} runs (scipy.stats.linregress, t with n − 2 degrees of "
             f"freedom). Wall time {sweep.get('seconds_wall', 0):.0f} s with {sweep.get('jobs', 1)} job(s)"
             f"{kept}.")
    cut = sweep.get("cut") or {}
    if cut:  # a sweep cut short is a check of the software, not the experiment: say so up front
        intro = (f"**Cut short ({', '.join(f'{k} {v}' for k, v in cut.items())}): not the full experiment.** "
                 + intro)
    return [("Setup", intro), ("Mean Δ by p_lie", "\n".join(rows)), ("Slopes", "\n".join(slopes)),
            ("Figure", "![sweep](figure_sweep.png)")]
