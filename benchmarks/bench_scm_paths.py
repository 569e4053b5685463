"""Why pgmpy's float query is sometimes faster than our exact one: contraction cost, not order quality.

For one random-DAG query of ``bench_scm.py`` this prints, in one process:

* pgmpy's query: the cost of the ``opt_einsum`` "greedy" path it contracts (flops, largest
  intermediate) and its best time; the path depends on this process's string hashing, so run the
  script under several ``PYTHONHASHSEED`` values to see pgmpy's fast and slow processes;
* our compiled plan for the same query: table entries, scalar products and the exact and float
  time of its largest block;
* our exact integers contracted along opt_einsum's own paths instead (same integers, checked).

Needs pgmpy (and opt_einsum, which pgmpy installs). Run:

    PYTHONHASHSEED=6 python benchmarks/bench_scm_paths.py --n 100 --query given_after_do
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scm  # noqa: E402  (the queries and the pgmpy conversion, shared with the main benchmark)

from bayes_agent.commands import positive_int  # noqa: E402
from bayes_agent.scm import contraction, elimination, plans  # noqa: E402
from bayes_agent.scm.generate import random_scm  # noqa: E402


def best_of(fn, repeats: int):
    """(fastest time in seconds, last result) of ``repeats`` calls."""
    best, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def pgmpy_path(model, event: dict, do: dict, given: dict, repeats: int) -> str:
    """pgmpy's query time and the cost of the path it contracts (its einsum call, observed)."""
    import opt_einsum
    import pgmpy.inference.ExactInference as exact_inference

    seen = []
    original = exact_inference.contract

    def observed(*args, optimize="greedy"):
        seen.append(opt_einsum.contract_path(*args, optimize=optimize)[1])
        return original(*args, optimize=optimize)

    ask = bench_scm.pgmpy_query(model, event, do, given)
    exact_inference.contract = observed
    try:
        ask()
    finally:
        exact_inference.contract = original
    if not seen:
        return "pgmpy did not call opt_einsum.contract (another pgmpy version?): no path to report"
    t, _ = best_of(ask, repeats)
    info = seen[-1]
    return (f"pgmpy: {t * 1e3:.1f} ms; its greedy path: {info.opt_cost:.3g} flops, largest "
            f"intermediate {info.largest_intermediate:.3g}, {len(info.input_subscripts.split(','))} operands")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=positive_int, default=100, help="number of variables of the random DAG (seed 0)")
    p.add_argument("--query", choices=["do", "given_after_do"], default="given_after_do")
    p.add_argument("--repeats", type=positive_int, default=5)
    p.add_argument("--opt-einsum-paths", nargs="*", default=["greedy", "random-greedy", "random-greedy-128"],
                   help="opt_einsum path optimisers to run our exact integers along")
    args = p.parse_args()
    if args.n < 4:
        p.error(f"--n must be ≥ 4 (the queries ask about X[N/4], X[N/2] and X[N-1], three distinct variables), got {args.n}")
    warnings.filterwarnings("ignore", category=FutureWarning)  # pgmpy's own deprecation notices
    if importlib.util.find_spec("pgmpy") is None:
        sys.exit("this benchmark compares against pgmpy and needs it: pip install -e '.[bench]'")
    import opt_einsum  # installed with pgmpy

    model = random_scm(args.n, seed=0, max_parents=3)
    _, event, do, given = next(q for q in bench_scm.queries(args.n) if q[0] == args.query)
    print(pgmpy_path(model, event, do, given, args.repeats))

    view = model.factor_view
    model.probability(event, do=do, given=given)  # compiles and caches the plan
    blocks = [(b, frozenset(k[2])) for k, v in view.plans.items() if isinstance(v, plans.TablePlan)
              for b in (v.main, *v.rest)]
    if not blocks:
        sys.exit("this query compiled no table plan (a ratio of two sums): nothing to compare here")
    block, fixed = max(blocks, key=lambda bf: bf[0].largest)  # the block that does the work
    if len(block.names) < 2:
        sys.exit(f"this query's largest block sums {len(block.names)} mechanism(s): nothing to compare here")
    pos = view.positions({**event, **do, **given})
    factors, scopes, _ = plans.mechanism_factors(view, block.names, fixed, "exact")
    sizes = {v: view.size(v) for s in scopes for v in s}
    order = elimination.best_order(scopes, sizes, block.keep)
    entries, steps, largest, width = elimination.bucket_steps(scopes, sizes, block.keep, order)
    products = 0
    for _, subscripts, shapes in steps:
        path = contraction.contraction_path(subscripts, shapes)
        if isinstance(path, list):
            products += contraction.path_cost(subscripts, shapes, path)
        else:
            terms = subscripts.split("->")[0].split(",")
            products += math.prod({c: k for t, sh in zip(terms, shapes) for c, k in zip(t, sh)}.values())
    t_exact, ours = best_of(lambda: block.run(pos), args.repeats)
    float_block = plans.Block(view, block.names, fixed, block.keep, "float", False)
    t_float, _ = best_of(lambda: float_block.run(pos), args.repeats)
    print(f"ours: {len(block.names)} mechanisms, width {width}, {entries:.3g} table entries, "
          f"{products:.3g} scalar products, largest table {largest}; exact {t_exact * 1e3:.1f} ms, "
          f"float {t_float * 1e3:.2f} ms")

    operands = plans.reduce_factors(factors, pos)
    letters: dict[str, str] = {}
    for scope in (*scopes, block.keep):
        for v in scope:
            letters.setdefault(v, opt_einsum.get_symbol(len(letters)))
    expr = ",".join("".join(letters[v] for v in s) for s in scopes) + "->" + "".join(letters[v] for v in block.keep)
    floats = [np.asarray(o, dtype=float) for o in operands]
    for optimizer in args.opt_einsum_paths:
        t0 = time.perf_counter()
        try:
            path, info = opt_einsum.contract_path(expr, *floats, optimize=optimizer)
        except KeyError as exc:  # an optimiser name opt_einsum does not know
            sys.exit(f"--opt-einsum-paths: {exc.args[0]}")
        found = time.perf_counter() - t0
        t, out = best_of(lambda: opt_einsum.contract(expr, *operands, optimize=path), args.repeats)
        same = np.array_equal(np.asarray(out, dtype=object), np.asarray(ours, dtype=object))
        print(f"ours exact on opt_einsum's {optimizer!r} path ({found * 1e3:.0f} ms to find, "
              f"{info.opt_cost:.3g} flops): {t * 1e3:.1f} ms, same integers: {same}")


if __name__ == "__main__":
    main()
