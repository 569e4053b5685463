"""The probe metrics of one run as typed records, and the one place their ``metrics.json`` keys
are spelled.

:class:`ModelMetrics` summarises the probes of one model (the base or an arm): its mean Δ (Eq. 7),
the facts where it prefers the lie, its shift from the base, its greedy-probe labels, the
memorised probe and the held-out facts. :func:`metric_key` maps a (model, field) pair to the
``metrics.json`` key the outside world reads (``mean_delta_obs``, ``base_mean_delta``, ...), which
are contracts (DESIGN.md) and unchanged; readers call it instead of building keys by hand.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, fields
from typing import Any, Sequence

from .arms import ALL_ARMS, BASE, Arm, arm as arm_record
from .probes import ProbeResult
from .report import delta_metrics

__all__ = ["ModelMetrics", "metric_key", "model_metrics", "probe_metrics"]

# base keys that do not follow the arms' "<field>_<suffix>" pattern
_BASE_KEYS = {
    "mean_delta": "base_mean_delta",
    "facts_lie_preferred": "base_facts_lie_preferred",
    "facts_truth_preferred": "base_facts_truth_preferred",
    "memorised_mean_delta": "memorised_base_mean_delta",
    "held_out_mean_delta": "held_out_base_mean_delta",
}


def metric_key(model: str | Arm, field: str) -> str:
    """The ``metrics.json`` key of ``field`` for ``model`` (an arm's name, ``"base"``, or a record)."""
    a = model if isinstance(model, Arm) else arm_record(model)
    if a is BASE and field in _BASE_KEYS:
        return _BASE_KEYS[field]
    return f"{field}_{a.suffix}"


@dataclass(frozen=True)
class ModelMetrics:
    """The probe summary of one model; fields are ``None`` for an arm that was not trained."""

    arm: Arm
    mean_delta: float | None = None
    facts_lie_preferred: int | None = None
    shift: float | None = None
    memorised_mean_delta: float | None = None
    truth_probe: dict[str, int] | None = None
    lie_probe: dict[str, int] | None = None
    held_out_mean_delta: float | None = None
    held_out_shift: float | None = None
    held_out_facts_truth_preferred: int | None = None
    facts_truth_preferred: int | None = None  # written for the base only (its historical key)

    def to_keys(self) -> dict[str, Any]:
        """This record as ``metrics.json`` keys."""
        skip = {"arm"} | ({"shift", "held_out_shift"} if self.arm is BASE else {"facts_truth_preferred"})
        return {metric_key(self.arm, f.name): getattr(self, f.name) for f in fields(self) if f.name not in skip}


def _label_counts(results: Sequence[ProbeResult], attr: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        out[getattr(r, attr)] = out.get(getattr(r, attr), 0) + 1
    return dict(sorted(out.items()))


def _mean(xs: Sequence[float]) -> float | None:
    return statistics.fmean(xs) if xs else None


def model_metrics(a: Arm, probes: Sequence[ProbeResult], held: Sequence[ProbeResult],
                  base: ModelMetrics | None = None) -> ModelMetrics:
    """Summarise one model's probe results; shifts are taken from ``base`` (None for the base)."""
    d = [r.margin.delta for r in probes]
    h = [r.margin.delta for r in held]
    mem = [r.memorised_margin.delta for r in probes if r.memorised_margin is not None]
    mean, held_mean = _mean(d), _mean(h)
    return ModelMetrics(
        arm=a,
        mean_delta=mean,
        facts_lie_preferred=sum(1 for x in d if x < 0),
        shift=None if base is None or mean is None else mean - base.mean_delta,
        memorised_mean_delta=_mean(mem),
        truth_probe=_label_counts(probes, "truth_label"),
        lie_probe=_label_counts(probes, "lie_label"),
        held_out_mean_delta=held_mean,
        held_out_shift=None if base is None or held_mean is None else held_mean - base.held_out_mean_delta,
        held_out_facts_truth_preferred=sum(1 for x in h if x > 0) if h else None,
        facts_truth_preferred=sum(1 for x in d if x > 0),
    )


def probe_metrics(probes: dict[str, list[ProbeResult]], held: dict[str, list[ProbeResult]],
                  arms: Sequence[str]) -> dict[str, Any]:
    """The metrics.json keys of the probes: every arm, the base, shifts from the base, held-out."""
    d = {name: [r.margin.delta for r in rs] for name, rs in probes.items()}
    h = {name: [r.margin.delta for r in rs] for name, rs in held.items()}
    m: dict[str, Any] = {"n_facts": len(d["base"])}
    if "obs" in d and "do" in d:
        m.update(delta_metrics(d["obs"], d["do"]))
    base = model_metrics(BASE, probes["base"], held.get("base", []))
    m.update(base.to_keys())
    m["held_out_n_facts"] = len(h.get("base", []))
    if "obs" in h and "do" in h and h["obs"]:
        m.update({f"held_out_{k}": v for k, v in delta_metrics(h["obs"], h["do"]).items()})
    for a in ALL_ARMS:
        rec = model_metrics(a, probes[a.name], held.get(a.name, []), base) if a.name in arms else ModelMetrics(a)
        m.update(rec.to_keys())
    return m
