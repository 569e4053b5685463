"""Paired SFT at the paper's real shape: the Qwen2.5-0.5B architecture with random weights.

Builds the paper preset's 480 dialogues (seed 0) and their masks with a tokenizer trained on them
(its ids index the first rows of the model's 151,936-token vocabulary), then times optimiser
steps at batch size 1 exactly as ``train_pair`` takes them: float32 master weights, AdamW,
clipping, and the device's autocast precision. A step's cost depends on the labels, not on the
weights' values, so the arms' steps are timed on one model copy, alternating (obs, do, do, obs,
...) over the same examples so that background load hits both alike; that also keeps one 0.5B
training copy in memory (about 8 GB with AdamW) instead of two.

Reports per arm the median step time and tokens per second, the masked/unmasked step-time
ratio, the peak memory (GPU max allocated, or the process's peak RSS on the CPU), and an
estimate of the full 1,920-step run (4 epochs x 480 dialogues, per arm, arms one after another).

On the CPU the masked/unmasked ratio is taken from the process's CPU time per step
(``time.process_time``), which other jobs on a shared machine do not inflate; wall-clock times
are reported too (``masked_unmasked_ratio_wall``). On a GPU both come from wall-clock time after
``torch.cuda.synchronize()``.

    python benchmarks/bench_paper_scale.py --steps 2 --json            # this CPU: a few steps
    python benchmarks/bench_paper_scale.py --device cuda --steps 50 --json
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
    ap.add_argument("--steps", type=int, default=5, help="timed steps per arm (after --warmup)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps per arm first (allocation, caches)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
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


def run(args: argparse.Namespace) -> dict:
    import torch
    from tqdm.auto import tqdm

    from bayes_agent.errors import InvalidArgument
    from neural.devices import check_threads, environment_record, peak_memory_bytes, resolve_device, resolve_precision
    from neural.models import count_parameters
    from neural.sft.dialogues import make_dialogues
    from neural.sft.experiment import build_model, make_examples, select_facts
    from neural.sft.presets import get_preset
    from neural.sft.train import ARMS, TrainConfig, _Arm, epoch_order

    if args.steps < 1 or args.warmup < 0:
        raise InvalidArgument(f"--steps must be positive and --warmup non-negative, got {args.steps}, {args.warmup}")
    device = resolve_device(args.device)
    if check_threads(args.threads):
        torch.set_num_threads(args.threads)
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
    arm = _Arm("timing", model, cfg, device, precision)  # one fp32 master copy, AdamW, autocast
    del model
    n = args.warmup + args.steps
    order = epoch_order(len(examples), 1, args.seed)[:n]
    arms = ("obs", "do")
    times: dict[str, list[float]] = {a: [] for a in arms}
    cpu_times: dict[str, list[float]] = {a: [] for a in arms}
    tokens: dict[str, list[int]] = {a: [] for a in arms}
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for k in tqdm(range(n), desc="paper-shape steps", disable=not sys.stderr.isatty()):
        ex = examples[order[k]]
        ids = torch.tensor([ex.input_ids], device=device)
        for name in (arms if k % 2 == 0 else arms[::-1]):
            labels = torch.tensor([ex.labels[ARMS[name]]], device=device)
            sync()
            start, cpu_start = time.perf_counter(), time.process_time()
            arm.step(ids, labels, cfg.lr)
            sync()
            if k >= args.warmup:
                times[name].append(time.perf_counter() - start)
                cpu_times[name].append(time.process_time() - cpu_start)
                tokens[name].append(len(ex.input_ids))
    med = {a: statistics.median(v) for a, v in times.items()}
    cpu_med = {a: statistics.median(v) for a, v in cpu_times.items()}
    on_gpu = device.startswith("cuda")
    tps = {a: sum(tokens[a]) / sum(times[a]) for a in arms}
    est = PAPER_STEPS * sum(med.values())
    return {
        "params": params,
        "device": device,
        "dtype": "float32" if precision == "fp32" else f"{precision} autocast, float32 master weights",
        "precision": precision,
        "lora_rank": args.lora,
        "steps_timed_per_arm": args.steps,
        "step_seconds_obs": med["obs"],
        "step_seconds_do": med["do"],
        "masked_unmasked_ratio": med["do"] / med["obs"] if on_gpu else cpu_med["do"] / cpu_med["obs"],
        "masked_unmasked_ratio_wall": med["do"] / med["obs"],
        "cpu_step_seconds_obs": cpu_med["obs"],
        "cpu_step_seconds_do": cpu_med["do"],
        "tokens_per_second": sum(sum(v) for v in tokens.values()) / sum(sum(v) for v in times.values()),
        "tokens_per_second_obs": tps["obs"],
        "tokens_per_second_do": tps["do"],
        "mean_tokens_per_example": statistics.fmean(len(e.input_ids) for e in examples),
        "peak_memory_bytes": peak_memory_bytes(device),
        "peak_memory_kind": "cuda max allocated" if device.startswith("cuda") else "process peak RSS",
        "estimated_full_run_seconds": est,
        "estimated_full_run_basis": f"{PAPER_STEPS} steps per arm x 2 arms x median step time",
        "build_seconds": build_seconds,
        "environment": environment_record(device, precision),
    }


if __name__ == "__main__":
    sys.exit(main())
