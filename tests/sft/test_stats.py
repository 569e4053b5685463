"""The one CI helper: Student-t from scipy.stats, paired differences, regression slopes, bad input."""

import math

import pytest
from scipy import stats

from bayes_agent.errors import InvalidArgument
from neural.sft import report
from neural.sft.stats import ci95, paired_ci95, slope_ci95


def test_ci95_is_the_student_t_interval():
    xs = [1.0, 2.0, 3.0]  # sd 1, n 3: half-width t_{0.975, 2} / sqrt(3), t = 4.3027
    c = ci95(xs)
    assert c["mean"] == 2.0 and c["n"] == 3
    assert c["hi"] - c["mean"] == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    lo, hi = stats.t.interval(0.95, 2, loc=2.0, scale=stats.sem(xs))
    assert (c["lo"], c["hi"]) == pytest.approx((lo, hi))


def test_ci95_beyond_thirty_values_still_uses_t_not_1_96():
    xs = [float(i % 7) for i in range(40)]
    c = ci95(xs)
    half = c["hi"] - c["mean"]
    assert half == pytest.approx(stats.t.ppf(0.975, 39) * stats.sem(xs))
    assert half > 1.96 * stats.sem(xs)  # the normal quantile would be narrower


def test_report_uses_the_same_helper():
    assert report.ci95 is ci95


def test_single_value_and_bad_input():
    assert ci95([5.0]) == {"mean": 5.0, "lo": 5.0, "hi": 5.0, "n": 1}
    for bad in ([], [1.0, float("nan")], [float("inf"), 1.0]):
        with pytest.raises(InvalidArgument):
            ci95(bad)


def test_paired_interval_is_the_interval_of_differences():
    a, b = [1.0, 2.0, 4.0, 3.0], [0.5, 1.8, 3.0, 2.9]
    p = paired_ci95(a, b)
    assert p == ci95([x - y for x, y in zip(a, b)])
    # pairing removes the shared seed effect: far narrower than the unpaired spread
    assert p["hi"] - p["lo"] < ci95(a)["hi"] - ci95(a)["lo"]
    with pytest.raises(InvalidArgument, match="differ in length"):
        paired_ci95([1.0, 2.0], [1.0])


def test_slope_interval_matches_linregress():
    xs = [0.0, 0.0, 0.5, 0.5, 1.0, 1.0]
    ys = [1.0, 1.2, 0.4, 0.6, -0.3, -0.1]
    s = slope_ci95(xs, ys)
    fit = stats.linregress(xs, ys)
    assert s["slope"] == pytest.approx(fit.slope) == pytest.approx(-1.3)
    assert s["hi"] - s["slope"] == pytest.approx(stats.t.ppf(0.975, 4) * fit.stderr)
    assert s["hi"] < 0  # a clear decline excludes zero
    flat = slope_ci95(xs, [1.0, 1.2, 1.1, 0.9, 1.0, 1.2])
    assert flat["lo"] < 0 < flat["hi"]


@pytest.mark.parametrize("xs,ys,match", [
    ([0.0, 1.0], [1.0, 2.0], "at least 3"),
    ([1.0, 1.0, 1.0], [1.0, 2.0, 3.0], "2 distinct"),
    ([0.0, 1.0, 2.0], [1.0, 2.0], "differ in length"),
    ([0.0, 1.0, 2.0], [1.0, float("nan"), 2.0], "non-finite"),
])
def test_slope_bad_input(xs, ys, match):
    with pytest.raises(InvalidArgument, match=match):
        slope_ci95(xs, ys)
