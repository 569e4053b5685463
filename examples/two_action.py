"""The paper's two-action example (§4), exactly: the agent's own A is not evidence, the world's B is.

Run:  python examples/two_action.py

Every number below is computed by the engine from the stated prior and kernels; nothing is typed in.
"""

from fractions import Fraction

from bayes_agent import (Mixture, TableProgram, Transcript, derive_two_action, simulate_trajectory,
                         two_action_closed_form, two_action_mixture)

# 1. The setup of §4.1: two hypotheses, one history-free kernel each, a prior biased toward p_A.
pB = TableProgram("p_B", action={"A": "0.20", "B": "0.80"})
pA = TableProgram("p_A", action={"A": "0.90", "B": "0.10"})
m = Mixture([pB, pA], prior={"p_B": "0.35", "p_A": "0.65"})

# 2. The threshold rule: write B when π(B | h_0, c) >= 1/2.
h0 = Transcript(context="c")
print("π(B | h_0, c) =", m.act(h0)["B"], "->", m.decide(h0, "B").action)

# 3. The agent's A: the interventional posterior stays put, the naive one moves.
h1 = h0.agent("A")
print("w_1(p_B)       =", m.posterior(h1)["p_B"])
print("w_1^naive(p_B) =", m.posterior(h1, mode="obs")["p_B"], f"≈ {float(m.posterior(h1, mode='obs')['p_B']):.4f}")

# 4. The world writes B. It is an action-like symbol, so the ACTION kernel scores it; its gate is WORLD.
h2 = h1.world("B", channel="action")
for mode in ("do", "obs"):
    w = m.posterior(h2, mode=mode)["p_B"]
    print(f"w_2(p_B), {mode:>3}: {w} ≈ {float(w):.4f}   L_2^{mode} = {m.likelihood(h2, mode)}")

# 5. The same numbers from the worked-example module and from one simulated trajectory.
d = derive_two_action()
assert (d.w1["p_B"], d.w1_naive["p_B"], d.w2["p_B"], d.w2_naive["p_B"]) == (
    m.posterior(h1)["p_B"], m.posterior(h1, "obs")["p_B"], m.posterior(h2)["p_B"], m.posterior(h2, "obs")["p_B"])
run = next(r for r in (simulate_trajectory(two_action_mixture(), "p_B", steps=2, seed=s) for s in range(50))
           if r.history.values == ("A", "B"))
print(f"simulated (seed {run.seed}): do {[str(w['p_B']) for w in run.weights_do]}, "
      f"naive {[str(w['p_B']) for w in run.weights_obs]}")

# 6. Closed forms: w = w_0(p_B), b = ν_pB(A), a = ν_pA(A).
cf = two_action_closed_form()
w, b, a = cf["symbols"]
print("w_1^naive(p_B) =", cf["w1_naive"])
print("w_2(p_B)       =", cf["w2"])
print("w_2^naive(p_B) =", cf["w2_naive"])
print("at the paper's numbers:", cf["w2_naive"].subs({w: Fraction(7, 20), b: Fraction(1, 5), a: Fraction(9, 10)}))
