"""``bayes-agent fire-engine`` and ``bayes-agent ice-cream`` through ``bayes_agent.cli.main``."""

from __future__ import annotations

import json

import pytest

from bayes_agent.cli import main


def test_fire_engine_text(capsys):
    assert main(["fire-engine"]) == 0
    out = capsys.readouterr().out
    assert "P(fire | engine sent)     = 19/20 = 0.95" in out
    assert "P(fire | do(engine sent)) = 1/1000 = 0.001" in out
    assert "P(report | fire=True) = {False: 1/1000, True: 999/1000}" in out


def test_fire_engine_json(capsys):
    assert main(["fire-engine", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["p_fire_given_engine"] == {"exact": "19/20", "float": 0.95}
    assert data["p_fire_given_do_engine"] == {"exact": "1/1000", "float": 0.001}
    assert data["parameters"]["p_report_given_no_fire"]["exact"] == "1/19000"
    assert [s["quantity"] for s in data["steps"]][:2] == ["P(fire, engine)", "P(no fire, engine)"]


def test_fire_engine_parameters_from_the_command_line(capsys):
    assert main(["fire-engine", "--json", "--p-report-given-no-fire", "1/2000"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["p_fire_given_engine"]["exact"] == "2/3"
    assert data["p_fire_given_do_engine"]["exact"] == "1/1000"


@pytest.mark.parametrize("argv, message", [
    (["fire-engine", "--p-fire", "lots"], "--p-fire: 'lots' is not a number"),
    (["fire-engine", "--p-fire", "2"], "p_fire must be a probability in [0, 1]"),
    (["ice-cream", "--p-sun", "1/2"], "at least two different climates"),
    (["ice-cream", "--p-sun", "0", "--p-sun", "1/2"], "strictly between 0 and 1"),
    (["ice-cream", "--direct-effect", "1/2"], "direct_effect 1/2 takes"),
    (["ice-cream", "--p-sun", "1/2", "--p-sun", "x"], "--p-sun: 'x' is not a number"),
    (["ice-cream", "--p-sun", "2"], "--p-sun: 2 must lie strictly between 0 and 1"),  # not "two climates"
    (["fire-engine", "--p-fire", "1e-5000"], "--p-fire = ≈1e-5000 needs more than 1000 digits"),
    (["ice-cream", "--p-sun", "1e-5000", "--p-sun", "1/2"], "needs more than 1000 digits"),
])
def test_bad_arguments_exit_2_with_a_clean_message(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("n_max", ["0", "19"])
def test_n_max_has_one_bound_checked_before_any_work(n_max, tmp_path, capsys):
    """--n-max 19 passed the parser (>= 1) and was refused by the job (>= 20) after the first
    figure was written; the parser now states and checks the job's own bound."""
    out = tmp_path / "figs"
    with pytest.raises(SystemExit) as info:  # an argparse type check: usage line plus the error
        main(["ice-cream", "--out", str(out), "--n-max", n_max])
    assert info.value.code == 2 and f"argument --n-max: must be ≥ 20, got {n_max}" in capsys.readouterr().err
    assert not out.exists()
    assert main(["ice-cream", "--out", str(out), "--n-max", "20", "--json"]) == 0  # the bound itself runs


@pytest.mark.parametrize("argv, flags", [(["--seed", "3"], "--seed only applies"),
                                         (["--n-max", "50", "--overwrite"], "--n-max, --overwrite only apply")])
def test_figure_options_without_out_are_refused_not_ignored(argv, flags, capsys):
    assert main(["ice-cream", *argv]) == 2
    assert f"{flags} with --out DIR" in capsys.readouterr().err


def test_tiny_climates_print_short_numbers(capsys):
    assert main(["ice-cream", "--p-sun", "1e-400", "--p-sun", "0.5"]) == 0
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) < 200, out  # not the 400-digit exact fractions
    assert "exact: ≈-0.05 .. 247/660" in out


@pytest.mark.parametrize("stop", [KeyboardInterrupt, MemoryError])
def test_a_run_stopped_while_writing_leaves_no_figure(stop, tmp_path, capsys, monkeypatch):
    """Stopped after the first figure, the run removes it (and the folder it made): the rerun
    needs no --overwrite. Ctrl-C is one line saying so (exit 130)."""
    import bayes_agent.scm.ice_cream as ice

    def stopped(*args, **kwargs):
        raise stop()

    monkeypatch.setattr(ice, "plot_more_data", stopped)
    out = tmp_path / "figs"
    argv = ["ice-cream", "--out", str(out), "--n-max", "20", "--json"]
    if stop is KeyboardInterrupt:
        assert main(argv) == 130
        assert "nothing was kept, so a rerun needs no --overwrite" in capsys.readouterr().err
    else:
        with pytest.raises(MemoryError):
            main(argv)
    assert not out.exists()
    monkeypatch.undo()
    assert main(argv) == 0 and len(list(out.iterdir())) == 2


def test_ice_cream_text(capsys):
    assert main(["ice-cream"]) == 0
    out = capsys.readouterr().out
    assert "causal effect                invariant                exact: -1/20" in out
    assert "observational contrast       moves with the climate" in out
    assert "P(ice | do(shorts))          moves with the climate" in out
    for name in ("rainy", "temperate", "mixed", "sunny", "desert"):
        assert name in out


def test_ice_cream_json_and_custom_climates(capsys):
    assert main(["ice-cream", "--json", "--p-sun", "1/4", "--p-sun", "0.6", "--direct-effect", "0"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = data["climates"]
    assert list(rows) == ["P(sun)=1/4", "P(sun)=0.6"]
    assert rows["P(sun)=0.6"]["p_sun"]["exact"] == "3/5"
    assert all(r["causal_effect"]["exact"] == "0" for r in rows.values())
    assert data["invariant_across_climates"] == {
        "observational_contrast": False, "p_ice_do_shorts": False, "causal_effect": True,
        "mechanism_sun": True, "mechanism_no_sun": True,
    }
    assert data["closed_forms_in_s_equal_p_sun"]["causal_effect"] == "0"
    assert data["figures"] == []


def test_ice_cream_writes_figures(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["ice-cream", "--out", str(out), "--n-max", "2000", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == ["ice_cream_climates.png", "ice_cream_more_data.png"]
    assert data["figures"] == [str(out / "ice_cream_climates.png"), str(out / "ice_cream_more_data.png")]
    for path in out.iterdir():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
