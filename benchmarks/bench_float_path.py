"""Throughput of the float64 log-space engine: program-slot updates per second.

Three ways to compute log L_do(p) for P programs on one T-slot transcript, in the same run:

* table path   — history-free / action-conditioned TablePrograms, sufficient statistics;
* general path — history-dependent MarkovPrograms, the (programs × slots) log-factor matrix
                 (gather, mask, sum), and the vectorised sequential updater (cumsum over slots);
* plain loop   — the same table arithmetic as a Python double loop over programs and slots.

One "update" is one (program, slot) pair. Construction (validation of every row) is timed
separately and not counted. Run:  python benchmarks/bench_float_path.py [--programs 10000 --slots 1000]

``--scaling`` adds two tables over the history length T (a few programs, so per-slot costs show):

* seconds per slot for T = 10^3 ... 10^6: building a transcript (repeated ``append`` and
  ``from_pairs``), the table path, the general (matrix) path, the log-space trace, and how far the
  trace's last column is from the batch posterior;
* doubling ratios t(2T)/t(T) for T = 2k ... 64k: transcript build, a history-dependent
  (``HistoryProgram``) log-space posterior, the exact sequential trace (``Updater.trace`` and its
  last entry) and, up to ``--exact-max``, reading every entry of that trace as reduced fractions.

Times are CPU seconds of this process (``time.process_time``), the best of several timeit-style
samples; the scaling tables take their samples in interleaved rounds over the sizes (see
``in_rounds``). The wall-clock best is recorded beside them. On a shared machine the
wall time of a run longer than the scheduler's time slice also counts other jobs' turns on the
core, which made the per-slot wall times of long runs look about 1.5x slower than short ones.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import time
from collections.abc import Callable

import numpy as np
import scipy
from tqdm.auto import tqdm

from fractions import Fraction

from bayes_agent import (Channel, Gate, HistoryProgram, MarkovProgram, Mixture, Mode, Slot, TableProgram,
                         Transcript)
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


def clocked(fn, repeats: int, min_sample_s: float = 0.05) -> tuple[float, float, object]:
    """(CPU seconds per call, wall seconds per call, fn's last result), timeit-style.

    One untimed warm-up call sizes a sample: k calls lasting at least ``min_sample_s`` of CPU
    time. Each of ``repeats`` samples is averaged over its k calls and the best sample is kept,
    so a call of a millisecond is not judged by a single lucky (or unlucky) run while a call of
    seconds is timed once per sample; every size gets the same number of samples."""
    c0 = time.process_time()
    out = fn()
    k = max(1, math.ceil(min_sample_s / max(time.process_time() - c0, 1e-9)))
    cpu = wall = math.inf
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(k):
            out = fn()
        cpu, wall = min(cpu, (time.process_time() - c0) / k), min(wall, (time.perf_counter() - w0) / k)
    return cpu, wall, out


def best_of(fn, repeats: int) -> float:
    """Best CPU seconds per call over ``repeats`` samples."""
    return clocked(fn, repeats)[0]


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


def build_by_append(T: int, seed: int) -> Transcript:
    r = random.Random(seed)
    h = Transcript(context="c")
    for _ in range(T):
        h = h.agent(r.choice(ACTIONS)) if r.random() < 0.5 else h.world(r.choice(OBS))
    return h


def control_append(T: int) -> list:
    """A control with no engine code: T tuples appended to a list (what any O(T) Python loop pays)."""
    out = []
    for i in range(T):
        out.append((i, i))
    return out


def history_programs() -> list[HistoryProgram]:
    """Two history-dependent programs whose world kernel reads the previous slot (O(1): h[-1])."""
    def make(name: str, tilt: Fraction) -> HistoryProgram:
        flat = {o: Fraction(1, len(OBS)) for o in OBS}
        tilted = {o: (Fraction(1, len(OBS)) + (tilt if i == 0 else -tilt / (len(OBS) - 1)))
                  for i, o in enumerate(OBS)}
        return HistoryProgram(name, action=lambda h: {a: Fraction(1, len(ACTIONS)) for a in ACTIONS},
                              observation=lambda h: tilted if len(h) and h[-1].channel is Channel.ACTION
                              else flat)
    return [make("h1", Fraction(1, 8)), make("h2", Fraction(1, 16))]


def in_rounds(jobs: dict[tuple[str, int], Callable[[], object]], repeats: int, desc: str,
              min_sample_s: float = 0.05) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float]]:
    """Best CPU and wall seconds per call of every job, sampled in interleaved rounds.

    Each job is called once to warm it, then sized (as in :func:`clocked`: k calls fill ``min_sample_s``); then every round
    takes one sample of every job, in order, and each job keeps its best sample. A noisy stretch of
    a few seconds on a shared machine so lands on one sample of every size rather than on all the
    samples of one size, which is what made sizes timed back to back disagree by 2x or more."""
    k = {}
    for key, fn in jobs.items():
        fn()  # warm: first-call costs (imports, caches) are not what a sample should be sized by
        c0 = time.process_time()
        fn()
        k[key] = max(1, math.ceil(min_sample_s / max(time.process_time() - c0, 1e-9)))
    cpu = dict.fromkeys(jobs, math.inf)
    wall = dict.fromkeys(jobs, math.inf)
    for _ in tqdm(range(repeats), desc=desc, disable=not sys.stderr.isatty()):
        for key, fn in jobs.items():
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(k[key]):
                fn()
            cpu[key] = min(cpu[key], (time.process_time() - c0) / k[key])
            wall[key] = min(wall[key], (time.perf_counter() - w0) / k[key])
    return cpu, wall


def scaling(seed: int, sizes: list[int], doubling: list[int], exact_max: int, programs: int,
            repeats: int = 3) -> dict:
    """Per-slot times over T, the trace's distance from the batch posterior, doubling ratios.

    Every time is the best of ``repeats`` samples at every T, taken in interleaved rounds over
    the sizes (see :func:`in_rounds`), in CPU seconds, with the wall-clock best beside it."""
    rng = np.random.default_rng(seed)
    lt = LogSpaceMixture(table_programs(programs, rng), [1.0 / programs] * programs)
    lm = LogSpaceMixture(markov_programs(programs, rng), [1.0 / programs] * programs)
    names = ["control_list_append", "append", "from_pairs", "table_posterior", "general_posterior", "trace"]
    jobs: dict[tuple[str, int], Callable[[], object]] = {}
    hs = {T: transcript(T, seed) for T in sizes}  # with demonstrations
    for T in sizes:
        pairs = [(s.value, s.gate) for s in hs[T]]
        h = hs[T]
        jobs.update({("control_list_append", T): lambda T=T: control_append(T),
                     ("append", T): lambda T=T: build_by_append(T, seed),
                     ("from_pairs", T): lambda pairs=pairs: Transcript.from_pairs(pairs, "c"),
                     ("table_posterior", T): lambda h=h: lt.log_posterior(h, path="table"),
                     ("general_posterior", T): lambda h=h: lm.log_posterior(h, path="general"),
                     ("trace", T): lambda h=h: lm.log_posterior_trace(h)})
    cpu, wall = in_rounds(jobs, repeats, "per-slot table")
    del jobs
    rows = []
    for T in sizes:
        h = hs.pop(T)
        batch, trace = lm.log_posterior(h, path="general"), lm.log_posterior_trace(h)
        loglik = lm.log_likelihood(h, path="general")
        rows.append({
            "T": T, **{f"{n}_s_per_slot": cpu[n, T] / T for n in names},
            "trace_vs_batch_log_posterior_rel": float(np.max(np.abs(trace[:, -1] - batch)
                                                             / np.maximum(np.abs(batch), 1.0))),
            "trace_vs_batch_posterior_abs": float(np.max(np.abs(np.exp(trace[:, -1]) - np.exp(batch)))),
            "log_likelihood_magnitude": float(np.max(np.abs(loglik))),
        })
        del trace
    flat = {f"{n}_s_per_slot": max(r[f"{n}_s_per_slot"] for r in rows) / min(r[f"{n}_s_per_slot"] for r in rows)
            for n in names}
    flat_wall = {f"{n}_s_per_slot": max(wall[n, T] / T for T in sizes) / min(wall[n, T] / T for T in sizes)
                 for n in names}
    hist = Mixture(history_programs(), [Fraction(1, 2), Fraction(1, 2)])
    hist_float = LogSpaceMixture(hist.programs, hist.prior)
    exact = Mixture([TableProgram("p", action={"A": "1/5", "B": "3/5", "C": "1/5"},
                                  observation={"x": "1/2", "y": "1/4", "z": "1/8", "w": "1/8"}),
                     TableProgram("q", action={"A": "1/3", "B": "1/3", "C": "1/3"},
                                  observation={"x": "1/4", "y": "1/4", "z": "1/4", "w": "1/4"})],
                    [Fraction(1, 2), Fraction(1, 2)])
    jobs, traces = {}, {}
    for T in doubling:
        h = transcript(T, seed)
        traces[T] = exact.updater().trace(h)
        jobs.update({("build", T): lambda T=T: build_by_append(T, seed),
                     ("history_log_posterior", T): lambda h=h: hist_float.log_posterior(h),
                     # the exact trace as a user reads the result: built, and its last entry (w_T) reduced
                     ("exact_trace", T): lambda h=h: (lambda tr: (tr, tr[-1]))(exact.updater().trace(h))})
        if T <= exact_max:  # every entry read as reduced fractions: Θ(T²) digits of output
            jobs[("exact_trace_every_entry", T)] = lambda tr=traces[T]: list(tr)
    dcpu, dwall = in_rounds(jobs, repeats, "doubling table")
    dbl = []
    for T in doubling:
        row = {"T": T, **{f"{n}_s": dcpu[n, T] for n, T2 in dcpu if T2 == T},
               "exact_weight_digits": int(math.log10(traces[T][-1]["p"].denominator)) + 1}
        if T <= exact_max:
            row["exact_every_entry_s_per_slot_per_digit"] = (row["exact_trace_every_entry_s"] / T
                                                             / row["exact_weight_digits"])
        dbl.append(row)
    ratios = [{"T": b["T"], **{k: b[k] / a[k] for k in b if k.endswith("_s") and k in a}}
              for a, b in zip(dbl, dbl[1:])]
    wall_ratios = [{"T": T2, **{n + "_s": dwall[n, T2] / dwall[n, T1] for n, T in dwall
                                if T == T2 and (n, T1) in dwall}}
                   for T1, T2 in zip(doubling, doubling[1:])]
    wall_s = {}
    for (n, T), v in {**wall, **dwall}.items():
        wall_s.setdefault(n, {})[str(T)] = v
    return {"clock": "cpu (time.process_time), best of repeats taken in interleaved rounds", "repeats": repeats,
            "per_slot": rows, "max_over_min_per_slot": flat, "wall_max_over_min_per_slot": flat_wall,
            "doubling": dbl, "doubling_ratios": ratios, "wall_doubling_ratios": wall_ratios,
            "wall_s": wall_s}


def print_scaling(sc: dict) -> None:
    cols = [k for k in sc["per_slot"][0] if k.endswith("_s_per_slot")]
    print("\nseconds per slot (a few programs):")
    print("  T        " + " ".join(f"{c.replace('_s_per_slot', ''):>18s}" for c in cols)
          + "   trace-vs-batch (log w, rel)")
    for r in sc["per_slot"]:
        print(f"  {r['T']:<8d} " + " ".join(f"{r[c]:18.3e}" for c in cols)
              + f"   {r['trace_vs_batch_log_posterior_rel']:.1e}")
    print("  max/min  " + " ".join(f"{sc['max_over_min_per_slot'][c]:18.2f}" for c in cols))
    print("  wall     " + " ".join(f"{sc['wall_max_over_min_per_slot'].get(c, math.nan):18.2f}" for c in cols)
          + "   (max/min of the wall-clock best)")
    print("\ndoubling T (CPU seconds; ratio to the row above):")
    for r, q in zip(sc["doubling"], [None, *sc["doubling_ratios"]]):
        parts = [f"{k[:-2]} {r[k]:8.3f}" + (f" (x{q[k]:.2f})" if q and k in q else "")
                 for k in r if k.endswith("_s")]
        digits = f"  exact weight: {r['exact_weight_digits']} digits" if "exact_weight_digits" in r else ""
        print(f"  T={r['T']:<6d} " + "  ".join(parts) + digits)


def _cpu_name() -> str:
    """The CPU model from /proc/cpuinfo where there is one (Linux), else platform's guess."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def positive(text: str) -> int:
    """argparse type: a whole number ≥ 1 (sizes, counts and repeats)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", type=positive, default=10_000)
    ap.add_argument("--slots", type=positive, default=1_000)
    ap.add_argument("--loop-programs", type=positive, default=1_000,
                    help="programs timed in the plain loop (its rate is per update, so a subset suffices)")
    ap.add_argument("--repeats", type=positive, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--scaling", action="store_true", help="add the per-slot and doubling tables over T")
    ap.add_argument("--scaling-sizes", type=positive, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--doubling-sizes", type=positive, nargs="+",
                    default=[2_000, 4_000, 8_000, 16_000, 32_000, 64_000])
    ap.add_argument("--exact-max", type=int, default=16_000,
                    help="longest history for which every entry of the exact trace is read (Θ(T²) digits)")
    ap.add_argument("--scaling-programs", type=positive, default=8)
    ap.add_argument("--scaling-repeats", type=positive, default=15)
    args = ap.parse_args(argv)
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
    # what bounds the general path: the same gather and sum in bare numpy, nothing else
    enc = lm._encode(h, Mode.INTERVENTIONAL)
    (_, members, flat), = lm._groups
    S = lm._log_k.shape[2]
    te = np.flatnonzero(enc[3])
    col = enc[2][np.where(enc[0][te] == 0, lm._groups[0][0][0], lm._groups[0][0][1]), te] * S + enc[1][te]
    cells = np.ascontiguousarray(flat.T)
    bare = {"bare_gather_sum_s": lambda: [np.add.reduce(cells[col, r:r + 256], axis=0)
                                          for r in range(0, P, 256)],
            "bare_read_matrix_s": lambda: np.ones((P, len(te))).sum(axis=1)}
    ceiling = {k: best_of(f, args.repeats) for k, f in bare.items()}
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
        **{k[:-2] + "_updates_per_s": updates / v for k, v in ceiling.items()},
        "general_path_vs_bare_gather_sum": ceiling["bare_gather_sum_s"] / res["general_path_markov_s"],
        "evidence_slots": int(len(te)),
        "table_speedup_vs_loop": rates["table_path_updates_per_s"] / loop_rate,
        "general_speedup_vs_loop": rates["general_path_markov_updates_per_s"] / loop_rate,
        "max_relative_difference_vs_loop": agree,
        "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
        "machine": platform.machine(), "processor": _cpu_name(), "clock": "cpu (time.process_time)",
    }
    if args.scaling:
        report["scaling"] = scaling(args.seed, args.scaling_sizes, args.doubling_sizes, args.exact_max,
                                    args.scaling_programs, args.scaling_repeats)
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
    if args.scaling:
        print_scaling(report["scaling"])


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # nothing is written before the end, so nothing is lost
        print("bench_float_path: interrupted; no result", file=sys.stderr)
        sys.exit(130)
