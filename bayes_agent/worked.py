"""The paper's worked examples as data: the two-action example (§4) and the invoice dialogue (§3.1).

:func:`derive_two_action` computes the §4.3 derivation (policy, threshold decision, the
interventional and the naive updater side by side) from any prior and kernel table, exactly.

```python
>>> d = derive_two_action()
>>> d.policy_b, d.action, d.w1["p_B"], d.w1_naive["p_B"], d.w2["p_B"], d.w2_naive["p_B"]
(Fraction(69, 200), 'A', Fraction(7, 20), Fraction(14, 131), Fraction(56, 69), Fraction(112, 229))

```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Hashable, Mapping

from ._checks import expect
from ._numbers import EXACT
from .errors import InvalidArgument, ZeroEvidence
from .mixture import Mixture, is_evidence
from .programs import TableProgram
from .transcript import Channel, Gate, Mode, Transcript

__all__ = [
    "INVOICE_CONTEXT",
    "TWO_ACTION_KERNELS",
    "TWO_ACTION_PRIOR",
    "TwoActionDerivation",
    "derive_two_action",
    "invoice_dialogue",
    "invoice_mixture",
    "invoice_updates",
    "two_action_closed_form",
    "two_action_mixture",
]

#: §4.1: the prior is biased toward hypothesis A.
TWO_ACTION_PRIOR: dict[str, Fraction] = {"p_B": Fraction(35, 100), "p_A": Fraction(65, 100)}
#: §4.1: ν_p(A | h, c) and ν_p(B | h, c), history-free.
TWO_ACTION_KERNELS: dict[str, dict[str, Fraction]] = {
    "p_B": {"A": Fraction(20, 100), "B": Fraction(80, 100)},
    "p_A": {"A": Fraction(90, 100), "B": Fraction(10, 100)},
}


def two_action_mixture(
    prior: Mapping[str, Any] | None = None,
    kernels: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    normalize: bool = False,
) -> Mixture:
    """The §4 mixture: one history-free kernel per hypothesis scores every action-like symbol.

    The world's third-party symbols are slots with channel ACTION and gate WORLD (§4.2: "the same
    kernel is used to score an agent action and a world-written third-party action").
    """
    kernels = TWO_ACTION_KERNELS if kernels is None else kernels
    if not isinstance(kernels, Mapping) or not kernels:
        raise InvalidArgument("kernels must map hypothesis names to rows over the actions")
    programs = [TableProgram(name, action=row, normalize=normalize) for name, row in kernels.items()]
    return Mixture(programs, TWO_ACTION_PRIOR if prior is None else prior, normalize=normalize,
                   arithmetic=EXACT)


def _q(x: Any) -> dict[str, Any]:
    """An exact value as {"exact": "69/200", "float": 0.345} for JSON."""
    x = Fraction(x)
    return {"exact": str(x), "float": float(x)}


def _dec(x: Fraction, digits: int = 4) -> str:
    return f"{float(x):.{digits}f}"


@dataclass(frozen=True)
class TwoActionDerivation:
    """§4.3 as computed values: the policy, the agent's choice, and both updaters for two slots.

    Compared by value; not hashable (it holds dicts)."""

    # Frozen but holding dicts of weights: compared by value (==), deliberately not hashable (a
    # hash of the fields would fail on the dicts), so not usable as a dict key or set member.
    __hash__ = None  # type: ignore[assignment]

    mixture: Mixture
    target: Hashable
    threshold: Fraction
    world: Hashable
    policy_b: Fraction
    action: Hashable
    history: Transcript
    w1: dict[str, Fraction]
    w1_naive: dict[str, Fraction] | None
    w2: dict[str, Fraction]
    w2_naive: dict[str, Fraction] | None
    L2_do: dict[str, Fraction]
    L2_obs: dict[str, Fraction]
    trace_do: list[dict[str, Fraction]] = field(repr=False)
    trace_obs: list[dict[str, Fraction]] = field(repr=False)
    #: why the naive updater has no posterior (0/0 under every program), or None. Only the naive
    #: one can fail alone: L^obs is L^do times the agent slots' factors, so L^do = 0 forces L^obs = 0
    naive_undefined: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return self.mixture.names

    def _first(self) -> str:
        return self.names[0]

    def text(self) -> str:
        """The derivation step by step, exact fractions beside decimals."""
        m, n0, t = self.mixture, self._first(), self.target
        k = {p.name: p.distribution(Transcript(), Channel.ACTION) for p in m.programs}
        a, o = self.action, self.world
        lines = ["Two-action example (paper §4): the agent's own action is an intervention.", ""]
        lines.append("Prior and kernels:")
        for n in self.names:
            row = ", ".join(f"ν({s}) = {v} ({_dec(v, 2)})" for s, v in k[n].items())
            lines.append(f"  w_0({n}) = {m.prior[n]} ({_dec(m.prior[n], 2)});  {row}")
        terms = " + ".join(f"{m.prior[n]}·{k[n][t]}" for n in self.names)
        lines += ["", "Step 1. Policy before any slot (γ_1 = 1, the agent writes):",
                  f"  π({t} | h_0, c) = {terms} = {self.policy_b} = {_dec(self.policy_b, 4)}",
                  f"  {'≥' if self.policy_b >= self.threshold else '<'} {self.threshold} "
                  f"→ the agent writes {a!r}.", ""]
        lines.append("Step 2. Update on the agent's own slot h_1 = (do(%s)):" % a)
        lines.append(f"  {'':22}{'interventional':>26}  {'naive (observational)':>26}")
        for n in self.names:
            lines.append(f"  w_1({n}){'':{16 - len(n)}}{_cell(self.w1[n]):>26}  {_cell(_at(self.w1_naive, n)):>26}")
        lines.append(f"  interventional: w_1 = w_0 (do({a}) is not evidence);"
                     f" naive: w_0·ν({a}) / Σ = self-confirmation.")
        lines += ["", f"Step 3. The world writes {o!r} (γ_2 = 0, evidence); both updaters use it:"]
        for n in self.names:
            lines.append(f"  w_2({n}){'':{16 - len(n)}}{_cell(self.w2[n]):>26}  {_cell(_at(self.w2_naive, n)):>26}")
        lines += ["", f"Likelihoods of ĥ_2 = (do({a}), {o}), γ = (1, 0):"]
        for n in self.names:
            lines.append(f"  L_2^do({n}) = ν({o}) = {self.L2_do[n]};   "
                         f"L_2^obs({n}) = ν({a})·ν({o}) = {self.L2_obs[n]}")
        lines += ["", f"After two slots: interventional w_2({n0}) = {_cell(self.w2[n0])}, "
                  f"naive w_2({n0}) = {_cell(_at(self.w2_naive, n0))}."]
        if self.naive_undefined:
            lines.append(f"The naive (observational) updater cannot condition on this history: {self.naive_undefined}.")
        return "\n".join(lines)

    def latex(self) -> str:
        """The derivation as a LaTeX ``align*`` block."""
        from .arithmetic import latex as L

        m, t, a, o = self.mixture, self.target, self.action, self.world
        k = {p.name: p.distribution(Transcript(), Channel.ACTION) for p in m.programs}
        n = {x: x.replace("_", r"_{") + ("}" if "_" in x else "") for x in self.names}
        terms = " + ".join(f"{L(m.prior[x])} \\cdot {L(k[x][t])}" for x in self.names)
        rel = r"\geq" if self.policy_b >= self.threshold else "<"
        rows = [
            rf"\pi({t} \mid h_0, c) &= {terms} = {L(self.policy_b)} = {_dec(self.policy_b)}"
            rf" {rel} {L(self.threshold)}"
            rf" \;\Rightarrow\; a_1 = {a}",
        ]
        for x in self.names:
            rows.append(rf"w_1({n[x]}) &= w_0({n[x]}) = {L(self.w1[x])}")
        undefined = r" = \text{undefined } (0/0)"
        for x in self.names:
            den = " + ".join(f"{L(m.prior[y])} \\cdot {L(k[y][a])}" for y in self.names)
            rows.append(rf"w_1^{{\mathrm{{naive}}}}({n[x]}) &= \frac{{{L(m.prior[x])} \cdot {L(k[x][a])}}}{{{den}}}"
                        + (undefined if self.w1_naive is None
                           else rf" = {L(self.w1_naive[x])} \approx {_dec(self.w1_naive[x])}"))
        for x in self.names:
            den = " + ".join(f"{L(self.w1[y])} \\cdot {L(k[y][o])}" for y in self.names)
            rows.append(rf"w_2({n[x]}) &= \frac{{{L(self.w1[x])} \cdot {L(k[x][o])}}}{{{den}}}"
                        rf" = {L(self.w2[x])} \approx {_dec(self.w2[x])}")
        for x in self.names:
            if self.w1_naive is None:
                rows.append(rf"w_2^{{\mathrm{{naive}}}}({n[x]}) &" + undefined)
                continue
            den = " + ".join(f"{L(self.w1_naive[y])} \\cdot {L(k[y][o])}" for y in self.names)
            rows.append(rf"w_2^{{\mathrm{{naive}}}}({n[x]}) &= \frac{{{L(self.w1_naive[x])} \cdot {L(k[x][o])}}}{{{den}}}"
                        + (undefined if self.w2_naive is None
                           else rf" = {L(self.w2_naive[x])} \approx {_dec(self.w2_naive[x])}"))
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def to_dict(self) -> dict[str, Any]:
        """Every quantity, exact values as fraction strings beside floats."""
        m = self.mixture
        k = {p.name: p.distribution(Transcript(), Channel.ACTION) for p in m.programs}
        per = lambda d: None if d is None else {n: _q(d[n]) for n in self.names}  # noqa: E731
        return {
            "example": "two-action (paper section 4)",
            "prior": per(m.prior),
            "kernels": {n: {str(s): _q(v) for s, v in k[n].items()} for n in self.names},
            "target": str(self.target),
            "threshold": _q(self.threshold),
            f"pi_{self.target}_h0": _q(self.policy_b),
            "action_1": str(self.action),
            "world_2": str(self.world),
            "gates": [int(g) for g in self.history.gates],
            "w1": per(self.w1),
            "w1_naive": per(self.w1_naive),
            "w2": per(self.w2),
            "w2_naive": per(self.w2_naive),
            "L2_do": per(self.L2_do),
            "L2_obs": per(self.L2_obs),
            "naive_undefined": self.naive_undefined,
        }


def _cell(x: Fraction | None) -> str:
    return "undefined (0/0)" if x is None else f"{x} ≈ {_dec(x)}"


def _at(weights: dict[str, Fraction] | None, name: str) -> Fraction | None:
    """A program's weight, or None where the updater had no posterior (0/0)."""
    return None if weights is None else weights[name]


def derive_two_action(
    prior: Mapping[str, Any] | None = None,
    kernels: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    target: Hashable = "B",
    world: Hashable = "B",
    threshold: Any = Fraction(1, 2),
    normalize: bool = False,
) -> TwoActionDerivation:
    """Compute §4.3: the agent acts by the threshold rule, then the world writes ``world``. Where
    only the naive updater meets 0/0 its weights are None and ``naive_undefined`` says why; where
    the interventional one does too, :class:`ZeroEvidence` is raised."""
    m = two_action_mixture(prior, kernels, normalize=normalize)
    actions = {a for p in m.programs for a in p.alphabet(Channel.ACTION)}
    if len(actions) != 2:
        raise InvalidArgument(
            f"the two-action derivation needs kernels over exactly two actions, got {len(actions)} "
            f"({', '.join(sorted(map(repr, actions)))}); for more actions build the Mixture and call "
            f"Mixture.decide(h, target, otherwise=...)"
        )
    h0 = Transcript(context="c")
    decision = m.decide(h0, target, threshold=threshold)
    h1 = h0.agent(decision.action)
    h2 = h1.world(world, channel=Channel.ACTION)
    trace_do = m.updater(Mode.INTERVENTIONAL, context="c").trace(h2)
    naive = m.updater(Mode.OBSERVATIONAL, context="c")
    trace_obs: list[dict[str, Fraction]] = []
    undefined = None
    try:
        for slot in h2.slots:  # slot by slot, so the weights before a 0/0 are kept
            trace_obs.append(dict(naive.push(slot)))
    except ZeroEvidence as why:
        undefined = str(why)
    return TwoActionDerivation(
        mixture=m, target=target, threshold=decision.threshold, world=world,
        policy_b=decision.probability, action=decision.action, history=h2,
        w1=trace_do[0], w1_naive=trace_obs[0] if trace_obs else None,
        w2=trace_do[1], w2_naive=trace_obs[1] if len(trace_obs) > 1 else None,
        L2_do=m.likelihood(h2), L2_obs=m.likelihood(h2, Mode.OBSERVATIONAL),
        trace_do=list(trace_do), trace_obs=trace_obs, naive_undefined=undefined,
    )


def two_action_closed_form() -> dict[str, Any]:
    """The §4.3 posteriors of p_B as sympy closed forms in the prior w and the kernels.

    Symbols: ``w`` = w_0(p_B), ``b`` = ν_{p_B}(A), ``a`` = ν_{p_A}(A). Keys as in
    :meth:`TwoActionDerivation.to_dict`; values are simplified expressions.
    """
    import sympy

    from .arithmetic import closed_form, symbols

    w, b, a = symbols("w b a")
    pB = TableProgram("p_B", action={"A": b, "B": 1 - b})
    pA = TableProgram("p_A", action={"A": a, "B": 1 - a})
    m = Mixture([pB, pA], {"p_B": w, "p_A": 1 - w})
    h1 = Transcript(context="c").agent("A")
    h2 = h1.world("B", channel=Channel.ACTION)
    forms = {
        "pi_B_h0": closed_form(m.act(Transcript(context="c"))["B"]),
        "w1": closed_form(m.posterior(h1)["p_B"]),
        "w1_naive": closed_form(m.posterior(h1, Mode.OBSERVATIONAL)["p_B"]),
        "w2": closed_form(m.posterior(h2)["p_B"]),
        "w2_naive": closed_form(m.posterior(h2, Mode.OBSERVATIONAL)["p_B"]),
    }
    # every closed form has its LaTeX (the dict had only w1_naive and w2)
    return {"symbols": (w, b, a), **forms, "latex": {k: sympy.latex(v) for k, v in forms.items()}}


# ---------------------------------------------------------------------------------------------
# The six-slot invoice dialogue (§3.1)
# ---------------------------------------------------------------------------------------------

INVOICE_CONTEXT = "User: My invoice has two charges for April. Please fix it."

_INVOICE_SLOTS = (
    ("I will inspect the invoice and payment records.", Gate.AGENT, "Agent"),
    ('lookup_invoice(invoice_id="INV-042")', Gate.AGENT, "Agent tool call"),
    ("two April charges found; one is duplicate.", Gate.WORLD, "Tool observation"),
    ('refund_duplicate_charge(invoice_id="INV-042")', Gate.AGENT, "Agent tool call"),
    ("refund queued; confirmation code R-91.", Gate.WORLD, "Tool observation"),
    ("Thanks -- please send me the confirmation.", Gate.WORLD, "User observation"),
)


def invoice_dialogue() -> Transcript:
    """h_6 = (a_1, a_2, o_3, a_4, o_5, o_6): slots 1, 2, 4 are the agent's, 3, 5, 6 the world's.

    A tool call is an agent slot: the observation is the tool's output, not the call.
    """
    h = Transcript(context=INVOICE_CONTEXT)
    for value, gate, speaker in _INVOICE_SLOTS:
        h = h.append(value, gate, speaker=speaker)
    return h


def invoice_mixture() -> Mixture:
    """Two illustrative hypotheses about the invoice world (not from the paper), for the updates.

    Their numbers are made up so that every world slot discriminates between them.
    """
    acts = [v for v, g, _ in _INVOICE_SLOTS if g is Gate.AGENT]
    obs = [v for v, g, _ in _INVOICE_SLOTS if g is Gate.WORLD]
    third = Fraction(1, 3)
    careful = TableProgram("duplicate_charge", action=dict.fromkeys(acts, third),
                           observation=dict(zip(obs, (Fraction(1, 2), Fraction(1, 3), Fraction(1, 6)))))
    other = TableProgram("other_billing_error", action=dict(zip(acts, (Fraction(1, 2), Fraction(1, 4), Fraction(1, 4)))),
                         observation=dict(zip(obs, (Fraction(1, 4), Fraction(1, 4), Fraction(1, 2)))))
    return Mixture([careful, other], {"duplicate_charge": Fraction(1, 2), "other_billing_error": Fraction(1, 2)})


def invoice_updates(mixture: Mixture | None = None) -> list[dict[str, Any]]:
    """For each slot of the invoice dialogue: who wrote it, whether it is evidence, the weights after it.

    With the default mixture the interventional weights move at slots 3, 5, 6 and stay put at
    1, 2, 4; the observational (naive) weights move at every slot.
    """
    m = invoice_mixture() if mixture is None else expect(mixture, Mixture, "invoice_updates' mixture")
    h = invoice_dialogue()
    do = m.updater(Mode.INTERVENTIONAL, context=h.context)
    obs = m.updater(Mode.OBSERVATIONAL, context=h.context)
    out, before = [], dict(m.prior)
    for i, slot in enumerate(h.slots, start=1):
        after, naive = do.push(slot), obs.push(slot)
        out.append({"slot": i, "gate": int(slot.gate), "speaker": slot.speaker, "value": slot.value,
                    "evidence": is_evidence(slot, Mode.INTERVENTIONAL),
                    "moved": after != before, "weights": after, "naive_weights": naive})
        before = after
    return out
