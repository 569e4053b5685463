"""SCM query time against the number of variables N: variable elimination, exact and float,
beside pgmpy's VariableElimination on the same models in the same run (when pgmpy is installed).

Families (binary variables, seeded, ``bayes_agent.scm.generate``): a chain X0 → ... → X(N-1), a
random polytree (≤ 2 parents), a random DAG (in-degree ≤ 3). Two queries per model:

* interventional:         P(X(N-1) = 1 | do(X(N/2) = 1))
* conditioning after do:  P(X(N/4) = 1 | do(X(N/2) = 1), X(N-1) = 1)

pgmpy gets the post-surgery network (our ``SCM.do`` converted to a ``DiscreteBayesianNetwork``,
conversion not timed) and answers with ``VariableElimination.query`` (its default "greedy"
elimination order). Every time is the best of ``--repeats`` runs; the float answers of the two
libraries are compared (max relative difference printed).

Run:  python benchmarks/bench_scm.py [--sizes 10 20 50 100 200] [--json] [--plot PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np

from bayes_agent.scm import SCM
from bayes_agent.scm.generate import chain_scm, polytree_scm, random_scm

FAMILIES = {
    "chain": lambda n, seed: chain_scm(n, seed=seed),
    "polytree": lambda n, seed: polytree_scm(n, seed=seed, max_parents=2),
    "random_dag": lambda n, seed: random_scm(n, seed=seed, max_parents=3),
}


def best_of(fn, repeats: int, budget_s: float = 5.0) -> tuple[float, object]:
    """The fastest of ``repeats`` runs (fewer when one run already takes ``budget_s``)."""
    best, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        if best > budget_s:
            break
    return best, out


def queries(n: int) -> list[tuple[str, dict, dict, dict]]:
    mid, last, quarter = f"X{n // 2}", f"X{n - 1}", f"X{n // 4}"
    return [("do", {last: 1}, {mid: 1}, {}),
            ("given_after_do", {quarter: 1}, {mid: 1}, {last: 1})]


def to_pgmpy(model: SCM):
    """The model as a pgmpy DiscreteBayesianNetwork (values in domain order; last parent fastest)."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    net = DiscreteBayesianNetwork()
    net.add_nodes_from(model.names)
    net.add_edges_from([(p, n) for n in model.names for p in model.parents(n)])
    cpds = []
    for n in model.names:
        var, table = model.variable(n), model.cpt(n)
        cols = [[float(table[k][v]) for v in var.domain] for k in table]
        cpds.append(TabularCPD(n, len(var.domain), np.array(cols).T.tolist(),
                               evidence=list(var.parents) or None,
                               evidence_card=[len(model.domain(p)) for p in var.parents] or None,
                               state_names={m: list(model.domain(m)) for m in (n, *var.parents)}))
    net.add_cpds(*cpds)
    return net


def pgmpy_query(model: SCM, event: dict, do: dict, given: dict):
    from pgmpy.inference import VariableElimination

    infer = VariableElimination(to_pgmpy(model.do(do)))
    (name, value), = event.items()

    def ask() -> float:
        f = infer.query([name], evidence=given or None, show_progress=False)
        return float(f.get_value(**{name: value}))

    return ask


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 50, 100, 200])
    ap.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-pgmpy", action="store_true", help="skip pgmpy even when it is installed")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--plot", help="write a PNG of query time against N here")
    args = ap.parse_args()
    try:
        import pgmpy
        have_pgmpy = not args.no_pgmpy
    except ImportError:
        pgmpy, have_pgmpy = None, False

    rows = []
    for family in args.families:
        for n in args.sizes:
            model = FAMILIES[family](n, args.seed)
            floats = model.to_float()
            for qname, event, do, given in queries(n):
                t_exact, exact = best_of(lambda: model.probability(event, do=do, given=given), args.repeats)
                t_float, flt = best_of(lambda: floats.probability(event, do=do, given=given), args.repeats)
                row = {"family": family, "N": n, "query": qname, "exact_s": t_exact, "float_s": t_float,
                       "exact_vs_float_rel": abs(float(exact) - flt) / abs(float(exact))}
                if have_pgmpy:
                    t_pg, pg = best_of(pgmpy_query(floats, event, do, given), args.repeats)
                    row.update(pgmpy_s=t_pg, float_over_pgmpy=t_float / t_pg,
                               pgmpy_vs_float_rel=abs(pg - flt) / abs(flt))
                rows.append(row)
                if not args.json:
                    extra = (f"  pgmpy {row['pgmpy_s'] * 1e3:9.2f} ms  ours/pgmpy {row['float_over_pgmpy']:5.2f}"
                             f"  |diff| {row['pgmpy_vs_float_rel']:.1e}") if have_pgmpy else ""
                    print(f"{family:10s} N={n:4d} {qname:15s} exact {t_exact * 1e3:9.2f} ms  "
                          f"float {t_float * 1e3:8.2f} ms{extra}", flush=True)
    env = {"python": platform.python_version(), "numpy": np.__version__,
           "pgmpy": getattr(pgmpy, "__version__", None), "machine": platform.machine(),
           "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
           "command": " ".join(["python", *sys.argv])}
    if args.json:
        print(json.dumps({"rows": rows, "environment": env}, indent=2))
    if args.plot:
        plot(rows, args.plot)


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = sorted({r["family"] for r in rows})
    fig, axes = plt.subplots(1, len(families), figsize=(5 * len(families), 4.2), constrained_layout=True,
                             sharey=True, squeeze=False)
    for ax, family in zip(axes[0], families):
        sel = [r for r in rows if r["family"] == family and r["query"] == "do"]
        ns = [r["N"] for r in sel]
        ax.plot(ns, [r["exact_s"] for r in sel], "o-", label="ours, exact (Fraction)")
        ax.plot(ns, [r["float_s"] for r in sel], "s-", label="ours, float")
        if "pgmpy_s" in sel[0]:
            ax.plot(ns, [r["pgmpy_s"] for r in sel], "^--", label="pgmpy VariableElimination")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of variables N")
        ax.set_title(f"{family}: P(X[N-1] | do(X[N/2]))")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("seconds per query (best of repeats)")
    axes[0][0].legend(fontsize=8.5)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
