"""``bayes-agent ice-cream``: shorts, ice cream and sun across climates; what is and is not invariant."""

from __future__ import annotations

import argparse
import json
import sys

from .._numbers import short
from ..errors import InvalidArgument
from ..scm.ice_cream import MIN_N_MAX, check_climate
from ._arguments import nonnegative_int
from ._common import add_overwrite_argument, nothing_new_left, prepare_out_dir
from .fire_engine import parse_fraction

FIGURES = ("ice_cream_climates.png", "ice_cream_more_data.png")
N_MAX = 100_000  # the default --n-max
#: The largest --n-max: each seed samples n-max rows at once (about 1 GB of memory at this bound,
#: growing with n-max), so a larger one is refused before any work instead of filling memory.
N_MAX_LIMIT = 10_000_000

_COLUMNS = (
    ("P(sun)", "p_sun"),
    ("P(ice|sh)", "p_ice_given_shorts"),
    ("P(ice|no sh)", "p_ice_given_no_shorts"),
    ("obs contrast", "observational_contrast"),
    ("P(ice|do(sh))", "p_ice_do_shorts"),
    ("causal effect", "causal_effect"),
    ("P(ice|do(sh),sun)", "mechanism_sun"),
    ("P(ice|do(sh),no sun)", "mechanism_no_sun"),
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "ice-cream",
        help="shorts / ice cream / sun: the observational contrast moves with the climate, "
        "the causal effect does not",
        description="Exact table of observational vs interventional quantities across climates "
        "(different P(sun)), optionally with figures.",
    )
    parser.add_argument("--p-sun", action="append", metavar="P", default=None,
                        help="a climate's P(sun) as a fraction or decimal; repeat for several "
                        "(default: the named climates rainy .. desert)")
    parser.add_argument("--direct-effect", metavar="D", default=None,
                        help="what shorts add to P(ice cream) in sun and shade alike (default -1/20)")
    parser.add_argument("--out", metavar="DIR", default=None, help="write the figures as PNG into DIR")
    parser.add_argument("--seed", type=nonnegative_int, default=None,
                        help="first seed of the finite-sample figure (>= 0; default 0; with --out)")
    parser.add_argument("--n-max", type=_n_max, default=None,
                        help=f"largest sample size in the finite-sample figure ({MIN_N_MAX} to {N_MAX_LIMIT:,}; "
                        f"default {N_MAX:,}; with --out; memory grows with it, about 1 GB at the limit)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar while sampling (shown only on a terminal anyway)")
    parser.add_argument("--json", action="store_true", help="print the quantities as JSON")
    add_overwrite_argument(parser)
    parser.set_defaults(func=run)


def _n_max(text: str) -> int:
    """An argparse ``type=`` for --n-max: an integer >= MIN_N_MAX (the bound passive_vs_experiment
    itself checks, so the parser refuses what the job would refuse later)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ {MIN_N_MAX}, got {text!r}") from None
    if value < MIN_N_MAX:
        raise argparse.ArgumentTypeError(f"must be ≥ {MIN_N_MAX}, got {value}")
    if value > N_MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be ≤ {N_MAX_LIMIT:,} (each seed holds n-max samples in memory, "
                                         f"about 1 GB at that bound), got {short(value)}")
    return value


def _sampled(phase, out, seeds: tuple[int, ...], n_max: int, mech, no_progress: bool) -> dict:
    """The finite-sample figure's data, one seed at a time (a progress bar on a terminal), merged
    into the shape :func:`passive_vs_experiment` returns for all seeds at once."""
    from ..scm.ice_cream import CLIMATES, passive_vs_experiment
    from ._common import progress_wanted

    phase.doing = f"sampling up to {n_max:,} rows per seed for the figures in {str(out)!r}"
    bar = None
    if progress_wanted(no_progress):
        from tqdm import tqdm

        bar = tqdm(total=len(seeds), desc=f"ice-cream: sampling n ≤ {n_max:,}", unit="seed", leave=False)
    result: dict = {}
    for seed in seeds:
        one = passive_vs_experiment({k: CLIMATES[k] for k in ("rainy", "sunny")}, CLIMATES["desert"],
                                    n_max=n_max, seeds=(seed,), mechanisms=mech)
        if not result:
            result = one
        else:
            for key in ("seeds", "passive", "experiment"):
                result[key] = result[key] + one[key]
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    phase.doing = "writing the figures"
    return result


def run(args: argparse.Namespace) -> int:
    import sympy

    from ..scm.ice_cream import CLIMATES, IceCreamMechanisms, climate_row, plot_climates, plot_more_data

    if args.out is None:
        figure_only = [flag for flag, given in (("--seed", args.seed is not None), ("--n-max", args.n_max is not None),
                                                ("--overwrite", args.overwrite), ("--no-progress", args.no_progress))
                       if given]
        if figure_only:
            raise InvalidArgument(f"{', '.join(figure_only)} only appl{'y' if len(figure_only) > 1 else 'ies'} "
                                  f"with --out DIR (without it no figure is drawn)")
    seed = 0 if args.seed is None else args.seed
    n_max = N_MAX if args.n_max is None else args.n_max
    mech = IceCreamMechanisms()
    if args.direct_effect is not None:
        mech = IceCreamMechanisms(direct_effect=parse_fraction(args.direct_effect, "--direct-effect"))
    if args.p_sun:
        climates = {f"P(sun)={p}": parse_fraction(p, "--p-sun") for p in args.p_sun}
    else:
        climates = dict(CLIMATES)
    for p in climates.values():  # each value first, then whether there are two to compare
        check_climate(p, "--p-sun")
    if len(set(climates.values())) < 2:
        raise InvalidArgument("--p-sun: give at least two different climates to compare")
    rows = {name: climate_row(p, mech) for name, p in climates.items()}  # checks the mechanisms
    out = None
    if args.out is not None:  # checked before any work (made only to write); only our figures clash
        out = prepare_out_dir(args.out, overwrite=args.overwrite, writes=FIGURES, create=False)

    s = sympy.Symbol("s", positive=True)
    closed = climate_row(s, mech)
    closed_forms = {
        "observational_contrast": str(closed.observational_contrast),
        "p_ice_do_shorts": str(closed.p_ice_do_shorts),
        "causal_effect": str(closed.causal_effect),
        "mechanism_sun": str(closed.mechanism_sun),
    }
    invariant = {
        key: len({getattr(r, key) for r in rows.values()}) == 1
        for key in ("observational_contrast", "p_ice_do_shorts", "causal_effect",
                    "mechanism_sun", "mechanism_no_sun")
    }

    figures: list[str] = []

    def draw() -> None:  # the costly part, after the cheap exact table
        with nothing_new_left(out, FIGURES, "the figures") as phase:  # both figures, or none left by this run
            result = _sampled(phase, out, (seed, seed + 1, seed + 2), n_max, mech, args.no_progress)
            figures.append(str(plot_climates(out / FIGURES[0], mech)))
            figures.append(str(plot_more_data(out / FIGURES[1], result)))

    if args.json:
        if out is not None:
            draw()
        print(json.dumps({
            "structure": "sun -> shorts, sun -> ice_cream, shorts -> ice_cream",
            "mechanisms": {k: str(v) for k, v in vars(mech).items()},
            "climates": {name: r.as_json() for name, r in rows.items()},
            "closed_forms_in_s_equal_p_sun": closed_forms,
            "invariant_across_climates": invariant,
            "figures": figures,
        }, indent=2))
        return 0

    print("Shorts, ice cream and sun: sun -> shorts, sun -> ice cream, shorts -> ice cream")
    print(f"direct effect of shorts on P(ice cream): {short(mech.direct_effect)}")
    print()
    width = max(len(n) for n in rows) + 2
    header = "climate".ljust(width) + "".join(h.rjust(max(len(h), 8) + 2) for h, _ in _COLUMNS)
    print(header)
    for name, r in rows.items():
        cells = "".join(f"{float(getattr(r, k)):.4f}".rjust(max(len(h), 8) + 2) for h, k in _COLUMNS)
        print(name.ljust(width) + cells)
    print()
    for key, label in (("observational_contrast", "observational contrast"),
                       ("p_ice_do_shorts", "P(ice | do(shorts))"),
                       ("causal_effect", "causal effect"),
                       ("mechanism_sun", "P(ice | do(shorts), sun)")):
        values = sorted({getattr(r, key) for r in rows.values()}, key=float)
        verdict = "invariant" if invariant[key] else "moves with the climate"
        shown = short(values[0]) if invariant[key] else f"{short(values[0])} .. {short(values[-1])}"
        print(f"{label:<28} {verdict:<24} exact: {shown}")
    print()
    print("closed forms with s = P(sun):")
    for key, text in closed_forms.items():
        print(f"  {key} = {short(text, 120)}")  # long only for a long typed number
    if out is not None:
        sys.stdout.flush()  # the table is out before the sampling starts
        draw()
        for path in figures:
            print(f"wrote {path}")
    return 0
