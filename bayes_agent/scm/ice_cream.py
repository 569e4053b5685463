"""Shorts, ice cream and sun: confounding, and what stays put when the climate changes.

Sun causes both shorts and ice cream; shorts have at most a small direct effect on ice cream
(here slightly negative: you are cooler already). A model that only sees shorts and ice cream
reads the sun's influence as an effect of shorts. Across climates (different P(sun)):

* the observational contrast P(ice | shorts) - P(ice | no shorts) moves with P(sun);
* the causal effect P(ice | do(shorts)) - P(ice | do(no shorts)) stays put;
* the mechanism P(ice | do(shorts), sun) stays put;
* but P(ice | do(shorts)) alone still moves with P(sun): sun causes ice cream.

Pooling data from several climates fixes a *mix*, and more passive data from the same mix only
pins down that mix's observational contrast more precisely: the wrong, climate-dependent number.
A randomised experiment (shorts assigned by a coin flip) converges to the causal effect.

```python
>>> row = climate_row(Fraction(1, 2))
>>> row.causal_effect, row.mechanism_sun
(Fraction(-1, 20), Fraction(13, 20))

```
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Sequence

from .._numbers import check_probability, is_negative, is_symbolic, parse_number, short
from ..errors import InvalidArgument
from ..figures import offscreen_figure, save_figure
from .model import SCM, Variable, bernoulli

__all__ = [
    "CLIMATES",
    "ClimateRow",
    "IceCreamMechanisms",
    "climate_row",
    "climate_table",
    "ice_cream_model",
    "passive_vs_experiment",
    "plot_climates",
    "plot_more_data",
    "pooled_ice_cream_model",
    "row_from_model",
]

YES_NO = (False, True)

#: Named climates by their P(sun); fixed teaching values.
CLIMATES: dict[str, Fraction] = {
    "rainy": Fraction(1, 10),
    "temperate": Fraction(3, 10),
    "mixed": Fraction(1, 2),
    "sunny": Fraction(7, 10),
    "desert": Fraction(9, 10),
}


@dataclass(frozen=True)
class IceCreamMechanisms:
    """The climate-independent mechanisms: how sun drives shorts and ice cream, and the direct
    effect of shorts on ice cream (the same in sun and shade, so the causal effect is one number)."""

    p_shorts_given_sun: Any = Fraction(4, 5)
    p_shorts_given_no_sun: Any = Fraction(1, 10)
    p_ice_given_sun: Any = Fraction(7, 10)       # without shorts
    p_ice_given_no_sun: Any = Fraction(1, 10)    # without shorts
    direct_effect: Any = Fraction(-1, 20)        # what putting on shorts adds to P(ice)

    def ice(self, sun: bool, shorts: bool) -> Any:
        """P(ice | sun, shorts), the ice-cream mechanism."""
        base = parse_number(self.p_ice_given_sun if sun else self.p_ice_given_no_sun, "P(ice | sun)")
        return base + (parse_number(self.direct_effect, "direct_effect") if shorts else 0)


def _check_mechanisms(mech: IceCreamMechanisms) -> None:
    if not isinstance(mech, IceCreamMechanisms):
        raise InvalidArgument(f"expected IceCreamMechanisms, got {type(mech).__name__}")
    for name in ("p_shorts_given_sun", "p_shorts_given_no_sun", "p_ice_given_sun", "p_ice_given_no_sun"):
        check_probability(getattr(mech, name), name)
    for sun in YES_NO:
        value = mech.ice(sun, True)
        if is_negative(value) or is_negative(1 - value):
            raise InvalidArgument(
                f"direct_effect {short(mech.direct_effect)} takes P(ice | sun={sun}, shorts) to {short(value)}, "
                f"outside [0, 1]"
            )


def _ice_variable(mech: IceCreamMechanisms) -> Variable:
    return Variable("ice_cream", YES_NO, ("sun", "shorts"), {
        (sun, shorts): bernoulli(mech.ice(sun, shorts)) for sun in YES_NO for shorts in YES_NO
    })


def _shorts_variable(mech: IceCreamMechanisms) -> Variable:
    return Variable("shorts", YES_NO, ("sun",), {
        True: bernoulli(mech.p_shorts_given_sun),
        False: bernoulli(mech.p_shorts_given_no_sun),
    })


def ice_cream_model(p_sun: Any, mechanisms: IceCreamMechanisms | None = None) -> SCM:
    """The SCM sun -> shorts, sun -> ice_cream, shorts -> ice_cream in a climate with P(sun) = p_sun.

    ``p_sun`` may be a Fraction, a fraction string, a float or a sympy symbol (closed forms).
    """
    mech = mechanisms or IceCreamMechanisms()
    _check_mechanisms(mech)
    return SCM([
        Variable("sun", YES_NO, cpt=bernoulli(check_probability(p_sun, "p_sun"))),
        _shorts_variable(mech),
        _ice_variable(mech),
    ])


def pooled_ice_cream_model(climates: Mapping[str, Any], weights: Mapping[str, Any] | None = None,
                           mechanisms: IceCreamMechanisms | None = None) -> SCM:
    """Data pooled from several climates: climate -> sun -> {shorts, ice_cream}.

    ``climates`` maps names to P(sun); ``weights`` (default: equal) is the share of the data that
    comes from each climate. The mechanisms are the same everywhere; only the sun differs.
    """
    mech = mechanisms or IceCreamMechanisms()
    _check_mechanisms(mech)
    if not isinstance(climates, Mapping) or not climates:
        raise InvalidArgument("climates must be a non-empty mapping {name: P(sun)}")
    names = tuple(climates)
    if weights is None:
        weights = {n: Fraction(1, len(names)) for n in names}
    if not isinstance(weights, Mapping) or set(weights) != set(names):
        raise InvalidArgument(f"weights must give a share for exactly the climates {list(names)}")
    return SCM([
        Variable("climate", names, cpt={n: weights[n] for n in names}),
        Variable("sun", YES_NO, ("climate",), {
            n: bernoulli(check_probability(climates[n], f"P(sun) in {n!r}")) for n in names
        }),
        _shorts_variable(mech),
        _ice_variable(mech),
    ])


@dataclass(frozen=True)
class ClimateRow:
    """Everything the lesson compares, for one climate, computed exactly by the SCM engine."""

    p_sun: Any
    p_ice_given_shorts: Any            # P(ice | shorts)
    p_ice_given_no_shorts: Any         # P(ice | no shorts)
    observational_contrast: Any        # their difference: moves with the climate
    p_ice_do_shorts: Any               # P(ice | do(shorts)): moves with the climate
    p_ice_do_no_shorts: Any            # P(ice | do(no shorts))
    causal_effect: Any                 # their difference: invariant
    mechanism_sun: Any                 # P(ice | do(shorts), sun): invariant
    mechanism_no_sun: Any              # P(ice | do(shorts), no sun): invariant

    def as_json(self) -> dict:
        return {k: {"exact": str(v), "float": float(v)} for k, v in asdict(self).items()}


def row_from_model(m: SCM) -> ClimateRow:
    """The lesson's quantities for any model with variables sun, shorts, ice_cream."""
    ice = {"ice_cream": True}
    obs1 = m.probability(ice, given={"shorts": True})
    obs0 = m.probability(ice, given={"shorts": False})
    do1 = m.probability(ice, do={"shorts": True})
    do0 = m.probability(ice, do={"shorts": False})
    return ClimateRow(
        p_sun=m.probability({"sun": True}),
        p_ice_given_shorts=obs1,
        p_ice_given_no_shorts=obs0,
        observational_contrast=_simplify(obs1 - obs0),
        p_ice_do_shorts=do1,
        p_ice_do_no_shorts=do0,
        causal_effect=_simplify(do1 - do0),
        mechanism_sun=m.probability(ice, do={"shorts": True}, given={"sun": True}),
        mechanism_no_sun=m.probability(ice, do={"shorts": True}, given={"sun": False}),
    )


def _simplify(x: Any) -> Any:
    return x.simplify() if is_symbolic(x) else x


def climate_row(p_sun: Any, mechanisms: IceCreamMechanisms | None = None) -> ClimateRow:
    """The lesson's quantities in the climate P(sun) = p_sun, strictly between 0 and 1 (or a symbol)."""
    return row_from_model(ice_cream_model(check_climate(p_sun), mechanisms))


def check_climate(p_sun: Any, what: str = "P(sun)") -> Any:
    """P(sun) for a climate row: a probability strictly between 0 and 1 (a symbol passes), since
    the row conditions on sun and on no sun and one of them would have probability 0."""
    p = parse_number(p_sun, what)
    if not (is_symbolic(p) and p.free_symbols) and not 0 < p < 1:
        raise InvalidArgument(f"{what}: {short(p)} must lie strictly between 0 and 1; the row conditions "
                              f"on both sun and no sun, and one of them would have probability 0")
    return p


def climate_table(p_suns: Sequence[Any] | Mapping[str, Any] = CLIMATES,
                  mechanisms: IceCreamMechanisms | None = None) -> list[ClimateRow]:
    """One :class:`ClimateRow` per climate (a sequence of P(sun), or a mapping name -> P(sun))."""
    values = list(p_suns.values()) if isinstance(p_suns, Mapping) else list(p_suns)
    if not values:
        raise InvalidArgument("climate_table needs at least one climate")
    return [climate_row(p, mechanisms) for p in values]


# ------------------------------------------------------------------------------------------------
# finite samples: passive data from a fixed mix of climates vs a randomised experiment


def _contrast_curve(shorts: Any, ice: Any, ns: Sequence[int]) -> list[float]:
    """P̂(ice | shorts) - P̂(ice | no shorts) from the first n samples, for each n."""
    import numpy as np

    s = np.asarray(shorts, dtype=bool)
    i = np.asarray(ice, dtype=bool)
    n_sh = np.cumsum(s)
    n_ice_sh = np.cumsum(s & i)
    n_no = np.cumsum(~s)
    n_ice_no = np.cumsum(~s & i)
    out = []
    for n in ns:
        a, b = n_sh[n - 1], n_no[n - 1]
        out.append(float(n_ice_sh[n - 1] / a - n_ice_no[n - 1] / b) if a and b else float("nan"))
    return out


#: The smallest ``n_max`` of :func:`passive_vs_experiment` (and of ``ice-cream --n-max``): its log
#: grid of sample sizes starts at n = 10 and should reach past it.
MIN_N_MAX = 20


def passive_vs_experiment(training: Mapping[str, Any], target: Any, *,
                          weights: Mapping[str, Any] | None = None, n_max: int = 100_000,
                          seeds: Sequence[int] = (0, 1, 2),
                          mechanisms: IceCreamMechanisms | None = None) -> dict:
    """Estimates of the shorts -> ice contrast from n samples, n = 10 .. n_max (log grid).

    Passive data come from ``training`` (a mix of climates, pooled); the experiment draws from the
    same pool but assigns shorts by a fair coin, which cuts sun -> shorts. Exact limits from the
    engine are returned beside the estimates: the pool's observational contrast (where passive
    estimates go), the ``target`` climate's observational contrast (where a user deploys), and the
    causal effect (where the experiment goes, the same in every climate).
    """
    import numpy as np

    if isinstance(n_max, bool) or not isinstance(n_max, int) or n_max < MIN_N_MAX:
        raise InvalidArgument(f"n_max must be an int >= {MIN_N_MAX}, got {n_max!r}")
    if not seeds:
        raise InvalidArgument("seeds must name at least one seed")
    check_climate(target, "target")  # before the sampling, not after it
    mech = mechanisms or IceCreamMechanisms()
    pool = pooled_ice_cream_model(training, weights, mech)
    coin = Variable("shorts", YES_NO, cpt=bernoulli(Fraction(1, 2)))
    experiment = SCM([coin if v.name == "shorts" else v for v in pool.variables])

    ns = sorted({int(round(x)) for x in np.logspace(1, np.log10(n_max), 60)})
    passive, randomised = [], []
    for seed in seeds:
        d = pool.sample(n_max, seed=seed)
        passive.append(_contrast_curve(d["shorts"], d["ice_cream"], ns))
        e = experiment.sample(n_max, seed=10_000 + seed)
        randomised.append(_contrast_curve(e["shorts"], e["ice_cream"], ns))
    pool_row = row_from_model(pool)
    target_row = climate_row(target, mech)
    return {
        "n": ns,
        "seeds": list(seeds),
        "passive": passive,
        "experiment": randomised,
        "pool_observational_contrast": pool_row.observational_contrast,
        "pool_p_sun": pool_row.p_sun,
        "target_p_sun": parse_number(target, "target"),
        "target_observational_contrast": target_row.observational_contrast,
        "causal_effect": pool_row.causal_effect,
    }


# ------------------------------------------------------------------------------------------------
# figures (matplotlib on a private Agg canvas, imported only when drawing; bayes_agent.figures)


def plot_climates(path: str | Path, mechanisms: IceCreamMechanisms | None = None,
                  climates: Mapping[str, Any] = CLIMATES, points: int = 99) -> Path:
    """Two panels over P(sun) in (0, 1): contrasts (left) and levels (right); PNG at ``path``.

    The end points are left out: with P(sun) = 0 the mechanism P(ice | do(shorts), sun) conditions
    on an impossible event (the engine raises ZeroEvidence there), and likewise at P(sun) = 1.
    """
    if isinstance(points, bool) or not isinstance(points, int) or points < 3:
        raise InvalidArgument(f"points must be an int >= 3, got {points!r}")
    grid = [Fraction(k, points + 1) for k in range(1, points + 1)]
    rows = climate_table(grid, mechanisms)
    xs = [float(r.p_sun) for r in rows]
    named = [(name, climate_row(p, mechanisms)) for name, p in climates.items()]

    fig, (left, right) = offscreen_figure(1, 2, figsize=(12, 4.8), constrained_layout=True)
    left.plot(xs, [float(r.observational_contrast) for r in rows], color="tab:red", lw=2.2,
              label="observational: P(ice | shorts) - P(ice | no shorts)")
    left.plot(xs, [float(r.causal_effect) for r in rows], color="tab:blue", lw=2.2,
              label="causal: P(ice | do(shorts)) - P(ice | do(no shorts))")
    for name, r in named:
        left.plot(float(r.p_sun), float(r.observational_contrast), "o", color="tab:red", ms=6)
        left.annotate(name, (float(r.p_sun), float(r.observational_contrast)),
                      textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
    left.axhline(0, color="grey", lw=0.8)
    left.set_xlabel("climate: P(sun)")
    left.set_ylabel("difference in P(ice cream)")
    left.set_title("Effect of shorts on ice cream")
    left.legend(loc="upper center", fontsize=8.5, frameon=True)
    left.set_xlim(0, 1)
    lo = min(min(float(r.causal_effect) for r in rows), 0)
    hi = max(float(r.observational_contrast) for r in rows)
    left.set_ylim(lo - 0.05, hi + 0.18)

    right.plot(xs, [float(r.p_ice_do_shorts) for r in rows], color="tab:purple", lw=2.2,
               label="P(ice | do(shorts)): moves, sun causes ice cream")
    right.plot(xs, [float(r.mechanism_sun) for r in rows], color="tab:orange", lw=2.2, ls="--",
               label="P(ice | do(shorts), sun): mechanism, invariant")
    right.plot(xs, [float(r.mechanism_no_sun) for r in rows], color="tab:gray", lw=2.2, ls="--",
               label="P(ice | do(shorts), no sun): mechanism, invariant")
    right.set_xlabel("climate: P(sun)")
    right.set_ylabel("probability of ice cream")
    right.set_title("What an intervention predicts")
    right.set_xlim(0, 1)
    right.set_ylim(0, 1)
    right.legend(loc="upper left", fontsize=8.5, frameon=True)
    fig.suptitle("Across climates: the observational contrast moves, the causal effect and mechanisms stay put")
    return save_figure(fig, path, dpi=120)


def plot_more_data(path: str | Path, result: Mapping[str, Any] | None = None) -> Path:
    """Finite-sample estimates vs n (log axis) with their exact limits; PNG at ``path``.

    ``result`` is the output of :func:`passive_vs_experiment` (default: training pooled from the
    rainy and sunny climates, deployment in the desert).
    """
    if result is None:
        result = passive_vs_experiment({k: CLIMATES[k] for k in ("rainy", "sunny")}, CLIMATES["desert"])
    ns = result["n"]
    fig, ax = offscreen_figure(figsize=(10, 6.2), constrained_layout=True)
    for k, curve in enumerate(result["passive"]):
        ax.plot(ns, curve, color="tab:red", lw=1.3, alpha=0.85,
                label="passive data from the training mix" if k == 0 else None)
    for k, curve in enumerate(result["experiment"]):
        ax.plot(ns, curve, color="tab:blue", lw=1.3, alpha=0.85,
                label="randomised experiment (shorts by coin flip)" if k == 0 else None)
    pool = float(result["pool_observational_contrast"])
    target = float(result["target_observational_contrast"])
    causal = float(result["causal_effect"])
    ax.axhline(pool, color="tab:red", ls="--", lw=1.2,
               label=f"limit of passive data, training mix P(sun)={result['pool_p_sun']}: {pool:+.3f}")
    ax.axhline(target, color="darkred", ls=":", lw=1.6,
               label=f"observational contrast in target climate P(sun)={result['target_p_sun']}: {target:+.3f}")
    ax.axhline(causal, color="tab:blue", ls="--", lw=1.2,
               label=f"causal effect, every climate: {result['causal_effect']} = {causal:+.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("number of samples n")
    ax.set_ylabel("estimated P(ice | shorts) - P(ice | no shorts)")
    ax.set_title("More data from the same mix of climates converges to the wrong number")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8.5, frameon=False)
    return save_figure(fig, path, dpi=120)
