"""``bayes-agent sweep``: the §5 experiment over the agent's lie rate p_lie (the dose-response)."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from bayes_agent.errors import BayesAgentError

from .reproduce import add_experiment_options, resolve_preset

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="run the §5 experiment over p_lie and seeds; fit the slope of mean Δ per arm",
        description="Dose-response: every arm fine-tuned from one shared base at each lie rate "
        "and seed; writes sweep.json, figure_sweep.png and report.md. Finished runs are kept, so "
        "rerunning the same command after an interruption continues the sweep.",
    )
    p.add_argument("--out", required=True, help="sweep directory")
    p.add_argument("--p-lie", dest="p_lies", type=float, nargs="+", default=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
                   help="lie rates (default 0 0.2 0.4 0.6 0.8 1.0)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=1, help="worker processes (each uses --threads torch threads)")
    p.add_argument("--preset", default="tiny", help="tiny (default), micro or paper")
    p.add_argument("--model", default=None, help="hub id or local directory of a causal LM (local files only)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--n-dialogues", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_experiment_options(p)
    p.set_defaults(func=_handle, checkpoint_every=None, p_lie=None)


def _handle(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise BayesAgentError("`sweep` needs torch and transformers: pip install 'bayes-agent[neural]'") from None
    from ..sft.sweep import run_sweep

    if args.jobs < 1:
        raise BayesAgentError(f"--jobs must be at least 1, got {args.jobs}")
    preset, bank = resolve_preset(args)
    try:
        s = run_sweep(preset, args.out, args.p_lies, args.seeds, jobs=args.jobs, progress=not args.no_progress,
                      bank=bank, base_cache=args.base_cache, rebuild_base=args.rebuild_base)
    except KeyboardInterrupt:
        print(f"\ninterrupted; finished runs are saved under {args.out}; continue with:\n  bayes-agent "
              f"{shlex.join(a for a in sys.argv[1:] if a != '--rebuild-base')}", file=sys.stderr)
        raise
    for arm in s["arms"]:
        print(f"{arm}: slope {s['slope'][arm]:+.3f} [{s['slope_ci_low'][arm]:+.3f}, {s['slope_ci_high'][arm]:+.3f}]")
    print(f"{len(s['runs'])} runs in {s['seconds_wall']:.0f} s; report: {args.out}/report.md")
    return 0
