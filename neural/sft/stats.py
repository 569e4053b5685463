"""The one place confidence intervals come from: Student-t intervals from ``scipy.stats``.

Every report of the §5 experiment (seeds, held-out facts, the p_lie sweep) calls these, so a
mean, a paired difference and a regression slope all carry the same kind of 95% interval.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from bayes_agent.errors import InvalidArgument

__all__ = ["ci95", "paired_ci95", "slope_ci95"]


def _finite(values: Sequence[float], what: str) -> list[float]:
    xs = [float(v) for v in values]
    if not xs:
        raise InvalidArgument(f"cannot compute a confidence interval of no {what}")
    bad = [x for x in xs if not math.isfinite(x)]
    if bad:
        raise InvalidArgument(f"non-finite {what} {bad[:3]} among {len(xs)} values")
    return xs


def ci95(values: Sequence[float], level: float = 0.95) -> dict[str, float]:
    """Mean and Student-t interval of ``values`` (``n - 1`` degrees of freedom); n = 1 gives the point."""
    from scipy import stats

    xs = _finite(values, "values")
    mean = math.fsum(xs) / len(xs)
    if len(xs) == 1:
        return {"mean": mean, "lo": mean, "hi": mean, "n": 1}
    sem = stats.sem(xs)
    half = float(stats.t.ppf(0.5 + level / 2, len(xs) - 1) * sem)
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": len(xs)}


def paired_ci95(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> dict[str, float]:
    """Interval of the mean of ``a[i] - b[i]``: arms that share seeds are compared seed by seed."""
    xa, xb = _finite(a, "values"), _finite(b, "values")
    if len(xa) != len(xb):
        raise InvalidArgument(f"paired samples differ in length: {len(xa)} and {len(xb)}")
    return ci95([x - y for x, y in zip(xa, xb)], level)


def slope_ci95(x: Sequence[float], y: Sequence[float], level: float = 0.95) -> dict[str, Any]:
    """Least-squares slope of ``y`` on ``x`` with a Student-t interval (``n - 2`` degrees of freedom)."""
    from scipy import stats

    xs, ys = _finite(x, "x values"), _finite(y, "y values")
    if len(xs) != len(ys):
        raise InvalidArgument(f"x and y differ in length: {len(xs)} and {len(ys)}")
    if len(xs) < 3 or len(set(xs)) < 2:
        raise InvalidArgument(f"a slope interval needs at least 3 points and 2 distinct x, got {len(xs)}")
    fit = stats.linregress(xs, ys)
    half = float(stats.t.ppf(0.5 + level / 2, len(xs) - 2) * fit.stderr)
    return {"slope": float(fit.slope), "lo": float(fit.slope) - half, "hi": float(fit.slope) + half,
            "intercept": float(fit.intercept), "n": len(xs)}
