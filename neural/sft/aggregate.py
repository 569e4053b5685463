"""Aggregating seeds (§5 with ``--seeds``): Student-t intervals of every arm's mean Δ and shift
from its own seed's base (so pretraining variance is inside them), paired intervals of the gap
between arms, label counts averaged over seeds, and the paired comparison with another run.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Sequence

from bayes_agent.errors import InvalidArgument

from .arms import ALL_ARMS
from .markdown import counted
from .metrics import metric_key
from .settings import UNSET, read_run_json, setting_differences
from .stats import ci95, paired_ci95

__all__ = ["COMPARED_ARMS", "aggregate", "check_compare_to", "check_comparable", "compare_runs", "compare_settings"]


def aggregate(per_seed: Sequence[dict[str, Any]], held: dict[int, dict[str, list[dict]]] | None = None) -> dict[str, Any]:
    """Across seeds: a Student-t CI of every arm's mean Δ, its shift from the base and the
    held-out means; paired CIs of Δ_do − Δ_obs (arms share seeds); label counts averaged."""
    arms = [a.name for a in ALL_ARMS if per_seed[0].get(metric_key(a, 'mean_delta')) is not None]
    agg: dict[str, Any] = {"seeds": [m["seed"] for m in per_seed], "n_facts": per_seed[0]["n_facts"], "arms": arms}

    def col(key: str) -> list[float]:
        return [m[key] for m in per_seed]

    for key in ["base_mean_delta"] + [metric_key(a, k) for a in arms for k in ("mean_delta", "shift")]:
        agg[key] = ci95(col(key))
    if "obs" in arms and "do" in arms:
        agg["delta_do_minus_obs"] = paired_ci95(col("mean_delta_do"), col("mean_delta_obs"))
        agg["facts_do_beats_obs"] = col("facts_do_beats_obs")
    for a in arms:
        agg[metric_key(a, 'facts_lie_preferred')] = col(metric_key(a, 'facts_lie_preferred'))
        for probe in ("truth_probe", "lie_probe"):
            labels = sorted({k for m in per_seed for k in m[metric_key(a, probe)]})
            agg[metric_key(a, probe) + '_mean'] = {k: statistics.fmean(m[metric_key(a, probe)].get(k, 0) for m in per_seed)
                                                for k in labels}
    agg["base_facts_truth_preferred"] = col("base_facts_truth_preferred")
    if per_seed[0].get("held_out_base_mean_delta") is not None:
        agg["held_out_base_mean_delta"] = ci95(col("held_out_base_mean_delta"))
        for a in arms:
            agg[metric_key(a, 'held_out_mean_delta')] = ci95(col(metric_key(a, 'held_out_mean_delta')))
            agg[metric_key(a, 'held_out_shift')] = ci95(col(metric_key(a, 'held_out_shift')))
        if held:  # per held-out fact: each arm's Δ across seeds
            seeds = list(held)
            topics = [r["topic"] for r in held[seeds[0]]["base"]]
            agg["held_out_per_fact"] = {
                t: {name: ci95([held[s][name][i]["margin"]["delta"] for s in seeds]) for name in ["base", *arms]}
                for i, t in enumerate(topics)
            }
    for key in ("supervised_tokens_obs", "supervised_tokens_do", "agent_content_tokens", "seconds_total",
                "masked_unmasked_step_cost_ratio", "whole_word_share"):
        agg[key] = col(key)
    return agg


COMPARED_ARMS = ("obs", "do")
"""The arms a comparison between runs needs: it reports the change in Δ_obs, Δ_do and their gap."""


def check_comparable(arms: Sequence[str], which: str = "this run") -> None:
    """Refuse a comparison when ``arms`` lacks the standard or the interventional arm."""
    lacking = [a for a in COMPARED_ARMS if a not in arms]
    if lacking:
        raise InvalidArgument(
            f"--compare-to compares Δ_obs, Δ_do and their gap, but {which} has no {' or '.join(lacking)} arm "
            f"(arms {list(arms)}); run both with --arms obs do (or all three)")


def _arms_of(m: dict[str, Any]) -> list[str]:
    return m.get("arms") or [a for a in COMPARED_ARMS if m.get(metric_key(a, "mean_delta")) is not None]


def check_compare_to(other_dir: str | Path, seeds: Sequence[int], arms: Sequence[str]) -> dict[int, dict[str, Any]]:
    """The per-seed metrics of the multi-seed run in ``other_dir``, refusing (one line, before any
    seed runs) a directory without them, one that lacks any of ``seeds``, or arms that cannot be
    compared (this run's ``arms`` or the other's)."""
    check_comparable(arms)
    path = Path(other_dir) / "metrics.json"
    try:
        other = {m["seed"]: m for m in json.loads(path.read_text())["per_seed"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(f"--compare-to {other_dir}: no multi-seed metrics.json there ({type(exc).__name__}: "
                              f"{exc})") from None
    missing = [s for s in seeds if s not in other]
    if missing:
        raise InvalidArgument(f"--compare-to {other_dir} lacks seed(s) {missing}")
    check_comparable(_arms_of(other[seeds[0]]), f"--compare-to {other_dir}")
    return other


_PROBED = (("facts", "probed training fact"), ("held_out", "probed held-out fact"))
_NOT_COMPARED = ("threads",)  # how fast a run went, not what it computed


def compare_settings(other_dir: str | Path, seed: int, mine: dict[str, Any]) -> list[dict[str, Any]] | None:
    """What differs between this run and the multi-seed run in ``other_dir``, from their ``config.json``
    of seed ``seed`` (``mine``: this run's ``preset``, probed ``facts`` and ``held_out``, and fact-bank
    digest ``settings.facts``, as a seed's config.json records them). Refused (one line) when the two
    probed different facts: paired Δs over other facts compare nothing. Every other setting that
    differs comes back as ``{"setting", "other", "this"}`` (the report lists them); ``None`` when the
    other run's config.json is not there (its settings are not recorded)."""
    path = Path(other_dir) / f"seed_{seed}" / "config.json"
    theirs = read_run_json(path, "so the two runs cannot be checked to be comparable", f"--compare-to {other_dir}: ")
    if theirs is None:
        return None
    if not isinstance(theirs, dict):
        raise InvalidArgument(f"--compare-to {other_dir}: {path} holds no run settings")
    for key, what in _PROBED:
        there, here = theirs.get(key) or [], mine.get(key) or []
        if there == here:
            continue
        if len(there) != len(here):
            problem = f"{counted(len(there), what)} there, {len(here)} here"
        else:
            i = next(i for i, (a, b) in enumerate(zip(there, here)) if a != b)
            a, b = there[i].get("topic"), here[i].get("topic")
            problem = (f"{what} {i + 1} is {a!r} there, {b!r} here" if a != b
                       else f"the claims of {what} {i + 1} ({a!r}) differ")
        raise InvalidArgument(f"--compare-to {other_dir} probed other facts than this run ({problem}); compare runs "
                              f"with the same --facts and --probe-facts")

    def compared(config: dict[str, Any]) -> dict[str, Any]:
        preset = {k: v for k, v in (config.get("preset") or {}).items() if k not in _NOT_COMPARED}
        return {**preset, "fact bank": (config.get("settings") or {}).get("facts")}

    def shown(v: Any) -> Any:
        return "(not recorded)" if v is UNSET else v

    return [{"setting": d.name, "other": shown(d.saved), "this": shown(d.now)}
            for d in setting_differences(compared(theirs), compared(mine))]


def compare_runs(per_seed: Sequence[dict[str, Any]], other_dir: str | Path,
                 other: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Paired by seed: this run minus the run in ``other_dir`` for Δ_obs, Δ_do and Δ_do − Δ_obs.
    ``other``: that run's per-seed metrics as :func:`check_compare_to` returned them for these
    seeds and arms (read from ``other_dir`` when not given)."""
    if other is None:
        other = check_compare_to(other_dir, [m["seed"] for m in per_seed], _arms_of(per_seed[0]))

    def gap(m: dict[str, Any]) -> float:
        return m["mean_delta_do"] - m["mean_delta_obs"]

    out: dict[str, Any] = {"dir": str(other_dir)}
    for name, f in (("mean_delta_obs", lambda m: m["mean_delta_obs"]), ("mean_delta_do", lambda m: m["mean_delta_do"]),
                    ("delta_do_minus_obs", gap)):
        out[name] = paired_ci95([f(m) for m in per_seed], [f(other[m["seed"]]) for m in per_seed])
        out[f"{name}_other"] = ci95([f(other[m["seed"]]) for m in per_seed])
    return out

