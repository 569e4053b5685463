"""Plotting never switches the caller's matplotlib backend, and works headless (issue 23)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CODE = """
import sys, matplotlib
matplotlib.use("svg")  # the caller's own choice, which a plot_* call must leave alone
from bayes_agent import (plot_climates, plot_ensemble, plot_more_data, plot_trajectory, simulate_many,
                         two_action_mixture)
out = sys.argv[1]
e = simulate_many(two_action_mixture(), "p_B", runs=3, steps=6, seed=0, actor="obs")
paths = [plot_ensemble(e, out + "/e.png"), plot_trajectory(e.trajectories[0], out + "/t.png"),
         plot_climates(out + "/c.png", points=5), plot_more_data(out + "/m.png")]
assert all(open(p, "rb").read(8) == b"\\x89PNG\\r\\n\\x1a\\n" for p in paths), paths
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules, len(paths))
"""


def test_plot_functions_keep_the_callers_backend_and_leave_pyplot_alone(tmp_path):
    import os

    env = {**os.environ, "MPLBACKEND": "", "DISPLAY": "", "PYTHONPATH": str(ROOT)}  # headless
    r = subprocess.run([sys.executable, "-c", CODE, str(tmp_path)], capture_output=True, text=True,
                       timeout=300, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    backend, pyplot, n = r.stdout.split()
    assert backend == "svg" and pyplot == "False" and int(n) == 4, r.stdout
