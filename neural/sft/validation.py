"""Choosing the fine-tuning learning rate on validation seeds, blind to the effect measured.

The protocol of docs/experiment.md: for each validation seed, build that seed's base, train only
the standard arm (Eq. 3) on the seed's training dialogues, and score it by its mean per-token
loss under the standard labels on fresh *truthful* dialogues (p_lie = 0) that are not in the
training set. The lr with the lowest mean over seeds wins (ties within ``tol`` go to the smaller
lr). No probe runs and no Δ is computed, so the choice cannot steer toward the gap between arms.

Run it as ``python -m neural.sft.validation --out DIR`` (the protocol's grid and seeds). Each
(seed, lr) loss is saved in ``DIR/validation_losses.json`` as it comes, so an interrupted grid
continues with ``--resume``; ``DIR/validation.json`` holds the choice once the grid is done.
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

__all__ = ["LOSSES_FILE", "LR_GRID", "RESULT_FILE", "VALIDATION_SEEDS", "choose_lr", "select_lr", "validation_loss"]

LR_GRID: tuple[float, ...] = (2e-4, 5e-4, 1e-3)
"""The learning rates the protocol chooses from (docs/experiment.md, fixed before any run)."""

VALIDATION_SEEDS: tuple[int, ...] = (100, 101, 102)
"""Seeds used only for the choice; the reported seeds are 0–4."""

N_VALIDATION_DIALOGUES = 96
VALIDATION_SEED_OFFSET = 10_000  # validation dialogues of seed s are drawn with seed 10,000 + s

RESULT_FILE = "validation.json"
"""The grid's losses and the chosen lr, written once the grid is done."""

LOSSES_FILE = "validation_losses.json"
"""Every (seed, lr) loss so far, written after each one (what ``--resume`` continues from)."""


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
    resume: bool = False,
) -> dict[str, Any]:
    """Run the validation grid and apply :func:`choose_lr`; write ``out/validation.json`` when given.
    With ``out``, each (seed, lr) loss is saved in ``out/validation_losses.json`` as soon as it is
    known; ``resume`` keeps the losses saved there (by a run of the same preset and grid) and trains
    only the rest.

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
    grid = {"preset": json.loads(json.dumps(preset.to_dict())), "seeds": list(seeds), "lrs": list(lrs)}
    saved = _saved_losses(Path(out), grid) if out is not None and resume else {}
    losses: dict[float, list[float]] = {lr: [] for lr in lrs}
    seconds: dict[str, float] = {}
    from .report import write_json

    for s in seeds:
        done = saved.get(str(s), {})  # this seed's losses an interrupted run saved, by lr
        if all(f"{lr:g}" in done for lr in lrs):
            for lr in lrs:
                losses[lr].append(done[f"{lr:g}"])
            continue
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
            if f"{lr:g}" in done:
                losses[lr].append(done[f"{lr:g}"])
                continue
            cfg = replace(preset.train, lr=lr, seed=s, checkpoint_every=0)
            result = train_lockstep(base.model, train_x, cfg, arms=("obs",), device=preset.device, progress=progress)
            losses[lr].append(validation_loss(result.models["obs"], val_x))
            print(f"validation seed {s}, lr {lr:g}: loss {losses[lr][-1]:.4f}", file=sys.stderr, flush=True)
            if out is not None:  # saved as it comes: an interrupted grid loses no finished (seed, lr)
                saved.setdefault(str(s), {})[f"{lr:g}"] = losses[lr][-1]
                write_json(Path(out) / LOSSES_FILE, {**grid, "losses": saved})
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
        Path(out).mkdir(parents=True, exist_ok=True)
        write_json(Path(out) / RESULT_FILE, record)
    return record


def _saved_losses(out: Path, grid: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The losses an earlier run of the same ``grid`` (preset, seeds, lrs) saved in ``out``, by seed
    and lr; refused (one line) when there are none, that run had another grid, or its file is damaged."""
    from .settings import read_run_json, setting_differences

    path = out / LOSSES_FILE
    data = read_run_json(path, "delete it or start again with --overwrite", "--resume: ")
    if data is None:  # nothing to continue: a finished validation.json would be overwritten
        raise InvalidArgument(f"--resume: {path} is not there, so no interrupted run in {out} has losses to "
                              f"continue from; run without --resume (with --overwrite to replace a finished "
                              f"{RESULT_FILE})")
    if not isinstance(data, dict) or not isinstance(data.get("losses"), dict):
        raise InvalidArgument(f"--resume: {path} holds no saved losses; delete it or start again with --overwrite")
    differ = setting_differences({k: data.get(k) for k in grid}, grid)
    if differ:
        d = differ[0]
        raise InvalidArgument(f"--resume: the losses in {path} were computed with {d.name} {d.saved}, not {d.now}; "
                              f"start again with --overwrite or a new --out")
    return data["losses"]


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse

    from bayes_agent.commands import (add_overwrite_argument, nothing_left_if_rejected, prepare_out_dir,
                                      resume_command)

    from .presets import get_preset

    ap = argparse.ArgumentParser(prog="python -m neural.sft.validation", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help=f"directory for {RESULT_FILE} and {LOSSES_FILE}")
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--base-cache", default=None)
    ap.add_argument("--resume", action="store_true",
                    help=f"keep the losses an interrupted run saved in --out ({LOSSES_FILE}) and train the rest")
    add_overwrite_argument(ap)
    args = ap.parse_args(argv)
    losses = Path(args.out) / LOSSES_FILE
    again = resume_command(sys.argv[1:] if argv is None else argv, drop=("--overwrite", "--resume"), add=["--resume"],
                           program=("python", "-m", "neural.sft.validation"))
    try:
        preset = get_preset(args.preset)
        with nothing_left_if_rejected(args.out):  # checked before any work; a refused run leaves no new --out
            out = prepare_out_dir(args.out, overwrite=args.overwrite, resume=args.resume,
                                  writes=(RESULT_FILE, LOSSES_FILE))
            if args.overwrite:
                for name in (RESULT_FILE, LOSSES_FILE):
                    (out / name).unlink(missing_ok=True)
            rec = select_lr(preset, lrs=LR_GRID, seeds=VALIDATION_SEEDS, base_cache=args.base_cache, out=out,
                            resume=args.resume)
    except (InvalidArgument, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if losses.exists():
            print(f"interrupted: nothing chosen yet; the losses so far are in {losses}; resume with: {again}",
                  file=sys.stderr)
        else:
            print("interrupted: nothing chosen yet; no (seed, lr) had finished, so there is nothing to resume",
                  file=sys.stderr)
        return 130
    print(json.dumps({"mean": rec["mean"], "chosen_lr": rec["chosen_lr"]}))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
