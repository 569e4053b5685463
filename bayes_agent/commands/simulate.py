"""``bayes-agent simulate``: the delusion simulator on the §4 mixture; one trajectory, two updaters.

Prints the §4 two-slot special case (exact fractions), then lock-on and recovery statistics over
many seeded runs for an agent acting on the interventional posterior and one acting on the naive
posterior. ``--out DIR`` writes the figures as PNG.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InvalidArgument
from ._arguments import nonnegative_int
from ._common import Phase, add_overwrite_argument, nothing_new_left, prepare_out_dir

#: Above this many steps an --exact run warns that its cost grows with steps² (one run of 10,000
#: steps took about 20 s and 190 MB on the 2-core development machine; 2,000 steps about 2 s).
EXACT_WARN_STEPS = 2000

HELP = "delusion simulator: one trajectory scored by the naive and the interventional updater"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate",
        help=HELP,
        description="An agent acts on the §4 mixture (prior 0.35/0.65, kernels 0.2/0.8 and 0.9/0.1) "
        "against a world program; each trajectory is scored by the interventional and the naive "
        "(observational) updater. Reports the two-slot §4 numbers, the fraction of runs locked onto "
        "a wrong program, and the time to recover.",
    )
    p.add_argument("--runs", type=int, default=200, help="number of seeded runs (default 200)")
    p.add_argument("--steps", type=int, default=60,
                   help="slots per run, agent and world alternating (default 60)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the first run (>= 0); run k uses seed + k")
    p.add_argument("--policy", choices=("threshold", "sample"), default="threshold",
                   help="threshold rule of §4.1 (write B when π(B) ≥ 1/2) or posterior sampling (§3.4)")
    p.add_argument("--world", choices=("p_B", "p_A"), default="p_B",
                   help="the program that writes the world's slots: the truth (default p_B)")
    p.add_argument("--exact", action="store_true",
                   help="run the ensembles in exact rationals (default: float; the §4 case is always exact). "
                   "Every exact weight of every slot is kept, so time and memory grow with steps² per run "
                   f"(a warning is printed above {EXACT_WARN_STEPS} steps)")
    p.add_argument("--out", metavar="DIR", default=None, help="write the figures as PNG into DIR")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


_FIGURES = ("delusion_ensemble_actor_do.png", "delusion_ensemble_actor_obs.png", "delusion_trajectory.png")


def run(args: argparse.Namespace) -> int:
    for name in ("runs", "steps"):
        if getattr(args, name) < 1:
            raise InvalidArgument(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.exact and args.steps > EXACT_WARN_STEPS:
        print(f"warning: --exact keeps every exact weight of every slot, so time and memory grow with "
              f"steps² per run ({args.steps} steps × {args.runs} runs × 2 actors; one run of 10,000 steps "
              f"took about 20 s and 190 MB); the default float arithmetic grows linearly", file=sys.stderr)
    if args.out is None:
        return _run(args, None)
    # checked before any work (only our own three figures count as a clash), created once it starts
    out = prepare_out_dir(args.out, overwrite=args.overwrite, writes=_FIGURES, create=False)
    with nothing_new_left(out, _FIGURES, "the figures") as phase:  # all three figures, or none left by this run
        return _run(args, out, phase)


def _run(args: argparse.Namespace, out: Path | None, phase: Phase | None = None) -> int:
    from ..simulate import plot_ensemble, plot_trajectory, simulate_many, simulate_trajectory
    from ..worked import two_action_mixture

    if phase is not None:  # a Ctrl-C line names what was going on
        phase.doing = "simulating"

    m = two_action_mixture()

    # §4 as a special case: the first seed on which the world writes B after the agent's A.
    special = None
    for s in range(args.seed, args.seed + 1000):
        t = simulate_trajectory(m, "p_B", steps=2, seed=s)
        if t.history.values[1] == "B":
            special = t
            break
    assert special is not None  # P(B) = 4/5 per seed: 1000 misses in a row do not happen
    q = lambda x: {"exact": str(x), "float": float(x)}  # noqa: E731
    section4 = {
        "seed": special.seed,
        "slots": [[str(s.value), int(s.gate)] for s in special.history],
        "w1_p_B": q(special.weights_do[1]["p_B"]), "w1_naive_p_B": q(special.weights_obs[1]["p_B"]),
        "w2_p_B": q(special.weights_do[2]["p_B"]), "w2_naive_p_B": q(special.weights_obs[2]["p_B"]),
    }

    arithmetic = "exact" if args.exact else "float"
    ensembles = {
        actor: simulate_many(m, args.world, runs=args.runs, steps=args.steps, seed=args.seed,
                             policy=args.policy, actor=actor, arithmetic=arithmetic)
        for actor in ("do", "obs")
    }
    figures: list[str] = []
    if out is not None:
        if phase is not None:
            phase.doing = "writing the figures"
        for actor, e in ensembles.items():
            figures.append(str(plot_ensemble(e, out / f"delusion_ensemble_actor_{actor}.png")))
        locked = [t for t in ensembles["obs"].trajectories if t.locked("obs")]
        example = locked[0] if locked else ensembles["obs"].trajectories[0]
        figures.append(str(plot_trajectory(example, out / "delusion_trajectory.png",
                                           slots=min(args.steps, 30))))

    summaries = {f"agent_acts_on_{'interventional' if a == 'do' else 'naive'}_posterior": e.summary()
                 for a, e in ensembles.items()}
    if args.json:
        print(json.dumps({"section4": section4, "ensembles": summaries, "figures": figures},
                         indent=2, ensure_ascii=False))
        return 0

    print("Delusion simulator on the §4 mixture: prior w_0(p_B) = 7/20, ν_pB(A) = 1/5, ν_pA(A) = 9/10")
    print()
    print(f"§4 special case (seed {special.seed}): slots "
          + ", ".join(f"{'do(' + str(s.value) + ')' if s.is_agent else s.value}" for s in special.history))
    for key in ("w1_p_B", "w1_naive_p_B", "w2_p_B", "w2_naive_p_B"):
        print(f"  {key:<14} {section4[key]['exact']:>9} ≈ {section4[key]['float']:.4f}")
    print()
    print(f"{args.runs} runs × {args.steps} slots, policy {args.policy}, world {args.world}, "
          f"{arithmetic} arithmetic, seeds {args.seed}..{args.seed + args.runs - 1}")
    header = f"  {'agent acts on':<16}{'updater':<16}{'locked wrong':>14}{'recovered':>11}" \
             f"{'median t':>10}{'mean final w(true)':>20}"
    print(header)
    for label, summary in summaries.items():
        actor = "interventional" if "interventional_posterior" in label else "naive"
        for key in ("interventional", "naive"):
            s = summary[key]
            med = "-" if s["median_recovery_slot"] is None else f"{s['median_recovery_slot']:g}"
            print(f"  {actor:<16}{key:<16}{s['locked_wrong_fraction']['float']:>14.3f}"
                  f"{s['recovered_fraction']:>11.3f}{med:>10}{s['mean_final_truth_weight']:>20.4f}")
    print("  (locked wrong: a wrong program holds ≥ 0.95 at the last slot; median t: slot from which "
          "w(true) stays ≥ 1/2)")
    for path in figures:
        print(f"wrote {path}")
    return 0
