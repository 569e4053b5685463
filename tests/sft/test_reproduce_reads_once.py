"""One reproduce call reads --compare-to's metrics.json once and checks the resumed settings once,
then passes what it found on (to run_seeds and run) instead of reading and checking again."""

import json
from pathlib import Path

import pytest

from bayes_agent.cli import main

SMOKE = ["--preset", "micro", "--no-progress", "--epochs", "1", "--n-dialogues", "8"]


class _Stop(Exception):
    """Raised by the stand-in for training: everything before it is what the test counts."""


def _count_reads(monkeypatch, wanted) -> list[Path]:
    reads: list[Path] = []
    real = Path.read_text

    def read_text(self, *args, **kwargs):
        if wanted(self):
            reads.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    return reads


def test_a_multi_seed_resume_reads_compare_to_and_checks_settings_once(tmp_path, monkeypatch):
    from neural.sft import experiment

    other = tmp_path / "other"
    other.mkdir()
    per_seed = [{"seed": s, "arms": ["obs", "do"], "mean_delta_obs": 0.1, "mean_delta_do": 0.2} for s in (0, 1)]
    (other / "metrics.json").write_text(json.dumps({"per_seed": per_seed}))
    out = tmp_path / "out"
    reads = _count_reads(monkeypatch, lambda p: p == other / "metrics.json" or p.parent.name.startswith("seed_")
                         or p.parent.parent.name.startswith("seed_"))
    calls = []

    def fake_run(*args, **kwargs):  # the first seed's training: stop here
        calls.append(kwargs)
        raise _Stop

    monkeypatch.setattr(experiment, "run", fake_run)
    with pytest.raises(_Stop):
        main(["reproduce", "--out", str(out), *SMOKE, "--seeds", "0", "1", "--resume", "--compare-to", str(other)])
    names = [str(p.relative_to(tmp_path)) for p in reads]
    assert names.count("other/metrics.json") == 1, names
    # each seed's finished config and checkpoint settings: looked at once each
    assert sorted(n for n in names if n.startswith("out/")) == [
        "out/seed_0/checkpoint/settings.json", "out/seed_0/config.json",
        "out/seed_1/checkpoint/settings.json", "out/seed_1/config.json"], names
    assert calls and calls[0]["settings_checked"] is True


def test_compare_runs_uses_the_metrics_it_is_given(tmp_path):
    from neural.sft.aggregate import check_compare_to, compare_runs

    other = tmp_path / "other"
    other.mkdir()
    rows = [{"seed": s, "arms": ["obs", "do"], "mean_delta_obs": 0.1 * s, "mean_delta_do": 0.5} for s in (0, 1)]
    (other / "metrics.json").write_text(json.dumps({"per_seed": rows}))
    given = check_compare_to(other, [0, 1], ["obs", "do"])
    (other / "metrics.json").unlink()  # read already: not read again
    mine = [{"seed": s, "arms": ["obs", "do"], "mean_delta_obs": 1.0, "mean_delta_do": 1.0 + s} for s in (0, 1)]
    c = compare_runs(mine, other, given)
    assert c["mean_delta_obs"]["mean"] == pytest.approx(1.0 - 0.05)
    assert c["delta_do_minus_obs_other"]["mean"] == pytest.approx(0.45)
