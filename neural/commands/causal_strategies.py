"""``bayes-agent causal-strategies --out DIR [--config baselines|micro|default|explanations|shuffled-identities|cued-micro|cued]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bayes_agent.commands import (add_overwrite_argument, hold_out_dir, prepare_out_dir, resume_command,
                                  save_on_interrupt)
from bayes_agent.errors import InvalidArgument

__all__ = ["CONFIG_NAMES", "register"]

#: ``baselines`` needs no torch; the others train the passive learner (neural.dag.report.CONFIGS)
CONFIG_NAMES: tuple[str, ...] = ("baselines", "micro", "default", "explanations", "shuffled-identities",
                                 "cued-micro", "cued")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "causal-strategies",
        help="behaviour-clone a transformer on an exact Bayesian experimenter in a causal-DAG "
        "world and compare it with baselines on held-out dependencies (default: about 5 min on 2 CPU cores "
        "when idle, 44 min under heavy load; baselines: 1-8 min)",
        description="Typical time on 2 CPU cores (docs/causal_strategies.md): --config baselines "
        "1-8 minutes, micro seconds, default (4 seeds) 4.7 minutes idle and 43.6 minutes at load 13-19, "
        "explanations 9.8 minutes idle, cued (3 seeds, one process) 25.5 minutes at load 4-5.",
    )
    p.add_argument("--out", required=True, help="directory for report.md, metrics.json and the PNGs")
    p.add_argument("--config", default="default", metavar="{" + ",".join(CONFIG_NAMES) + "}",
                   help="baselines: the non-learned agents only (no torch, 1-8 minutes); micro: "
                   "seconds (tests); default: the full study (4 seeds, the relation learner); explanations: the "
                   "default plus the explanation experiment; shuffled-identities: the "
                   "default learner with node identities reshuffled per episode (a named variant "
                   "whose target split is in-distribution by construction); cued: the talk's adaptive "
                   "experiments (8 variables, a multi-hot cue names the 5 the DAG lives on, whole cue "
                   "subsets held out); cued-micro: its seconds-long test size")
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes, one seed each at a time (default: one per CPU core); "
                   "the numbers do not depend on it")
    p.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true",
                   help="no progress lines (--no-progress, as in reproduce and sweep)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out: "
                   "the seeds it finished (in --out/seeds) are kept, not run again, once checked to "
                   "come from the same settings (baselines keeps no partial results: it starts over)")
    add_overwrite_argument(p)
    p.set_defaults(func=_handler)


def _handler(args: argparse.Namespace) -> int:
    if args.config not in CONFIG_NAMES:  # checked here, not by argparse: one line, not the usage
        raise InvalidArgument(f"--config: no configuration {args.config!r}; choose one of {', '.join(CONFIG_NAMES)}")
    if args.jobs is not None and args.jobs < 1:
        raise InvalidArgument(f"--jobs must be a positive integer, got {args.jobs}")
    out = prepare_out_dir(args.out, overwrite=args.overwrite, resume=args.resume)  # before the work, not after
    with hold_out_dir(out, "causal-strategies"):  # a second run into this --out meanwhile is refused
        if args.resume:
            _check_same_config(out, args.config)

        if args.config == "baselines":  # it keeps nothing until it finishes: Ctrl-C means run it again
            from bayes_agent.dag.evaluation import run_baselines

            def again() -> str:  # with --resume, baselines starts over in the same folder (nothing to keep)
                return resume_command(args.argv, add=["--resume"])

            with save_on_interrupt(lambda: "nothing: the baselines configuration writes its results only when it "
                                           "finishes, so it runs again from the start", again):
                run_baselines(args.out, verbose=not args.quiet)
        else:
            def finished() -> str:
                return f"{len(list((out / 'seeds').glob('seed_*.json')))} finished seed(s) in {out / 'seeds'}"

            with save_on_interrupt(finished, lambda: resume_command(args.argv, add=["--resume"])):
                from ..dag.report import run_causal_report  # torch is imported only here

                run_causal_report(args.out, args.config, verbose=not args.quiet, jobs=args.jobs, resume=args.resume)
    written = {"baselines": "", "cued-micro": " and the training curve", "cued": " and the training curve"}
    args.saved = f"report.md, metrics.json{written.get(args.config, ' and the figures')} in {args.out}"
    return 0


def _check_same_config(out: Path, config: str) -> None:
    """``--resume`` continues only a run of the same ``--config``: the finished run's metrics.json
    names its configuration, and saved seeds mark a learning one. Another configuration would write
    its report beside the first one's figures and seeds; refused before any work, naming both."""
    metrics = out / "metrics.json"
    try:
        made = json.loads(metrics.read_text()).get("config")
    except FileNotFoundError:
        made = None
    except (OSError, ValueError, AttributeError) as exc:
        raise InvalidArgument(f"--resume: cannot read {metrics} ({type(exc).__name__}), so the configuration "
                              f"of the run there is unknown; start again with --overwrite or a new --out") from None
    seeds = sorted((out / "seeds").glob("seed_*.json"))
    if made is None and seeds and config == "baselines":
        made = "a learning configuration (it saved " + seeds[0].name + ")"
    if isinstance(made, str) and made != config and not (made == "custom" and config != "baselines"):
        shown = made if made.startswith("a ") else f"--config {made}"
        raise InvalidArgument(f"--resume: {out} was made with {shown}, not --config {config}; resume with "
                              f"the configuration it was made with, or start again with --overwrite or a new --out")
