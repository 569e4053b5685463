"""Paired SFT at the paper's real shape: the Qwen2.5-0.5B architecture with random weights.

Builds the paper preset's 480 dialogues (seed 0) and their masks with a tokenizer trained on them
(its ids index the first rows of the model's 151,936-token vocabulary), then times optimiser
steps at batch size 1 exactly as ``train_pair`` takes them: float32 master weights, AdamW,
clipping, and the device's autocast precision. A step's cost depends on the labels, not on the
weights' values, so both arms' steps are timed on one model copy (one 0.5B training copy, about
8 GB with AdamW, instead of two).

The masked/unmasked ratio is a paired estimate: each timed example is stepped four times in ABBA
order (obs, do, do, obs), so that neither arm always runs first or last; within the example each
arm's cost is the smaller of its two steps (interference from other processes only adds time),
the example's ratio is do over obs, and the reported ratio is the median over the
timed examples. On the CPU a step's cost is the process's user CPU time: at this shape about
30% of a step's CPU time is the kernel's, zero-filling the ~5 GB of pages that each step's
freshly allocated gradients and optimiser temporaries touch; the number of those page faults is
the same in both arms (reported per arm), but the time the kernel takes for them varied 2x
between identical steps on the shared machine, and was the noise that made earlier two-step
ratios range 0.96-1.20. The same estimator on total CPU time (user + system) and on wall-clock
time is reported too (``masked_unmasked_ratio_cpu``, ``masked_unmasked_ratio_wall``), as are
all per-step records. On a GPU the ratio uses wall-clock time after ``torch.cuda.synchronize()``.
On the CPU the default is one torch thread: with torch's default of two on the 2-core machine,
identical steps took 5.2-12.1 s of user time (threads spinning while the other takes page
faults), and two bare runs gave ratios 0.900 and 0.882; ``--threads N`` times N threads.

Also reported: per arm the median step time (wall clock) and tokens per second, the peak memory
(GPU max allocated, or the process's peak RSS on the CPU), and an estimate of the full 1,920-step
run (4 epochs x 480 dialogues, per arm, arms one after another).

    python benchmarks/bench_paper_scale.py --steps 2 --json            # this CPU: 2 examples, 8 steps
    python benchmarks/bench_paper_scale.py --device cuda --steps 25 --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

PAPER_STEPS = 4 * 480  # §5.2: 4 epochs over 480 dialogues at batch size 1, per arm


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cuda, cuda:N, mps, cpu")
    ap.add_argument("--precision", default="auto", help="auto, fp32, bf16 or fp16 (autocast; weights stay fp32)")
    ap.add_argument("--steps", type=int, default=3, metavar="N",
                    help="timed examples, each stepped obs, do, do, obs: 2N timed steps per arm (after --warmup)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps per arm first (allocation, caches)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (default on the CPU: 1, see the module docstring; elsewhere torch's)")
    ap.add_argument("--lora", type=int, default=0, metavar="R", help="time LoRA rank-R training instead")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="paper", help="whose shape and data (tests use micro)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    from bayes_agent.errors import BayesAgentError

    try:
        result = run(args)
    except BayesAgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


ABBA = ("obs", "do", "do", "obs")  # one timed example's four steps
RATIO_METHOD = ("median over timed examples of min(do steps) / min(obs steps), each example stepped "
                "obs, do, do, obs on one model copy")


def paired_ratio(records: list[dict], key: str) -> tuple[float, list[float]]:
    """The masked/unmasked (do/obs) cost ratio of ABBA-timed steps, and each example's ratio.

    Per example, each arm's cost is the minimum of its steps' ``key`` (noise only adds time);
    the ratio is the median of the examples' do/obs ratios, so one disturbed example cannot move it.
    """
    from bayes_agent.errors import InvalidArgument

    by_example: dict[int, dict[str, list[float]]] = {}
    for r in records:
        by_example.setdefault(r["example"], {"obs": [], "do": []})[r["arm"]].append(r[key])
    ratios = []
    for example, arms in by_example.items():
        if not arms["obs"] or not arms["do"] or min(arms["obs"]) <= 0:
            raise InvalidArgument(f"example {example} has no positive {key} for both arms: {arms}")
        ratios.append(min(arms["do"]) / min(arms["obs"]))
    if not ratios:
        raise InvalidArgument("no timed steps to take a ratio from")
    return statistics.median(ratios), ratios


def _usage() -> tuple[float, float, int]:
    """The process's user and system CPU seconds and minor page faults so far."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt


def run(args: argparse.Namespace) -> dict:
    import torch
    from tqdm.auto import tqdm

    from bayes_agent.errors import InvalidArgument
    from neural.devices import check_threads, environment_record, peak_memory_bytes, resolve_device, resolve_precision
    from neural.models import count_parameters
    from neural.sft.dialogues import make_dialogues
    from neural.sft.experiment import build_model, make_examples, select_facts
    from neural.sft.presets import get_preset
    from neural.sft.train import ARMS, TrainConfig, TrainingArm, epoch_order

    if args.steps < 1 or args.warmup < 0:
        raise InvalidArgument(f"--steps must be positive and --warmup non-negative, got {args.steps}, {args.warmup}")
    device = resolve_device(args.device)
    threads = 1 if args.threads is None and device == "cpu" else args.threads
    if check_threads(threads):
        torch.set_num_threads(threads)
    preset = get_preset(args.preset).with_(random_init=True, device=device, precision=args.precision,
                                       lora_rank=args.lora)
    precision = resolve_precision(preset.train.precision, device)
    facts, held = select_facts(preset)
    dialogues = make_dialogues(facts, preset.n_dialogues, seed=args.seed, p_lie=preset.p_lie, p_tail=preset.p_tail)
    t0 = time.perf_counter()
    model, tokenizer = build_model(preset, dialogues, facts + held, args.seed)
    examples, _ = make_examples(dialogues, tokenizer, model.config.max_position_embeddings)
    build_seconds = time.perf_counter() - t0
    params = count_parameters(model)
    cfg = TrainConfig(**{**preset.train.__dict__, "seed": args.seed})
    arm = TrainingArm("timing", model, cfg, device, precision)  # one fp32 master copy, AdamW, autocast
    del model
    order = epoch_order(len(examples), 1, args.seed)
    if args.warmup + args.steps > len(order):
        raise InvalidArgument(f"--warmup + --steps must be at most {len(order)} (examples), "
                              f"got {args.warmup + args.steps}")
    # warm-up: one untimed (obs, do) pair per warm-up example; then ABBA on each timed example
    plan = [(k, arm_name, False) for k in range(args.warmup) for arm_name in ("obs", "do")]
    plan += [(k, arm_name, True) for k in range(args.warmup, args.warmup + args.steps) for arm_name in ABBA]
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    records: list[dict] = []
    for k, name, timed in tqdm(plan, desc="paper-shape steps", disable=not sys.stderr.isatty()):
        ex = examples[order[k]]
        ids = torch.tensor([ex.input_ids], device=device)
        labels = torch.tensor([ex.labels[ARMS[name]]], device=device)
        sync()
        (user0, sys0, faults0), start = _usage(), time.perf_counter()
        arm.step(ids, labels, cfg.lr)
        sync()
        wall, (user1, sys1, faults1) = time.perf_counter() - start, _usage()
        if timed:
            records.append({"example": k, "arm": name, "tokens": len(ex.input_ids), "wall_seconds": wall,
                            "user_seconds": user1 - user0, "system_seconds": sys1 - sys0,
                            "cpu_seconds": (user1 - user0) + (sys1 - sys0), "minor_faults": faults1 - faults0})
    on_gpu = device.startswith("cuda")
    arms = ("obs", "do")

    def per_arm(key: str) -> dict[str, list]:
        return {a: [r[key] for r in records if r["arm"] == a] for a in arms}

    wall, cpu, user, faults, tokens = (per_arm(k) for k in ("wall_seconds", "cpu_seconds", "user_seconds",
                                                              "minor_faults", "tokens"))
    med = {a: statistics.median(wall[a]) for a in arms}
    ratio_wall, per_example_wall = paired_ratio(records, "wall_seconds")
    ratio_cpu, _ = paired_ratio(records, "cpu_seconds")
    ratio_user, per_example_user = paired_ratio(records, "user_seconds")
    tps = {a: sum(tokens[a]) / sum(wall[a]) for a in arms}
    est = PAPER_STEPS * sum(med.values())
    return {
        "params": params,
        "device": device,
        "dtype": "float32" if precision == "fp32" else f"{precision} autocast, float32 master weights",
        "precision": precision,
        "lora_rank": args.lora,
        "examples_timed": args.steps,
        "steps_timed_per_arm": 2 * args.steps,
        "step_seconds_obs": med["obs"],
        "step_seconds_do": med["do"],
        "masked_unmasked_ratio": ratio_wall if on_gpu else ratio_user,
        "ratio_method": RATIO_METHOD + ("; wall-clock time after cuda synchronize" if on_gpu
                                        else "; process user CPU time"),
        "per_example_ratios": per_example_wall if on_gpu else per_example_user,
        "masked_unmasked_ratio_cpu": ratio_cpu,
        "masked_unmasked_ratio_wall": ratio_wall,
        "cpu_step_seconds_obs": statistics.median(cpu["obs"]),
        "cpu_step_seconds_do": statistics.median(cpu["do"]),
        "user_step_seconds_obs": statistics.median(user["obs"]),
        "user_step_seconds_do": statistics.median(user["do"]),
        "minor_faults_per_step_obs": statistics.median(faults["obs"]),
        "minor_faults_per_step_do": statistics.median(faults["do"]),
        "tokens_per_second": sum(sum(v) for v in tokens.values()) / sum(sum(v) for v in wall.values()),
        "tokens_per_second_obs": tps["obs"],
        "tokens_per_second_do": tps["do"],
        "mean_tokens_per_example": statistics.fmean(len(e.input_ids) for e in examples),
        "peak_memory_bytes": peak_memory_bytes(device),
        "peak_memory_kind": "cuda max allocated" if on_gpu else "process peak RSS",
        "estimated_full_run_seconds": est,
        "estimated_full_run_basis": f"{PAPER_STEPS} steps per arm x 2 arms x median step time",
        "build_seconds": build_seconds,
        "per_step": records,
        "environment": environment_record(device, precision),
    }


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # nothing is written before the end, so nothing is lost
        print("bench_paper_scale: interrupted; no result", file=sys.stderr)
        sys.exit(130)
