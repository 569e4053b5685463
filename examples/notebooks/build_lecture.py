"""Builds examples/notebooks/lecture.ipynb with nbformat, outputs cleared.

Run:  python examples/notebooks/build_lecture.py   (then tests/test_notebook.py executes it headless)
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = []
md = lambda s: cells.append(new_markdown_cell(s.strip()))
code = lambda s: cells.append(new_code_cell(s.strip()))

md(r"""
# Actions are interventions, not evidence — a lecture in four computations

This notebook walks §2–§4 of *Causal interactive LLM agents that tell the truth* with the
`bayes_agent` engine. Every number is computed from stated parameters; exact fractions where the
paper is exact, sympy where we want a closed form. It runs headless in the test suite
(`tests/test_notebook.py`), so if the engine changes, the lecture notices.

1. The fire engine: $P(o \mid a)$ versus $P(o \mid \mathrm{do}(a))$ (§2.1).
2. Bayes under intervention, in symbols: the two-action example (§2.2, §4).
3. Ice cream, shorts and sun across climates: what stays put when the world shifts.
4. The delusion simulator: one trajectory, two updaters.
""")
code(r"""
import tempfile
from fractions import Fraction
from pathlib import Path

import sympy
from IPython.display import Image, Markdown, display

import bayes_agent as ba

sympy.init_printing()
_figures = tempfile.TemporaryDirectory(prefix="lecture-figures-")  # removed by the last cell (or at exit)
FIGURES = Path(_figures.name)
""")
md(r"""
## 1. Fire engines do not cause fires (§2.1)

The chain is *fire → report → engine*. Conditioning on "an engine was sent" reasons backwards
through the report to the fire; intervening on the engine cuts the arrow into it and leaves the
fire process alone. The SCM engine derives both numbers from five mechanism parameters.
""")
code(r"""
model = ba.fire_engine_model()
print(model.describe())
d = ba.derive_fire_engine()
for quantity, formula, value in d.steps:
    print(f"{quantity:<30} {str(value):>12}   {formula}")
""")
code(r"""
after = model.do(engine=True)          # graph surgery: engine's mechanism becomes a point mass
print("P(engine) after do(engine):", after.distribution("engine"))
print("P(fire)   after do(engine):", after.distribution("fire"), "  <- the prior, untouched")
assert d.observational == Fraction(19, 20) and d.interventional == Fraction(1, 1000)
""")
md(r"""
## 2. Bayes under intervention, with symbols (§2.2 and §4)

Two hypotheses share one kernel for the action-like symbols $\{A, B\}$. Write
$w = w_0(p_B)$, $b = \nu_{p_B}(A)$ and $a = \nu_{p_A}(A)$. The agent writes $A$ (an intervention),
then the world writes $B$ (evidence). We give the engine sympy symbols instead of numbers and let it
produce the posteriors; `sympy.simplify` tidies them.
""")
code(r"""
w, b, a = ba.arithmetic.symbols("w b a")
pB = ba.TableProgram("p_B", action={"A": b, "B": 1 - b})
pA = ba.TableProgram("p_A", action={"A": a, "B": 1 - a})
m_sym = ba.Mixture([pB, pA], {"p_B": w, "p_A": 1 - w})

h1 = ba.Transcript(context="c").agent("A")                 # do(A)
h2 = h1.world("B", channel="action")                      # the world's B, scored by the same kernel
forms = {
    r"\pi(B \mid h_0, c)": m_sym.act(ba.Transcript(context="c"))["B"],
    r"w_1(p_B)": m_sym.posterior(h1)["p_B"],
    r"w_1^{\mathrm{naive}}(p_B)": m_sym.posterior(h1, mode="obs")["p_B"],
    r"w_2(p_B)": m_sym.posterior(h2)["p_B"],
    r"w_2^{\mathrm{naive}}(p_B)": m_sym.posterior(h2, mode="obs")["p_B"],
}
forms = {k: sympy.simplify(v) for k, v in forms.items()}
display(Markdown("\n\n".join(f"$${k} = {sympy.latex(v)}$$" for k, v in forms.items())))
""")
md(r"""
The interventional $w_1$ is just $w$: the agent's own $A$ carries no information. The naive
$w_1$ multiplies in $\nu_p(A)$, the factor the paper calls false evidence. The likelihoods show the
difference in one line:
""")
code(r"""
L_do, L_obs = m_sym.likelihood(h2, "do"), m_sym.likelihood(h2, "obs")
display(Markdown("\n\n".join(
    f"$$L_2^{{{mode}}}({n.replace('_', '_{')}}}) = {sympy.latex(sympy.factor(L[n]))}$$"
    for mode, L in (("do", L_do), ("obs", L_obs)) for n in ("p_B", "p_A"))))
""")
code(r"""
paper = {w: Fraction(7, 20), b: Fraction(1, 5), a: Fraction(9, 10)}   # §4.1: 0.35, 0.20, 0.90
numbers = {k: sympy.nsimplify(v.subs(paper)) for k, v in forms.items()}
display(Markdown("\n\n".join(f"$${k} = {sympy.latex(v)} \\approx {float(v):.4f}$$" for k, v in numbers.items())))

exact = ba.derive_two_action()       # the same example in exact Fractions
assert numbers[r"w_1^{\mathrm{naive}}(p_B)"] == sympy.Rational(14, 131) == exact.w1_naive["p_B"]
assert numbers[r"w_2(p_B)"] == sympy.Rational(56, 69) == exact.w2["p_B"]
assert numbers[r"w_2^{\mathrm{naive}}(p_B)"] == sympy.Rational(112, 229) == exact.w2_naive["p_B"]
print(exact.text())
""")
md(r"""
How much does the naive updater lose after the world's $B$? The gap $w_2 - w_2^{\mathrm{naive}}$ is
a rational function of the prior; at the paper's kernels it is positive for every prior strictly
between 0 and 1:
""")
code(r"""
gap = sympy.factor(sympy.simplify((forms[r"w_2(p_B)"] - forms[r"w_2^{\mathrm{naive}}(p_B)"]).subs({b: paper[b], a: paper[a]})))
display(Markdown(f"$$w_2 - w_2^{{\\mathrm{{naive}}}} = {sympy.latex(gap)}$$"))
assert sympy.solveset(gap <= 0, w, sympy.Interval.open(0, 1)) == sympy.EmptySet
print("gap at w = 7/20:", gap.subs(w, paper[w]), "≈", float(gap.subs(w, paper[w])))
""")
md(r"""
## 3. Ice cream, shorts and sun across climates

Sun makes people wear shorts and buy ice cream; shorts themselves nudge ice cream down a little.
In every climate the passive contrast $P(\text{ice} \mid \text{shorts}) - P(\text{ice} \mid \text{no shorts})$
is positive and moves with $P(\text{sun})$; the causal effect under $\mathrm{do}(\text{shorts})$ does not.
""")
code(r"""
rows = ba.climate_table(ba.CLIMATES)
print(f"{'climate':<10}{'P(sun)':>8}{'obs contrast':>14}{'causal effect':>15}{'P(ice|do(shorts))':>19}")
for (name, _), r in zip(ba.CLIMATES.items(), rows):
    print(f"{name:<10}{str(r.p_sun):>8}{float(r.observational_contrast):>14.4f}"
          f"{str(r.causal_effect):>15}{float(r.p_ice_do_shorts):>19.4f}")
s = sympy.Symbol("s", positive=True)
closed = ba.climate_row(s)
display(Markdown(f"$$\\text{{obs contrast}}(s) = {sympy.latex(sympy.simplify(closed.observational_contrast))}, \\qquad "
                 f"\\text{{causal effect}} = {sympy.latex(closed.causal_effect)}$$"))
""")
code(r"""
display(Image(filename=str(ba.plot_climates(FIGURES / "ice_cream_climates.png"))))
""")
md(r"""
## 4. The delusion simulator: one trajectory, two updaters

The §4 mixture now acts for many slots against the world $p_B$, agent and world alternating. Each
trajectory is scored by both updaters. When the agent *acts on* the naive posterior, its own $A$s
confirm $p_A$, so it keeps writing $A$, which confirms $p_A$ again: a fraction of runs lock onto
the wrong program. The interventional updater, fed the same slots, does not.
""")
code(r"""
m = ba.two_action_mixture()
run = ba.simulate_trajectory(m, "p_B", steps=30, seed=6, actor="obs")
display(Image(filename=str(ba.plot_trajectory(run, FIGURES / "trajectory.png"))))
""")
code(r"""
ens = {actor: ba.simulate_many(m, "p_B", runs=60, steps=40, seed=0, actor=actor, arithmetic="float")
       for actor in ("do", "obs")}
for actor, e in ens.items():
    s = e.summary()
    print(f"agent acts on the {'interventional' if actor == 'do' else 'naive'} posterior: "
          f"locked onto p_A - naive {s['naive']['locked_wrong_fraction']['exact']}, "
          f"interventional {s['interventional']['locked_wrong_fraction']['exact']}")
display(Image(filename=str(ba.plot_ensemble(ens["obs"], FIGURES / "ensemble.png"))))
""")
md(r"""
**Take-away.** The same visible symbol moves a correct agent's beliefs only when the world wrote it.
The neural version of this rule — masking the agent's tokens out of the SFT loss — is in
`docs/experiment.md` and `docs/pipeline.md`.
""")
code(r"""
_figures.cleanup()  # the figures above were shown inline; their temporary folder goes
""")

for k, cell in enumerate(cells):  # stable ids, so a rebuild gives the same file
    cell["id"] = f"lecture-{k:02d}"
nb = new_notebook(cells=cells, metadata={
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
})
nbformat.validate(nb)
nbformat.write(nb, Path(__file__).resolve().parent / "lecture.ipynb")
