"""``bayes-agent causal-strategies --out DIR [--config baselines|micro|default|shuffled-identities]``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["CONFIG_NAMES", "register"]

#: ``baselines`` needs no torch; the others train the passive learner (neural.dag.report.CONFIGS)
CONFIG_NAMES: tuple[str, ...] = ("baselines", "micro", "default", "shuffled-identities")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "causal-strategies",
        help="behaviour-clone a transformer on an exact Bayesian experimenter in a causal-DAG "
        "world and compare it with baselines on held-out dependencies",
    )
    p.add_argument("--out", required=True, help="directory for report.md, metrics.json and the PNGs")
    p.add_argument("--config", default="default", choices=CONFIG_NAMES,
                   help="baselines: the non-learned agents only (no torch, about 2 minutes); micro: "
                   "seconds (tests); default: the full study (4 seeds); shuffled-identities: the "
                   "default learner with node identities reshuffled per episode (a named variant "
                   "whose target split is in-distribution by construction)")
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes, one seed each at a time (default: one per CPU core); "
                   "the numbers do not depend on it")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_handler)


def _handler(args: argparse.Namespace) -> int:
    try:
        if args.config == "baselines":
            from bayes_agent.dag.evaluation import run_baselines

            run_baselines(args.out, verbose=not args.quiet)
        else:
            from ..dag.report import run_causal_report  # torch is imported only here

            run_causal_report(args.out, args.config, verbose=not args.quiet, jobs=args.jobs)
    except KeyboardInterrupt:
        print(f"causal-strategies: interrupted; seeds already finished are saved in {args.out}/seeds",
              file=sys.stderr)
        return 130
    return 0
