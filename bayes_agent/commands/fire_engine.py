"""``bayes-agent fire-engine``: the §2.1 derivation, P(fire | engine) vs P(fire | do(engine))."""

from __future__ import annotations

import argparse
import json
from fractions import Fraction

from .._numbers import decimal_text, parse_number, short

#: Exact values longer than this are shown by their decimal value only (--json has every digit).
EXACT_WIDTH = 40

_PARAMETERS = (
    ("p_fire", "P(fire)"),
    ("p_report_given_fire", "P(report | fire)"),
    ("p_report_given_no_fire", "P(report | no fire)"),
    ("p_engine_given_report", "P(engine | report)"),
    ("p_engine_given_no_report", "P(engine | no report)"),
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "fire-engine",
        help="derive P(fire | engine sent) = 19/20 and P(fire | do(engine sent)) = 1/1000 (§2.1)",
        description="Build the SCM fire -> report -> engine from its parameters and derive the "
        "observational and interventional probability of fire, exactly.",
    )
    for name, label in _PARAMETERS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="P", default=None,
                            help=f"{label} as a fraction or decimal (default: the stated value)")
    parser.add_argument("--json", action="store_true", help="print the quantities as JSON")
    parser.set_defaults(func=run)


def parse_fraction(text: str, what: str) -> Fraction:
    """A user-supplied number as an exact Fraction ('3/10', '0.3'); never evaluated as code."""
    return parse_number(text, what)


def shown(x: Fraction) -> str:
    """``19/20 = 0.95``; one text where the two agree (``0``); a long fraction by its decimal value
    computed exactly (``≈1e-400``, never float's 0)."""
    exact, decimal = short(x, EXACT_WIDTH), decimal_text(x)
    if exact.startswith("≈"):
        return f"≈{decimal} (exact fraction in --json)"
    return exact if exact == decimal else f"{exact} = {decimal}"


def _decimals(data: object) -> object:
    """--json: beside each {"exact", "float"} pair whose float cannot show the value (a positive
    value below float64's range reads 0.0), a "decimal" text computed from the exact value."""
    if isinstance(data, list):
        return [_decimals(v) for v in data]
    if not isinstance(data, dict):
        return data
    out = {k: _decimals(v) for k, v in data.items()}
    if set(out) == {"exact", "float"}:
        q = Fraction(out["exact"])
        if (q != 0 and out["float"] == 0) or out["float"] in (float("inf"), float("-inf")):
            out["decimal"] = decimal_text(q)
    return out


def run(args: argparse.Namespace) -> int:
    from ..scm.fire_engine import FireEngineParameters, derive_fire_engine, fire_engine_model

    given = {name: parse_fraction(getattr(args, name), f"--{name.replace('_', '-')}")
             for name, _ in _PARAMETERS if getattr(args, name) is not None}
    params = FireEngineParameters(**given)
    d = derive_fire_engine(params)
    if args.json:
        print(json.dumps(_decimals(d.as_json()), indent=2))
        return 0
    print("The fire engine of §2.1 as a structural causal model: fire -> report -> engine")
    print()
    print(fire_engine_model(params).describe())
    print()
    print("Derivation (exact):")
    for quantity, formula, value in d.steps:
        print(f"  {quantity}")
        print(f"      = {formula}")
        print(f"      = {shown(value)}")
    print()
    print(f"P(fire | engine sent)     = {shown(d.observational)}   records where an engine was sent")
    print(f"P(fire | do(engine sent)) = {shown(d.interventional)}   forcing an engine out leaves the fire "
          "process alone")
    return 0
