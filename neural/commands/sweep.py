"""``bayes-agent sweep``: the §5 experiment over the agent's lie rate p_lie (the dose-response)."""

from __future__ import annotations

import argparse
from typing import Any

from bayes_agent.commands import named_option, nonnegative_int
from bayes_agent.commands import (add_overwrite_argument, hold_out_dir, nothing_left_if_rejected, prepare_out_dir,
                                  progress_wanted, resume_command, save_on_interrupt)
from bayes_agent.errors import BayesAgentError

from .reproduce import add_experiment_options, resolve_preset

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="run the §5 experiment over p_lie and seeds; fit the slope of mean Δ per arm "
        "(default 18 runs: roughly 25-60 min on 2 CPU cores; at least 3 runs)",
        description="Dose-response: every arm fine-tuned from one shared base at each lie rate "
        "and seed; writes sweep.json, figure_sweep.png and report.md. Each run is written as it "
        "finishes; after an interruption, the same command with --resume continues the sweep. "
        "Typical time on 2 CPU cores: one reproduce run per (p_lie, seed), 75-192 s each with the "
        "tiny preset (docs/experiment.md), so the default 6 rates x 3 seeds take roughly 25-60 min. "
        "A slope with a confidence interval needs at least 3 runs (rates x seeds).",
    )
    p.add_argument("--out", required=True, help="sweep directory")
    p.add_argument("--p-lie", dest="p_lies", type=float, nargs="+", default=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
                   help="lie rates (default 0 0.2 0.4 0.6 0.8 1.0)")
    p.add_argument("--seeds", type=nonnegative_int, nargs="+", default=[0, 1, 2],
                   help="seeds per lie rate, integers >= 0 (default 0 1 2)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (each uses --threads torch threads)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (there is none anyway when stderr is not a terminal)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted sweep in --out "
                   "(finished runs are kept)")
    p.add_argument("--max-steps", type=int, default=None, help="stop each arm of every run after N steps "
                   "(smoke runs); --resume keeps it")
    p.add_argument("--probe-facts", type=int, default=None, metavar="N",
                   help="probe only the first N training facts (and N held-out ones); --resume keeps it")
    add_experiment_options(p)
    add_overwrite_argument(p)
    p.set_defaults(func=_handle, checkpoint_every=None, p_lie=None)


def _handle(args: argparse.Namespace) -> int:
    from ..devices import check_threads, resolve_device

    named_option("--threads", check_threads, args.threads)
    preset, bank = resolve_preset(args)
    _check_jobs(args.jobs, preset.threads)
    try:
        import torch  # noqa: F401
    except ImportError:
        raise BayesAgentError("`sweep` needs torch and transformers: pip install 'bayes-agent[neural]'") from None
    named_option("--device" if args.device is not None else "--device (the preset's)", resolve_device, preset.device)
    with nothing_left_if_rejected(args.out):  # a sweep refused (say, a bad --p-lie) leaves no empty --out
        out = prepare_out_dir(args.out, overwrite=args.overwrite, resume=args.resume)
        with hold_out_dir(out, "sweep"):  # a second sweep into this --out meanwhile is refused
            return _sweep(args, out, preset, bank)


def _check_jobs(jobs: int, threads: int | None) -> None:
    """Refuse more worker processes than the CPUs can run at once (each uses ``threads`` torch threads),
    as ``--threads`` is refused beyond the CPU count: more would only thrash."""
    import os

    if jobs < 1:
        raise BayesAgentError(f"--jobs must be at least 1, got {jobs}")
    n = os.cpu_count() or 1
    per_job = threads or 1
    if jobs * per_job > n:
        detail = f" at {per_job} threads each" if per_job > 1 else ""
        raise BayesAgentError(f"--jobs must be between 1 and {max(1, n // per_job)} on this machine ({n} CPUs"
                              f"{detail}), got {jobs}")


def _sweep(args: argparse.Namespace, out: Any, preset: Any, bank: Any) -> int:
    from ..sft.sweep import run_sweep

    n_runs = len(args.p_lies) * len(args.seeds)

    def finished() -> str:
        return f"{len(list(out.glob('p_*/seed_*/metrics.json')))} of {n_runs} runs in {out}"

    with save_on_interrupt(finished, lambda: resume_command(args.argv, drop=("--overwrite", "--rebuild-base"),
                                                            add=["--resume"])):
        s = run_sweep(preset, args.out, args.p_lies, args.seeds, jobs=args.jobs,
                      progress=progress_wanted(args.no_progress), bank=bank, base_cache=args.base_cache,
                      rebuild_base=args.rebuild_base, fresh=args.overwrite)
    for arm in s["arms"]:
        print(f"{arm}: slope {s['slope'][arm]:+.3f} [{s['slope_ci_low'][arm]:+.3f}, {s['slope_ci_high'][arm]:+.3f}]")
    args.saved = f"{len(s['runs'])} runs, sweep.json and report.md in {args.out}"
    print(f"{len(s['runs'])} runs in {s['seconds_wall']:.0f} s; report: {args.out}/report.md")
    return 0
