"""SCM query time against the number of variables N: variable elimination, exact and float,
beside pgmpy's VariableElimination on the same models in the same run (when pgmpy is installed).

Families (binary variables, seeded, ``bayes_agent.scm.generate``): a chain X0 → ... → X(N-1), a
random polytree (≤ 2 parents), a random DAG (in-degree ≤ 3). Two queries per model:

* interventional:         P(X(N-1) = 1 | do(X(N/2) = 1))
* conditioning after do:  P(X(N/4) = 1 | do(X(N/2) = 1), X(N-1) = 1)

pgmpy gets the post-surgery network (our ``SCM.do`` converted to a ``DiscreteBayesianNetwork``,
conversion not timed) and answers with ``VariableElimination.query`` (its default "greedy"
elimination order). Every time is the best of ``--repeats`` runs (ours: a compiled plan is cached
per query shape, so the best run reuses it; ``*_first_s`` is the first call, compilation
included); the float answers of the two libraries are compared (relative difference printed).

Further sections (``--sections``):

* ``events``: P(event over k variables of a 200-chain | do(X70)), k = 10, 20, 60 (issue 21);
* ``marginals``: every variable's marginal at N = 200 (chain, polytree) by ``SCM.marginals``
  against N separate ``distribution`` calls (both warm);
* ``windowed``: wide DAGs (3 values, in-degree <= 4, parents within a window of 8 or 25,
  N = 50, 100), P(Y | do(X), Z1, Z2), ours exact and float beside pgmpy (pgmpy stopped after
  ``--pgmpy-budget`` seconds); a query over ``max_table_size`` is refused with its estimate.

Run:  python benchmarks/bench_scm.py [--sizes 10 20 50 100 200] [--sections ...] [--json] [--plot PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import sys
import time

import numpy as np

from bayes_agent import TableTooLarge
from bayes_agent.commands import positive_int
from bayes_agent.scm import SCM
from bayes_agent.scm.generate import chain_scm, polytree_scm, random_scm, windowed_scm

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


SECTIONS = ["scaling", "events", "marginals", "windowed"]


def say(args, text: str) -> None:
    if not args.json:
        print(text, flush=True)


def events(args) -> list[dict]:
    """P(event over k variables of a 200-chain | do(X70)): the event's variables are fixed."""
    m = chain_scm(200, seed=args.seed)
    out = []
    for k in (10, 20, 60):
        event = {f"X{i}": i % 2 for i in range(100, 100 + k)}
        row = {"k": k}
        for label, model in (("exact", m), ("float", m.to_float())):
            first, _ = best_of(lambda: model.probability(event, do={"X70": 1}), 1)
            best, _ = best_of(lambda: model.probability(event, do={"X70": 1}), args.repeats)
            row.update({f"{label}_first_s": first, f"{label}_s": best})
        out.append(row)
        say(args, f"events     200-chain k={k:3d}  exact {row['exact_s'] * 1e3:7.2f} ms (first "
                  f"{row['exact_first_s'] * 1e3:7.1f})  float {row['float_s'] * 1e3:7.2f} ms (first "
                  f"{row['float_first_s'] * 1e3:7.1f})")
    return out


def marginals(args) -> list[dict]:
    """All N marginals in one call against N separate distribution() calls (both warm)."""
    out = []
    for family in ("chain", "polytree"):
        m = FAMILIES[family](200, args.seed)
        q = {"do": {"X100": 1}, "given": {"X199": 1}}
        for label, model in (("exact", m), ("float", m.to_float())):
            first, one = best_of(lambda: model.marginals(**q), 1)
            t_one, one = best_of(lambda: model.marginals(**q), args.repeats)
            separate = lambda: {n: model.distribution(n, **q) for n in model.names}  # noqa: E731
            first_sep, _ = best_of(separate, 1)  # compiles the N plans
            t_sep, sep = best_of(separate, 2, budget_s=60)
            same = all(abs(float(one[n][v]) - float(sep[n][v])) <= 1e-12 for n in one for v in one[n])
            row = {"family": family, "N": 200, "kind": label, "marginals_s": t_one, "marginals_first_s": first,
                   "separate_s": t_sep, "separate_first_s": first_sep, "speedup": t_sep / t_one,
                   "speedup_first": first_sep / first, "agree": same}
            out.append(row)
            say(args, f"marginals  {family:8s} N=200 {label:5s}  one pass {t_one * 1e3:7.1f} ms (first "
                      f"{first * 1e3:7.1f})  200 queries {t_sep * 1e3:8.1f} ms (first {first_sep * 1e3:7.0f})  "
                      f"x{row['speedup']:5.1f} (first x{row['speedup_first']:5.1f})  agree {same}")
    return out


class _Budget(Exception):
    pass


def _with_budget(fn, seconds: float):
    """fn() stopped after ``seconds`` (SIGALRM; pgmpy's inference is Python, so it stops)."""
    def stop(*_):
        raise _Budget()

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        t0 = time.perf_counter()
        value = fn()
        return time.perf_counter() - t0, value
    except _Budget:
        return None, None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def windowed(args, have_pgmpy: bool) -> list[dict]:
    """Wide DAGs: P(Y | do(X), Z1, Z2) with ours refusing above max_table_size."""
    out = []
    for window in (8, 25):
        for n in (50, 100):
            m = windowed_scm(n, window=window, seed=args.seed)
            y, x, z1, z2 = f"X{n - 1}", f"X{n // 2}", f"X{n // 4}", f"X{3 * n // 4}"
            event, do, given = {y: 1}, {x: 1}, {z1: 0, z2: 2}
            row = {"window": window, "N": n}
            for label, model in (("exact", m), ("float", m.to_float())):
                try:
                    first, value = best_of(lambda: model.probability(event, do=do, given=given), 1)
                    best, value = best_of(lambda: model.probability(event, do=do, given=given), 2, budget_s=2)
                    row.update({f"{label}_first_s": first, f"{label}_s": best, f"{label}_value": float(value)})
                except TableTooLarge as e:
                    row.update({f"{label}_refused": str(e), "estimated_entries": e.size, "width": e.width})
            if have_pgmpy:
                t, value = _with_budget(pgmpy_query(m.to_float(), event, do, given), args.pgmpy_budget)
                row.update(pgmpy_s=t, pgmpy_value=value)
            out.append(row)
            fmt = lambda key: (f"{row[key] * 1e3:9.1f} ms" if key in row and row[key] is not None  # noqa: E731
                               else "  refused   " if key.replace("_s", "_refused") in row else "   > budget  ")
            say(args, f"windowed   w={window:2d} N={n:4d}  exact {fmt('exact_s')} (first {fmt('exact_first_s')})  "
                      f"float {fmt('float_s')}  pgmpy {fmt('pgmpy_s') if have_pgmpy else '-'}"
                      + (f"  [refused: ~{row['estimated_entries']:.3g} entries, width {row['width']}]"
                         if "estimated_entries" in row else ""))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=positive_int, nargs="+", default=[10, 20, 50, 100, 200])
    ap.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    ap.add_argument("--repeats", type=positive_int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-pgmpy", action="store_true", help="skip pgmpy even when it is installed")
    ap.add_argument("--sections", nargs="+", default=SECTIONS, choices=SECTIONS)
    ap.add_argument("--pgmpy-budget", type=float, default=120.0,
                    help="seconds after which a pgmpy query of the windowed section is stopped")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--plot", help="write a PNG of query time against N here")
    args = ap.parse_args()
    if min(args.sizes) < 4:
        ap.error(f"--sizes must be ≥ 4 (the queries ask about X[N/4], X[N/2] and X[N-1], three distinct "
                 f"variables), got {min(args.sizes)}")
    try:
        import pgmpy
        have_pgmpy = not args.no_pgmpy
    except ImportError:
        pgmpy, have_pgmpy = None, False

    rows = []
    sections = {}
    if "events" in args.sections:
        sections["events"] = events(args)
    if "marginals" in args.sections:
        sections["marginals"] = marginals(args)
    if "windowed" in args.sections:
        sections["windowed"] = windowed(args, have_pgmpy)
    for family in (args.families if "scaling" in args.sections else []):
        for n in args.sizes:
            model = FAMILIES[family](n, args.seed)
            floats = model.to_float()
            for qname, event, do, given in queries(n):
                first_exact, _ = best_of(lambda: model.probability(event, do=do, given=given), 1)
                first_float, _ = best_of(lambda: floats.probability(event, do=do, given=given), 1)
                t_exact, exact = best_of(lambda: model.probability(event, do=do, given=given), args.repeats)
                t_float, flt = best_of(lambda: floats.probability(event, do=do, given=given), args.repeats)
                row = {"family": family, "N": n, "query": qname, "exact_s": t_exact, "float_s": t_float,
                       "exact_first_s": first_exact, "float_first_s": first_float,
                       "exact_vs_float_rel": abs(float(exact) - flt) / abs(float(exact))}
                if have_pgmpy:
                    t_pg, pg = best_of(pgmpy_query(floats, event, do, given), args.repeats)
                    row.update(pgmpy_s=t_pg, float_over_pgmpy=t_float / t_pg, exact_over_pgmpy=t_exact / t_pg,
                               pgmpy_vs_float_rel=abs(pg - flt) / abs(flt))
                rows.append(row)
                if not args.json:
                    extra = (f"  pgmpy {row['pgmpy_s'] * 1e3:9.2f} ms  pgmpy/float {1 / row['float_over_pgmpy']:6.1f}"
                             f"  pgmpy/exact {1 / row['exact_over_pgmpy']:5.2f}"
                             f"  |diff| {row['pgmpy_vs_float_rel']:.1e}") if have_pgmpy else ""
                    print(f"{family:10s} N={n:4d} {qname:15s} exact {t_exact * 1e3:8.2f} ms (first {first_exact * 1e3:7.1f})  "
                          f"float {t_float * 1e3:8.2f} ms (first {first_float * 1e3:7.1f}){extra}", flush=True)
    env = {"python": platform.python_version(), "numpy": np.__version__,
           "pgmpy": getattr(pgmpy, "__version__", None), "machine": platform.machine(),
           "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
           "command": " ".join(["python", *sys.argv])}
    if args.json:
        print(json.dumps({"rows": rows, **sections, "environment": env}, indent=2))
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
