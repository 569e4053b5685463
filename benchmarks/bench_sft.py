"""Cost of an interventional (masked) SFT step relative to a standard (unmasked) one (§6, point 3).

Builds the tiny preset's data and model, then times optimiser steps of both arms on the same
dialogues, alternating the arms so that background load hits both alike. Prints JSON.

    python benchmarks/bench_sft.py --steps 200 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch

    from neural.sft.dialogues import make_dialogues
    from neural.sft.experiment import build_model, make_examples, select_facts
    from neural.sft.presets import get_preset
    from neural.sft.train import ARMS, DEFAULT_ARMS, lm_loss, make_optimizer, epoch_order

    torch.set_num_threads(args.threads)
    preset = get_preset(args.preset)
    facts, held = select_facts(preset)
    dialogues = make_dialogues(facts, preset.n_dialogues, seed=args.seed)
    model, tok = build_model(preset, dialogues, facts + held, args.seed)
    examples, _ = make_examples(dialogues, tok, model.config.max_position_embeddings)
    models = {arm: __import__("copy").deepcopy(model).train() for arm in DEFAULT_ARMS}
    optims = {arm: make_optimizer(m, preset.train) for arm, m in models.items()}
    order = epoch_order(len(examples), 1 + args.steps // len(examples), args.seed)[: args.steps]
    times: dict[str, list[float]] = {arm: [] for arm in DEFAULT_ARMS}
    for k, i in enumerate(order):
        ids = torch.tensor([examples[i].input_ids])
        arms = list(DEFAULT_ARMS) if k % 2 == 0 else list(reversed(DEFAULT_ARMS))
        for arm in arms:
            lab = torch.tensor([examples[i].labels[ARMS[arm]]])
            t0 = time.perf_counter()
            loss = lm_loss(models[arm], ids, lab)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(models[arm].parameters(), preset.train.clip)
            optims[arm].step()
            optims[arm].zero_grad(set_to_none=True)
            times[arm].append(time.perf_counter() - t0)
    med = {arm: statistics.median(v) for arm, v in times.items()}
    mean = {arm: statistics.fmean(v) for arm, v in times.items()}
    print(json.dumps({
        "preset": preset.name,
        "steps_per_arm": args.steps,
        "threads": args.threads,
        "median_step_seconds": med,
        "mean_step_seconds": mean,
        "masked_unmasked_step_cost_ratio_median": med["do"] / med["obs"],
        "masked_unmasked_step_cost_ratio_mean": mean["do"] / mean["obs"],
        "load_average": os.getloadavg(),
        "cpu_count": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
