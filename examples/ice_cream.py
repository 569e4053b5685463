"""Shorts, ice cream and sun: what is invariant across climates and what is not.

Run:  python examples/ice_cream.py [OUT_DIR] [--overwrite]   (figures are written when OUT_DIR is given)

OUT_DIR is checked as ``bayes-agent ice-cream --out`` checks it, before any work: figures already
there are kept unless --overwrite; Ctrl-C is one line and leaves no half-written figure.
"""

import sys

import sympy

from bayes_agent import (CLIMATES, climate_row, climate_table, ice_cream_model, passive_vs_experiment,
                         plot_climates, plot_more_data)
from bayes_agent.commands import example_out_dir, example_script, nothing_new_left

FIGURES = ("ice_cream_climates.png", "ice_cream_more_data.png")

with example_script("examples/ice_cream.py"):
    out = example_out_dir(sys.argv[1:], FIGURES)

    # 1. The exact table across named climates.
    print(f"{'climate':<10} {'P(sun)':>7} {'obs contrast':>13} {'causal effect':>14} {'P(ice|do(shorts))':>18}")
    for (name, _), row in zip(CLIMATES.items(), climate_table(CLIMATES)):
        print(f"{name:<10} {str(row.p_sun):>7} {float(row.observational_contrast):>13.4f} "
              f"{str(row.causal_effect):>14} {float(row.p_ice_do_shorts):>18.4f}")

    # 2. Closed forms in s = P(sun): only the causal effect and the mechanism are free of s.
    s = sympy.Symbol("s", positive=True)
    row = climate_row(s)
    print("observational contrast =", row.observational_contrast)
    print("causal effect          =", row.causal_effect)
    print("P(ice | do(shorts))    =", row.p_ice_do_shorts)

    # 3. Intervening on shorts cuts sun -> shorts: the sun keeps its climate.
    model = ice_cream_model(CLIMATES["rainy"])
    print("rainy, P(sun | shorts)     =", model.probability({"sun": True}, given={"shorts": True}))
    print("rainy, P(sun | do(shorts)) =", model.probability({"sun": True}, do={"shorts": True}))

    # 4. Finite samples: passive data from a rainy+sunny pool vs a coin-flip experiment.
    result = passive_vs_experiment({k: CLIMATES[k] for k in ("rainy", "sunny")}, CLIMATES["desert"],
                                   n_max=20_000, seeds=(0,))
    print(f"n={result['n'][-1]}: passive estimate {result['passive'][0][-1]:+.3f} "
          f"(limit {float(result['pool_observational_contrast']):+.3f}), "
          f"experiment {result['experiment'][0][-1]:+.3f} (causal effect {result['causal_effect']})")

    if out is not None:
        with nothing_new_left(out, FIGURES, "the figures"):  # both figures, or none left by this run
            written = [plot_climates(out / FIGURES[0]), plot_more_data(out / FIGURES[1])]
        for path in written:
            print("wrote", path)
