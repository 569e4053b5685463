"""Choosing the fine-tuning learning rate on validation seeds, blind to the effect measured.

The protocol of docs/experiment.md: for each validation seed, build that seed's base, train only
the standard arm (Eq. 3) on the seed's training dialogues, and score it by its mean per-token
loss under the standard labels on fresh *truthful* dialogues (p_lie = 0) that are not in the
training set. The lr with the lowest mean over seeds wins (ties within ``tol`` go to the smaller
lr). No probe runs and no Δ is computed, so the choice cannot steer toward the gap between arms.

Run it as ``python -m neural.sft.validation --out DIR`` (the protocol's grid and seeds).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from bayes_agent.errors import InvalidArgument

from ..masking import IGNORE_INDEX, LabelMode, MaskedExample
from .presets import Preset

__all__ = ["LR_GRID", "VALIDATION_SEEDS", "choose_lr", "select_lr", "validation_loss"]

LR_GRID: tuple[float, ...] = (2e-4, 5e-4, 1e-3)
"""The learning rates the protocol chooses from (docs/experiment.md, fixed before any run)."""

VALIDATION_SEEDS: tuple[int, ...] = (100, 101, 102)
"""Seeds used only for the choice; the reported seeds are 0–4."""

N_VALIDATION_DIALOGUES = 96
VALIDATION_SEED_OFFSET = 10_000  # validation dialogues of seed s are drawn with seed 10,000 + s


def validation_loss(model: Any, examples: Sequence[MaskedExample]) -> float:
    """Mean next-token cross-entropy per supervised token under the standard labels (Eq. 3),
    pooled over ``examples`` (every token counts once, whatever its dialogue's length)."""
    import torch
    import torch.nn.functional as F

    if not examples:
        raise InvalidArgument("no validation examples")
    device = next(model.parameters()).device
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for ex in examples:
                ids = torch.tensor([ex.input_ids], device=device)
                labels = torch.tensor([ex.labels[LabelMode.OBSERVATIONAL]], device=device)
                logits = model(input_ids=ids).logits[0, :-1].float()
                total += float(F.cross_entropy(logits, labels[0, 1:], ignore_index=IGNORE_INDEX, reduction="sum"))
                count += int((labels[0, 1:] != IGNORE_INDEX).sum())
    finally:
        if was_training:
            model.train()
    if not count:
        raise InvalidArgument("the validation examples supervise no token")
    return total / count


def choose_lr(losses: dict[float, Sequence[float]], tol: float = 1e-3) -> float:
    """The protocol's rule: the lr with the lowest mean validation loss over seeds; means within
    ``tol`` of the lowest are tied and the smallest tied lr wins."""
    if not losses:
        raise InvalidArgument("no learning rates to choose from")
    means = {lr: statistics.fmean(v) for lr, v in losses.items()}
    best = min(means.values())
    return min(lr for lr, m in means.items() if m <= best + tol)


def select_lr(
    preset: Preset,
    *,
    lrs: Sequence[float] = LR_GRID,
    seeds: Sequence[int] = VALIDATION_SEEDS,
    base_cache: str | Path | None = None,
    out: str | Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the validation grid and apply :func:`choose_lr`; write ``out/validation.json`` when given.

    Returns ``{"losses": {lr: [loss per seed]}, "mean": {lr: mean}, "chosen_lr": lr, ...}``.
    """
    import torch

    from .dialogues import make_dialogues
    from .experiment import build_base_model, make_examples, select_facts
    from .train import train_lockstep

    if not lrs or not seeds:
        raise InvalidArgument("select_lr needs at least one lr and one seed")
    if preset.threads:
        torch.set_num_threads(preset.threads)
    facts, held_out = select_facts(preset)
    losses: dict[float, list[float]] = {lr: [] for lr in lrs}
    seconds: dict[str, float] = {}
    for s in seeds:
        t0 = time.perf_counter()
        train_d = make_dialogues(facts, preset.n_dialogues, seed=s, p_lie=preset.p_lie, p_tail=preset.p_tail)
        val_d = make_dialogues(facts, N_VALIDATION_DIALOGUES, seed=VALIDATION_SEED_OFFSET + s, p_lie=0.0,
                               p_tail=preset.p_tail)
        base = build_base_model(preset, train_d, facts + held_out, s, cache_dir=base_cache, progress=progress)
        max_len = getattr(base.model.config, "max_position_embeddings", None)
        train_x, _ = make_examples(train_d, base.tokenizer, max_len)
        val_x, _ = make_examples(val_d, base.tokenizer, max_len)
        overlap = {e.text for e in train_x} & {e.text for e in val_x}
        val_x = [e for e in val_x if e.text not in overlap]  # held-out: no validation dialogue was trained on
        for lr in lrs:
            cfg = replace(preset.train, lr=lr, seed=s, checkpoint_every=0)
            result = train_lockstep(base.model, train_x, cfg, arms=("obs",), device=preset.device, progress=progress)
            losses[lr].append(validation_loss(result.models["obs"], val_x))
            print(f"validation seed {s}, lr {lr:g}: loss {losses[lr][-1]:.4f}", file=sys.stderr, flush=True)
        seconds[str(s)] = time.perf_counter() - t0
    chosen = choose_lr(losses)
    record = {
        "rule": "lowest mean validation loss of the standard arm on truthful held-out dialogues (p_lie 0); "
                "ties within 0.001 to the smaller lr",
        "seeds": list(seeds), "lrs": list(lrs), "n_validation_dialogues": N_VALIDATION_DIALOGUES,
        "losses": {f"{lr:g}": v for lr, v in losses.items()},
        "mean": {f"{lr:g}": statistics.fmean(v) for lr, v in losses.items()},
        "chosen_lr": chosen, "seconds": seconds, "epochs": preset.train.epochs,
    }
    if out is not None:
        from .report import write_json

        Path(out).mkdir(parents=True, exist_ok=True)
        write_json(Path(out) / "validation.json", record)
    return record


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse

    from .presets import get_preset

    ap = argparse.ArgumentParser(prog="python -m neural.sft.validation", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="directory for validation.json")
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--base-cache", default=None)
    args = ap.parse_args(argv)
    try:
        rec = select_lr(get_preset(args.preset), base_cache=args.base_cache, out=args.out)
    except InvalidArgument as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing chosen (validation.json is written only at the end)", file=sys.stderr)
        return 130
    print(json.dumps({"mean": rec["mean"], "chosen_lr": rec["chosen_lr"]}))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
