"""Throughput of the float64 log-space engine: program-slot updates per second.

Three ways to compute log L_do(p) for P programs on one T-slot transcript, in the same run:

* table path   — history-free / action-conditioned TablePrograms, sufficient statistics;
* general path — history-dependent MarkovPrograms, the (programs × slots) log-factor matrix
                 (gather, mask, sum), and the vectorised sequential updater (cumsum over slots);
* plain loop   — the same table arithmetic as a Python double loop over programs and slots.

One "update" is one (program, slot) pair. Construction (validation of every row) is timed
separately and not counted. Run:  python benchmarks/bench_float_path.py [--programs 10000 --slots 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import time

import numpy as np

from bayes_agent import Channel, Gate, MarkovProgram, Mode, Slot, TableProgram, Transcript
from bayes_agent.arithmetic import LogSpaceMixture
from bayes_agent.mixture import is_evidence

ACTIONS, OBS = ("A", "B", "C"), ("x", "y", "z", "w")


def row(rng: np.random.Generator, symbols):
    p = rng.dirichlet(np.ones(len(symbols)))
    return dict(zip(symbols, p.tolist()))


def table_programs(n: int, rng: np.random.Generator):
    out = []
    for i in range(n):
        if i % 2:
            out.append(TableProgram(f"t{i}", action=row(rng, ACTIONS), observation=row(rng, OBS)))
        else:
            out.append(TableProgram(f"t{i}", action=row(rng, ACTIONS),
                                    observation_given_action={a: row(rng, OBS) for a in (None, *ACTIONS)}))
    return out


def markov_programs(n: int, rng: np.random.Generator):
    prevs = (None, *ACTIONS, *OBS)
    return [MarkovProgram(f"m{i}", action={p: row(rng, ACTIONS) for p in prevs},
                          observation={p: row(rng, OBS) for p in prevs}) for i in range(n)]


def transcript(T: int, seed: int) -> Transcript:
    r = random.Random(seed)
    slots = []
    for _ in range(T):
        if r.random() < 0.5:
            slots.append(Slot(r.choice(ACTIONS), Gate.AGENT))
        elif r.random() < 0.2:
            slots.append(Slot(r.choice(ACTIONS), Gate.WORLD, Channel.ACTION))  # a demonstration
        else:
            slots.append(Slot(r.choice(OBS), Gate.WORLD))
    return Transcript(tuple(slots), "c")


def best_of(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def plain_loop(programs, h: Transcript) -> list[float]:
    """log L_do for table programs, one (program, slot) at a time, in plain Python."""
    out = []
    for p in programs:
        total, last = 0.0, None
        for s in h.slots:
            if s.channel is Channel.ACTION:
                if is_evidence(s, Mode.INTERVENTIONAL):
                    total += math.log(p.rows[(Channel.ACTION, None)][s.value])
                last = s.value
            elif is_evidence(s, Mode.INTERVENTIONAL):
                key = last if p.conditioned else None
                total += math.log(p.rows[(Channel.OBSERVATION, key)][s.value])
        out.append(total)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", type=int, default=10_000)
    ap.add_argument("--slots", type=int, default=1_000)
    ap.add_argument("--loop-programs", type=int, default=1_000,
                    help="programs timed in the plain loop (its rate is per update, so a subset suffices)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    P, T = args.programs, args.slots
    h = transcript(T, args.seed)

    t0 = time.perf_counter()
    tables = table_programs(P, rng)
    lt = LogSpaceMixture(tables, [1.0 / P] * P)
    build_table = time.perf_counter() - t0
    t0 = time.perf_counter()
    markov = markov_programs(P, rng)
    lm = LogSpaceMixture(markov, [1.0 / P] * P)
    build_markov = time.perf_counter() - t0

    updates = P * T
    res = {}
    res["table_path_s"] = best_of(lambda: lt.log_posterior(h, path="table"), args.repeats)
    res["table_programs_general_matrix_s"] = best_of(lambda: lt.log_posterior(h, path="general"), args.repeats)
    res["general_path_markov_s"] = best_of(lambda: lm.log_posterior(h, path="general"), args.repeats)
    res["general_trace_markov_s"] = best_of(lambda: lm.log_posterior_trace(h), max(1, args.repeats // 2))
    sub = tables[: args.loop_programs]
    res["plain_loop_s"] = best_of(lambda: plain_loop(sub, h), 1)
    loop_rate = len(sub) * T / res["plain_loop_s"]

    # the three table computations agree
    ref = np.array(plain_loop(sub, h))
    fast = lt.log_likelihood(h, path="table")[: len(sub)]
    gen = lt.log_likelihood(h, path="general")[: len(sub)]
    agree = float(max(np.max(np.abs(fast - ref) / np.abs(ref)), np.max(np.abs(gen - ref) / np.abs(ref))))

    rates = {k.replace("_s", "_updates_per_s"): updates / v for k, v in res.items() if k != "plain_loop_s"}
    rates["plain_loop_updates_per_s"] = loop_rate
    report = {
        "programs": P, "slots": T, "updates": updates, "loop_programs": len(sub),
        "build_table_mixture_s": build_table, "build_markov_mixture_s": build_markov,
        **res, **rates,
        "table_speedup_vs_loop": rates["table_path_updates_per_s"] / loop_rate,
        "general_speedup_vs_loop": rates["general_path_markov_updates_per_s"] / loop_rate,
        "max_relative_difference_vs_loop": agree,
        "python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{P} programs x {T} slots = {updates:.2e} program-slot updates "
          f"(construction: tables {build_table:.1f} s, markov {build_markov:.1f} s, not counted)")
    for k, v in report.items():
        if k.endswith("_updates_per_s"):
            print(f"  {k:45s} {v:12.3e}")
    print(f"  table path vs plain loop: {report['table_speedup_vs_loop']:.0f}x; "
          f"general (markov) vs plain loop: {report['general_speedup_vs_loop']:.0f}x")
    print(f"  max relative difference table/general vs loop: {agree:.1e}")


if __name__ == "__main__":
    main()
