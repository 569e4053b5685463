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
