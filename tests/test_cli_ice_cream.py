"""``bayes-agent ice-cream --out``: a bounded --n-max, the cheap table first, Ctrl-C while sampling."""

from __future__ import annotations

import pytest

from bayes_agent.cli import main


def _must_not_sample(*args, **kwargs):
    raise AssertionError("sampling started")


def test_an_n_max_past_the_documented_bound_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    import bayes_agent.scm.ice_cream as ice
    from bayes_agent.commands.ice_cream import N_MAX_LIMIT

    monkeypatch.setattr(ice, "passive_vs_experiment", _must_not_sample)
    out = tmp_path / "figs"
    with pytest.raises(SystemExit) as info:
        main(["ice-cream", "--out", str(out), "--n-max", "100000000"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and f"argument --n-max: must be ≤ {N_MAX_LIMIT:,}" in err and "100000000" in err
    assert not out.exists() and N_MAX_LIMIT == 10_000_000


def test_the_exact_table_is_printed_before_the_sampling(tmp_path, capsys, monkeypatch):
    import bayes_agent.scm.ice_cream as ice

    real, seen = ice.passive_vs_experiment, []

    def sampling(*args, **kwargs):
        seen.append(capsys.readouterr().out)   # what the user has read when the sampling starts
        return real(*args, **kwargs)

    monkeypatch.setattr(ice, "passive_vs_experiment", sampling)
    assert main(["ice-cream", "--out", str(tmp_path / "figs"), "--n-max", "20"]) == 0
    assert len(seen) == 3 and "causal effect" in seen[0] and "closed forms with s = P(sun)" in seen[0]
    assert "wrote " in capsys.readouterr().out


def test_ctrl_c_while_sampling_says_what_was_kept(tmp_path, capsys, monkeypatch):
    import bayes_agent.scm.ice_cream as ice

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ice, "passive_vs_experiment", stopped)
    out = tmp_path / "figs"
    assert main(["ice-cream", "--out", str(out), "--n-max", "20"]) == 130
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "interrupted while sampling up to 20 rows per seed" in err
    assert "it had written no new file; nothing was kept, so a rerun needs no --overwrite" in err
    assert not out.exists()


def test_seed_by_seed_sampling_gives_the_all_at_once_result_and_a_bar_on_a_terminal(capsys, monkeypatch, tmp_path):
    from bayes_agent.commands import _common, ice_cream as cmd
    from bayes_agent.scm.ice_cream import CLIMATES, IceCreamMechanisms, passive_vs_experiment

    monkeypatch.setattr(_common, "progress_wanted", lambda no_progress=False, stream=None: not no_progress)
    mech = IceCreamMechanisms()
    merged = cmd._sampled(_common.Phase(""), tmp_path, (4, 5, 6), 50, mech, no_progress=False)
    whole = passive_vs_experiment({k: CLIMATES[k] for k in ("rainy", "sunny")}, CLIMATES["desert"], n_max=50,
                                  seeds=(4, 5, 6), mechanisms=mech)
    assert merged == whole
    assert "ice-cream: sampling n ≤ 50" in capsys.readouterr().err
    cmd._sampled(_common.Phase(""), tmp_path, (4,), 50, mech, no_progress=True)
    assert capsys.readouterr().err == ""
