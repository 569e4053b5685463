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


def test_n_max_must_be_positive(capsys):
    with pytest.raises(SystemExit) as info:  # an argparse type check: usage line plus the error
        main(["ice-cream", "--n-max", "0"])
    assert info.value.code == 2 and "argument --n-max: must be ≥ 1, got 0" in capsys.readouterr().err


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
