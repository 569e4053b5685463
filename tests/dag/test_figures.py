"""The experimenting figure: integer trial ticks, and error bars only where they mean something."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_agent.dag.evaluation import seed_interval

pytest.importorskip("matplotlib")


def _metrics(per_trial_seeds: list[list[float]]) -> dict:
    rows = [seed_interval(v) for v in per_trial_seeds]
    who = {"fresh_positive": rows, "each_node_once": seed_interval([0.5] * len(per_trial_seeds[0]))}
    return {"experimenting": {"expert": who, "bc_agent_train": who, "bc_agent_target": who}}


def _drawn(monkeypatch, m: dict, tmp_path):
    from neural.dag import figures

    kept = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: kept.append(fig))
    figures.plot_experimenting(m, tmp_path / "experimenting.png")
    return kept[0].axes[0]


def _bar_spans(ax) -> list[tuple[float, float]]:
    """(low, high) of every vertical error bar drawn."""
    spans = []
    for c in ax.containers:
        _, _, cols = c.lines
        for col in cols:
            for seg in col.get_segments():
                spans.append((float(seg[:, 1].min()), float(seg[:, 1].max())))
    return spans


def test_two_seeds_give_integer_ticks_and_no_bars(monkeypatch, tmp_path) -> None:
    ax = _drawn(monkeypatch, _metrics([[0.0, 1.0], [0.2, 0.9], [1.0, 0.5], [0.5, 0.5], [0.3, 0.1]]), tmp_path)
    assert list(ax.get_xticks()) == [1, 2, 3, 4, 5]
    assert _bar_spans(ax) == []   # t(1) = 12.7 would have drawn bars through the whole plot
    assert "no interval (fewer than 3 seeds)" in ax.get_title()


def test_enough_seeds_give_clipped_t_intervals(monkeypatch, tmp_path) -> None:
    per_trial = [[0.0, 1.0, 0.9, 0.8], [0.9, 1.0, 1.0, 0.95], [0.4, 0.5, 0.6, 0.5]]
    ax = _drawn(monkeypatch, _metrics(per_trial), tmp_path)
    assert list(ax.get_xticks()) == [1, 2, 3]
    spans = _bar_spans(ax)
    assert len(spans) == 3 * 3 and all(0 <= lo <= hi <= 1 for lo, hi in spans)
    # the middle trial's interval is the t interval itself (not clipped): mean ± t(3) · sem
    from scipy import stats

    x = np.array(per_trial[2])
    half = stats.t.ppf(0.975, 3) * stats.sem(x)
    assert any(abs(lo - (x.mean() - half)) < 1e-9 and abs(hi - (x.mean() + half)) < 1e-9 for lo, hi in spans)
    assert "95% Student-t interval over 4 seeds, clipped to [0, 1]" in ax.get_title()


def test_series_over_different_seed_counts_say_which_get_bars(monkeypatch, tmp_path) -> None:
    three = _metrics([[0.2, 0.5, 0.8]] * 4)["experimenting"]["expert"]
    two = _metrics([[0.2, 0.8]] * 4)["experimenting"]["expert"]
    m = {"experimenting": {"expert": three, "bc_agent_train": two, "bc_agent_target": two}}
    ax = _drawn(monkeypatch, m, tmp_path)
    assert "only on series with ≥ 3 seeds" in ax.get_title() and "over 2/3 seeds" in ax.get_title()
    assert len(_bar_spans(ax)) == 4  # the three-seed series' four trials, no others
