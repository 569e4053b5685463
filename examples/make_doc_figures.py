"""Regenerate the figures of the documentation (docs/figures/*.png) from the engine.

Run:  python examples/make_doc_figures.py [OUT_DIR] [--quick] [--overwrite]

OUT_DIR defaults to docs/figures (rewritten in place); another folder that already holds these
figures needs --overwrite. Ctrl-C is one line and removes the figures this run had newly written. ``--quick`` uses fewer runs and samples (the test suite uses it
to keep this script from rotting); the committed figures are made without it. Seeded throughout.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bayes_agent import (CLIMATES, derive_fire_engine, passive_vs_experiment, plot_climates,  # noqa: E402
                         plot_ensemble, plot_more_data, plot_trajectory, simulate_many,
                         simulate_trajectory, two_action_mixture)
from bayes_agent.commands import example_out_dir, example_script, nothing_new_left  # noqa: E402
from bayes_agent.figures import save_figure  # noqa: E402

FIGURES = ("fire_engine.png", "ice_cream_climates.png", "ice_cream_more_data.png", "delusion_ensemble_actor_do.png",
           "delusion_ensemble_actor_obs.png", "delusion_ensemble_sample_actor_obs.png", "delusion_trajectory.png")

with example_script("examples/make_doc_figures.py"):
    quick = "--quick" in sys.argv[1:]
    out = example_out_dir(sys.argv[1:], FIGURES, flags=("--quick",),
                          default=Path(__file__).resolve().parents[1] / "docs" / "figures")
    written = []
    with nothing_new_left(out, FIGURES, "the figures") as phase:
        phase.doing = "computing and writing the figures"
        # 1. Fire engine (§2.1): the two conditionals side by side, on a log axis, from the SCM.
        d = derive_fire_engine()
        fig, ax = plt.subplots(figsize=(7.5, 4.2), constrained_layout=True)
        labels = ["P(fire)\n(prior)", "P(fire | engine sent)\n(records)", "P(fire | do(engine sent))\n(intervention)"]
        values = [float(d.p_fire), float(d.observational), float(d.interventional)]
        bars = ax.bar(labels, values, color=["0.6", "tab:red", "tab:blue"], width=0.55)
        for bar, exact in zip(bars, (d.p_fire, d.observational, d.interventional)):
            ax.annotate(f"{exact} = {float(exact):g}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        textcoords="offset points", xytext=(0, 4), ha="center", fontsize=9)
        ax.set_yscale("log")
        ax.set_ylim(5e-4, 3)
        ax.set_ylabel("probability of fire (log scale)")
        ax.set_title("Fire engines do not cause fires: conditioning vs intervening")
        written.append(out / "fire_engine.png")
        save_figure(fig, written[-1], dpi=120)  # whole or not at all
        plt.close(fig)

        # 2. Ice cream, shorts and sun across climates (the essay's example), from the SCM.
        written.append(plot_climates(out / "ice_cream_climates.png"))
        result = passive_vs_experiment({k: CLIMATES[k] for k in ("rainy", "sunny")}, CLIMATES["desert"],
                                       n_max=2_000 if quick else 100_000, seeds=(0, 1, 2))
        written.append(plot_more_data(out / "ice_cream_more_data.png", result))

        # 3. The delusion simulator on the §4 mixture.
        m = two_action_mixture()
        runs, steps = (20, 20) if quick else (200, 60)
        for actor in ("do", "obs"):
            e = simulate_many(m, "p_B", runs=runs, steps=steps, seed=0, actor=actor, arithmetic="float")
            written.append(plot_ensemble(e, out / f"delusion_ensemble_actor_{actor}.png"))
        e = simulate_many(m, "p_B", runs=runs, steps=steps, seed=0, actor="obs", policy="sample",
                          arithmetic="float")
        written.append(plot_ensemble(e, out / "delusion_ensemble_sample_actor_obs.png"))
        written.append(plot_trajectory(simulate_trajectory(m, "p_B", steps=30, seed=6, actor="obs"),
                                       out / "delusion_trajectory.png"))
    for path in written:
        print("wrote", path)
