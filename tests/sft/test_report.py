"""Report pieces: Eq. 7 summary, confidence intervals, moving average, figures, tables, report.md."""

import pytest

from bayes_agent.errors import InvalidArgument
from neural.sft.report import (
    delta_metrics,
    figure_delta,
    figure_loss,
    moving_average,
    probe_table,
    write_json,
    write_report,
)


def test_delta_metrics_counts():
    m = delta_metrics([-0.5, 0.1, 0.3], [1.2, -0.1, 0.3])
    assert m["n_facts"] == 3
    assert m["mean_delta_obs"] == pytest.approx(-0.1 / 3)
    assert m["mean_delta_do"] == pytest.approx(1.4 / 3)
    assert m["facts_lie_preferred_obs"] == 1 and m["facts_lie_preferred_do"] == 1
    assert m["facts_do_beats_obs"] == 1  # ties do not count
    with pytest.raises(InvalidArgument):
        delta_metrics([1.0], [1.0, 2.0])


def test_moving_average_is_centred():
    xs = [float(i) for i in range(200)]
    ma = moving_average(xs, 51)
    assert ma[100] == pytest.approx(100.0)  # a centred window leaves a line's interior unchanged
    assert moving_average([2.0] * 7, 50) == [2.0] * 7
    with pytest.raises(InvalidArgument):
        moving_average(xs, 0)


def test_figures_are_pngs(tmp_path):
    p1 = figure_loss({"obs": [2.0, None, 1.0, 0.5] * 30, "do": [2.5, 1.5, 1.0, 0.8] * 30}, tmp_path / "f1.png")
    p2 = figure_delta(["a", "b"], {"base": [0.5, 0.4], "obs": [-0.1, 0.2], "do": [1.0, 1.5], "ao": [0.0, 0.1]},
                      tmp_path / "f2.png")
    for p in (p1, p2):
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_probe_table_escapes_cells():
    t = probe_table([("A | B.", "x\ny", "agree", "", "other")], "user states (truth)")
    lines = t.splitlines()
    assert len(lines) == 3 and lines[0].count("|") == 6
    assert "A \\| B." in lines[2] and "x y" in lines[2] and "(empty)" in lines[2]


def test_probe_table_has_one_column_pair_per_model():
    t = probe_table([("S.", "r0", "agree", "r1", "other", "r2", "echo-lie")], "said", ["base", "obs", "do"])
    header, rule, row = t.splitlines()
    assert header.count("|") == rule.count("|") == row.count("|") == 8
    assert "base agent reply" in header and row.endswith("r2 | echo-lie |")
    with pytest.raises(InvalidArgument, match="needs 6 cells"):
        probe_table([("S.", "r0", "agree")], "said", ["base", "obs", "do"])


def test_report_sections_in_order(tmp_path):
    p = write_report(tmp_path / "report.md", "T", [("One", "first"), ("Two", "second\n")])
    text = p.read_text()
    assert text.startswith("# T")
    assert text.index("## One") < text.index("first") < text.index("## Two") < text.index("second")


def test_write_json_is_atomic(tmp_path, monkeypatch):
    """An interruption before the file is complete leaves no metrics.json (a resume reads it as done)."""
    target = tmp_path / "metrics.json"
    write_json(target, {"a": 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr("bayes_agent.commands._common.os.replace", interrupted)
    fresh = tmp_path / "seed_1" / "metrics.json"
    fresh.parent.mkdir()
    with pytest.raises(KeyboardInterrupt):
        write_json(fresh, {"b": 2})
    assert not fresh.exists()


def _sweep(seeds):
    """A sweep summary as :func:`neural.sft.sweep.summarise` writes it, over two lie rates."""
    arms = ["obs", "do"]
    per_arm = lambda v: {a: list(v) for a in ["base", *arms]}  # noqa: E731
    return {"p_lie": [0.0, 1.0], "seeds": list(seeds), "arms": arms, "mean_delta": per_arm([0.5, -0.5]),
            "mean_delta_ci_low": per_arm([0.4, -0.6]), "mean_delta_ci_high": per_arm([0.6, -0.4]),
            "lie_endorse_share": per_arm([0.0, 0.5]), "slope": {a: -1.0 for a in arms},
            "slope_ci_low": {a: -1.2 for a in arms}, "slope_ci_high": {a: -0.8 for a in arms},
            "runs": [{}] * (2 * len(seeds)), "seconds_wall": 1.0, "jobs": 1}


def test_sweep_report_shows_no_interval_for_one_seed(tmp_path, monkeypatch):
    """One seed has no spread over seeds: its means are shown alone (never as "[x, x]") and the
    figure draws no band; two seeds get their intervals in both."""
    import matplotlib.axes

    from neural.sft.sweep import _sections, figure_sweep

    def mean_rows(sweep):
        table = dict(_sections(sweep))["Mean Δ by p_lie"]
        return table.splitlines()[2:]

    assert all("[" not in row for row in mean_rows(_sweep([0])))
    assert "no interval" in dict(_sections(_sweep([0])))["Setup"]
    assert all(row.count("[") == 3 for row in mean_rows(_sweep([0, 1])))  # base and two arms
    bands = []
    real = matplotlib.axes.Axes.fill_between
    monkeypatch.setattr(matplotlib.axes.Axes, "fill_between",
                        lambda self, *a, **k: bands.append(1) or real(self, *a, **k))
    figure_sweep(_sweep([0]), tmp_path / "one.png")
    assert bands == []
    figure_sweep(_sweep([0, 1]), tmp_path / "two.png")
    assert len(bands) == 3


def test_summary_counts_training_and_probed_facts_apart_in_the_right_number():
    from neural.sft.markdown import _training_text
    from neural.sft.presets import get_preset

    one = get_preset("micro").with_(epochs=1)
    m = {"n_facts": 1, "n_train_facts": 1, "n_dialogues": 2, "n_lies": 1, "steps": 2}
    text = _training_text(m, one)
    assert text.startswith("1 training fact, 2 dialogues (1 with a lie") and "1 fine-tuning epoch at" in text
    assert text.endswith("2 steps per arm") and "probed" not in text and "stopped" not in text
    m.update(n_train_facts=33, steps=1)
    text = _training_text(m, one.with_(epochs=4))
    assert text.startswith("33 training facts (1 probed), 2 dialogues")
    assert "0.5 of 4 fine-tuning epochs (stopped by --max-steps)" in text and text.endswith("1 step per arm")
