"""``bayes-agent two-action``: the paper's §4 derivation, step by step, exactly.

Numbers are read with ``fractions.Fraction`` ("0.35", "7/20"); nothing typed is run as code.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import InvalidArgument

HELP = "the two-action example of §4: the agent's own action is not evidence"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "two-action",
        help=HELP,
        description="Print the §4.3 derivation: the threshold policy, then the interventional and "
        "the naive (observational) updater side by side, as exact fractions and decimals.",
    )
    p.add_argument("--prior", nargs=2, metavar=("W_PB", "W_PA"),
                   help="prior weights of p_B and p_A, e.g. 0.35 0.65 or 7/20 13/20")
    p.add_argument("--kernel", nargs=3, action="append", metavar=("NAME", "NU_A", "NU_B"),
                   help="a kernel row, e.g. --kernel p_B 0.2 0.8 (repeatable; names p_B, p_A)")
    p.add_argument("--target", default="B", choices=("A", "B"),
                   help="the action chosen when its probability reaches the threshold (default B)")
    p.add_argument("--world", default="B", choices=("A", "B"),
                   help="the symbol the world writes at slot 2 (default B)")
    p.add_argument("--threshold", default="1/2", help="decision threshold (default 1/2)")
    p.add_argument("--normalize", action="store_true",
                   help="rescale a prior or kernel row that does not sum to 1 (otherwise an error)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true", help="print the derivation as LaTeX")
    out.add_argument("--json", action="store_true",
                     help='print the quantities as JSON: {"exact": "69/200", "float": 0.345}')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..worked import TWO_ACTION_KERNELS, derive_two_action

    prior = None
    if args.prior is not None:
        prior = {"p_B": args.prior[0], "p_A": args.prior[1]}
    kernels = None
    if args.kernel:
        kernels = {n: dict(row) for n, row in TWO_ACTION_KERNELS.items()}
        given = [name for name, _, _ in args.kernel]
        for name, nu_a, nu_b in args.kernel:
            if name not in kernels:
                raise InvalidArgument(f"--kernel names a hypothesis {name!r}; use p_B or p_A")
            if given.count(name) > 1:
                raise InvalidArgument(f"--kernel {name} is given {given.count(name)} times; give each hypothesis once")
            kernels[name] = {"A": nu_a, "B": nu_b}
    d = derive_two_action(prior, kernels, target=args.target, world=args.world,
                          threshold=args.threshold, normalize=args.normalize)
    if args.json:
        print(json.dumps(d.to_dict(), indent=2, ensure_ascii=False))
    elif args.latex:
        print(d.latex())
    else:
        print(d.text())
    if d.naive_undefined and (args.json or args.latex):  # the text says it itself; a result, not an error
        print(f"note: the naive (observational) updater cannot condition on this history: {d.naive_undefined}",
              file=sys.stderr)
    return 0

