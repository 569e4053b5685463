"""``bayes-agent causal-strategies --out DIR [--config micro|default]``: the passive-causal report."""

from __future__ import annotations

import argparse

from bayes_agent.commands._common import add_overwrite_argument, prepare_out_dir
from bayes_agent.errors import InvalidArgument

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "causal-strategies",
        help="behaviour-clone a transformer on an exact Bayesian experimenter in a causal-DAG "
        "world and compare it with baselines on held-out dependencies",
    )
    p.add_argument("--out", required=True, help="directory for report.md, metrics.json and the PNG")
    p.add_argument("--config", default="default", choices=("micro", "default", "fixed-identities"),
                   help="micro: seconds (tests); default: the full comparison (about 10 minutes "
                   "on 2 CPU cores); fixed-identities: the default with the node-identity shuffle "
                   "switched off (the ablation)")
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes, one seed each at a time (default: one per CPU core); "
                   "the numbers do not depend on it")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_overwrite_argument(p)
    p.set_defaults(func=_handler)


def _handler(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise InvalidArgument(f"--jobs must be a positive integer, got {args.jobs}")
    prepare_out_dir(args.out, overwrite=args.overwrite)  # before ~10 minutes of work, not after
    from ..dag.report import run_causal_report  # torch is imported only here

    run_causal_report(args.out, args.config, verbose=not args.quiet, jobs=args.jobs)
    return 0
