"""The delusion simulator: one trajectory, two updaters; a naive agent can talk itself into p_A.

Run:  python examples/simulate_delusion.py [OUT_DIR] [--overwrite]   (figures are written when OUT_DIR is given)

The §4 mixture (prior 0.35/0.65, kernels 0.2/0.8 and 0.9/0.1) acts against the world p_B, agent and
world slots alternating. Each trajectory is scored by both updaters of the engine.
"""

import sys

from bayes_agent import plot_ensemble, plot_trajectory, simulate_many, simulate_trajectory, two_action_mixture
from bayes_agent.commands import example_out_dir, example_script, nothing_new_left

FIGURES = ("delusion_ensemble_actor_do.png", "delusion_ensemble_actor_obs.png", "delusion_trajectory.png")


with example_script("examples/simulate_delusion.py"):
    out = example_out_dir(sys.argv[1:], FIGURES)
    m = two_action_mixture()

    # 1. One short run of a naive agent (it acts on its observational posterior), printed slot by slot.
    run = simulate_trajectory(m, "p_B", steps=10, seed=6, actor="obs")
    print("slot  writer  symbol   w(p_B) interventional   w(p_B) naive")
    for i, slot in enumerate(run.history, start=1):
        who = "agent" if slot.is_agent else "world"
        print(f"{i:>4}  {who:<6}  {slot.value:^6}   {float(run.weights_do[i]['p_B']):>21.4f}"
              f"   {float(run.weights_obs[i]['p_B']):>12.4f}")

    # 2. Many seeded runs: who acts on which posterior, and how often the naive books lock onto p_A.
    RUNS, STEPS = 50, 30
    ensembles = {}
    for policy in ("threshold", "sample"):
        for actor in ("do", "obs"):
            e = simulate_many(m, "p_B", runs=RUNS, steps=STEPS, seed=0, policy=policy, actor=actor,
                              arithmetic="float")
            s = e.summary()
            print(f"policy={policy:<9} agent acts on {'interventional' if actor == 'do' else 'naive':<14} "
                  f"locked on p_A: naive {s['naive']['locked_wrong_fraction']['float']:.3f}, "
                  f"interventional {s['interventional']['locked_wrong_fraction']['float']:.3f}; "
                  f"median recovery slot: naive {s['naive']['median_recovery_slot']}, "
                  f"interventional {s['interventional']['median_recovery_slot']}")
            if policy == "threshold":
                ensembles[actor] = e

    if out is not None:
        long_run = simulate_trajectory(m, "p_B", steps=30, seed=6, actor="obs")
        with nothing_new_left(out, FIGURES, "the figures"):  # every figure, or none left by this run
            written = [plot_ensemble(ensembles[a], out / f"delusion_ensemble_actor_{a}.png") for a in ("do", "obs")]
            written.append(plot_trajectory(long_run, out / FIGURES[2]))
        for path in written:
            print("wrote", path)
