"""``bayes-agent fire-engine`` shows tiny positive values honestly (from the exact value, never
float's 0) and shortens long fractions; JSON adds a decimal where the float cannot show one."""

import json

from bayes_agent._numbers import decimal_text
from bayes_agent.cli import main


def test_a_tiny_positive_value_is_not_printed_as_zero(capsys):
    assert main(["fire-engine", "--p-fire", "1e-400"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("P(fire | do(engine sent))"))
    assert "≈1e-400" in line and "= 0 " not in line and len(line) < 120
    final = next(l for l in out.splitlines() if l.startswith("P(fire | engine sent)"))
    assert "≈1.89" in final and len(final) < 120


def test_zero_is_said_once(capsys):
    assert main(["fire-engine", "--p-fire", "0"]) == 0
    out = capsys.readouterr().out
    assert "P(fire | do(engine sent)) = 0   forcing" in out


def test_the_stated_values_read_as_before(capsys):
    assert main(["fire-engine"]) == 0
    out = capsys.readouterr().out
    assert "P(fire | engine sent)     = 19/20 = 0.95" in out


def test_json_gives_a_decimal_where_the_float_underflows(capsys):
    assert main(["fire-engine", "--json", "--p-fire", "1e-400"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["p_fire_given_do_engine"]["float"] == 0.0
    assert data["p_fire_given_do_engine"]["decimal"] == "1e-400"
    assert "decimal" not in data["parameters"]["p_report_given_fire"]  # only where the float fails


def test_decimal_text_is_computed_from_the_fraction():
    from fractions import Fraction as F

    assert decimal_text(F(1, 10**400)) == "1e-400"
    assert decimal_text(F(1, 3)) == "0.333333" and decimal_text(100) == "100" and decimal_text(0) == "0"


def test_no_line_of_the_model_or_the_derivation_prints_every_digit(capsys):
    assert main(["fire-engine", "--p-fire", "1e-400"]) == 0
    out = capsys.readouterr().out
    longest = max(out.splitlines(), key=len)
    assert len(longest) < 200, longest[:200]
    assert "P(fire) = {False: ≈1, True: ≈1e-400}" in out  # the model's own row, shortened too


def test_short_mechanism_entries_stay_exact(capsys):
    assert main(["fire-engine"]) == 0
    out = capsys.readouterr().out
    assert "P(report | fire=False) = {False: 18999/19000, True: 1/19000}" in out
    assert "survives untouched = 1/1000" in out and "= (8991/10000000) / (8991/9500000)" in out
