"""`bayes-agent two-action`: text, LaTeX and JSON output; custom values; clean errors."""

import json
import subprocess
import sys

import pytest

from bayes_agent.cli import main


def run(capsys, *args):
    code = main(["two-action", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_default_text(capsys):
    code, out, _ = run(capsys)
    assert code == 0
    assert "π(B | h_0, c)" in out and "69/200 = 0.3450" in out and "writes 'A'" in out
    assert "interventional" in out and "naive (observational)" in out
    assert "14/131 ≈ 0.1069" in out and "56/69 ≈ 0.8116" in out and "112/229 ≈ 0.4891" in out


def test_json_exact_beside_float(capsys):
    code, out, _ = run(capsys, "--json")
    d = json.loads(out)
    assert code == 0
    assert d["pi_B_h0"] == {"exact": "69/200", "float": 0.345}
    assert d["w1_naive"]["p_B"]["exact"] == "14/131"
    assert d["w2"]["p_B"]["exact"] == "56/69"
    assert d["w2_naive"]["p_B"]["exact"] == "112/229"
    assert d["w1"]["p_B"] == {"exact": "7/20", "float": 0.35}
    assert d["action_1"] == "A" and d["gates"] == [1, 0]


def test_latex(capsys):
    code, out, _ = run(capsys, "--latex")
    assert code == 0 and "\\begin{align*}" in out and "\\frac{56}{69}" in out


def test_custom_prior_and_kernel_as_fractions_and_decimals(capsys):
    code, out, _ = run(capsys, "--json", "--prior", "3/5", "0.4", "--kernel", "p_A", "0.5", "1/2")
    d = json.loads(out)
    assert code == 0 and d["prior"]["p_B"]["exact"] == "3/5" and d["kernels"]["p_A"]["B"]["exact"] == "1/2"
    assert d["pi_B_h0"]["exact"] == "17/25" and d["action_1"] == "B"


@pytest.mark.parametrize("args, message", [
    (["--prior", "0.6", "0.5"], "sums to 11/10"),
    (["--prior", "-0.1", "1.1"], "negative"),
    (["--prior", "__import__('os').system('true')", "0.5"], "must be a number"),
    (["--prior", "nan", "0.5"], "must be a number"),
    (["--kernel", "p_C", "0.5", "0.5"], "use p_B or p_A"),
    (["--kernel", "p_B", "0.5", "0.6"], "sums to 11/10"),
    (["--prior", "1", "0", "--kernel", "p_B", "1", "0"], "undefined"),
    (["--prior", "1", "0", "--kernel", "p_B", "1", "0"], "slot 2 (h[1] = 'B')"),  # the paper's z_2
    (["--kernel", "p_B", "0.5", "0.5", "--kernel", "p_B", "0.2", "0.8"], "--kernel p_B is given 2 times"),
    (["--threshold", "2"], "threshold must be a probability in [0, 1], got 2"),
    (["--threshold=-1/2"], "threshold must be a probability in [0, 1], got -1/2"),
])
def test_bad_input_exits_2_with_a_message(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and message in err and "Traceback" not in err


def test_normalize_flag(capsys):
    code, out, _ = run(capsys, "--json", "--prior", "6", "4", "--normalize")
    assert code == 0 and json.loads(out)["prior"]["p_B"]["exact"] == "3/5"


def test_console_entry_point_runs_as_module():
    r = subprocess.run([sys.executable, "-m", "bayes_agent", "two-action", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["pi_B_h0"]["exact"] == "69/200"


def test_only_the_naive_updater_failing_is_named_and_the_interventional_answer_printed(capsys):
    """(do(A), B) with ν_p_B = (0, 1), ν_p_A = (1, 0): the naive updater meets 0/0 at slot 2, the
    interventional one gives w_2(p_B) = 1. A result, not an error: every output keeps its shape
    (the naive weights undefined) and says which updater could not condition."""
    flags = ["--kernel", "p_B", "0", "1", "--kernel", "p_A", "1", "0"]
    code, out, err = run(capsys, *flags)
    assert code == 0 and err == ""
    assert "w_2(p_B)                             1 ≈ 1.0000             undefined (0/0)" in out
    assert "The naive (observational) updater cannot condition on this history: slot 2" in out
    code, out, err = run(capsys, *flags, "--json")
    d = json.loads(out)
    assert code == 0 and d["w2"]["p_B"] == {"exact": "1", "float": 1.0} and d["w2_naive"] is None
    assert d["w1_naive"]["p_A"]["exact"] == "1" and "slot 2" in d["naive_undefined"]
    assert "naive (observational) updater cannot condition" in err
    code, out, err = run(capsys, *flags, "--latex")
    assert code == 0 and r"w_2^{\mathrm{naive}}(p_{B}) &= \frac{0 \cdot 1}{0 \cdot 1 + 1 \cdot 0} = \text{undefined } (0/0)" in out
    assert r"w_2(p_{B}) &= \frac{\frac{7}{20} \cdot 1}" in out


def test_both_updaters_failing_keeps_the_engines_line(capsys):
    code, out, err = run(capsys, "--kernel", "p_B", "1", "0", "--kernel", "p_A", "1", "0")
    assert code == 2 and out == "" and "probability zero under every program" in err and "naive" not in err
