"""``bayes-agent fire-engine``: the §2.1 derivation, P(fire | engine) vs P(fire | do(engine))."""

from __future__ import annotations

import argparse
import json
from fractions import Fraction

from .._numbers import parse_number

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


def run(args: argparse.Namespace) -> int:
    from ..scm.fire_engine import FireEngineParameters, derive_fire_engine, fire_engine_model

    given = {name: parse_fraction(getattr(args, name), f"--{name.replace('_', '-')}")
             for name, _ in _PARAMETERS if getattr(args, name) is not None}
    params = FireEngineParameters(**given)
    d = derive_fire_engine(params)
    if args.json:
        print(json.dumps(d.as_json(), indent=2))
        return 0
    print("The fire engine of §2.1 as a structural causal model: fire -> report -> engine")
    print()
    print(fire_engine_model(params).describe())
    print()
    print("Derivation (exact):")
    for quantity, formula, value in d.steps:
        print(f"  {quantity}")
        print(f"      = {formula}")
        print(f"      = {value}  (= {float(value):.6g})")
    print()
    print(f"P(fire | engine sent)     = {d.observational} = {float(d.observational):.6g}"
          "   records where an engine was sent")
    print(f"P(fire | do(engine sent)) = {d.interventional} = {float(d.interventional):.6g}"
          "   forcing an engine out leaves the fire process alone")
    return 0
