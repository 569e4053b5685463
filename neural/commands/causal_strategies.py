"""``bayes-agent causal-strategies --out DIR [--config micro|default]``: the passive-causal report."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "causal-strategies",
        help="behaviour-clone a transformer on an exact Bayesian experimenter in a causal-DAG "
        "world and compare it with baselines on held-out dependencies",
    )
    p.add_argument("--out", required=True, help="directory for report.md, metrics.json and the PNG")
    p.add_argument("--config", default="default", choices=("micro", "default"),
                   help="micro: seconds (tests); default: the full comparison (minutes on CPU)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_handler)


def _handler(args: argparse.Namespace) -> int:
    from neural.causal_report import run_causal_report  # torch is imported only here

    run_causal_report(args.out, args.config, verbose=not args.quiet)
    return 0
