"""Interventional chat SFT with ``ChatCollator`` in one process or several (DDP), the same script.

    python examples/train_chat_ddp.py --global-batch 4                       # one process
    torchrun --nproc_per_node 2 examples/train_chat_ddp.py --global-batch 4  # two processes (gloo on CPU)
    accelerate launch --multi_gpu --num_processes 2 examples/train_chat_ddp.py --global-batch 4  # the same

Each process gets ``global_batch / world_size`` conversations per step (the data is taken in
order, so every run sees the same global batches), the collator masks them, and ``Trainer``
averages the loss over the supervised tokens of all processes. Every rank writes
``OUT/rank<r>.json`` with its collator counters; rank 0 adds the loss of the trained model on a
fixed batch and a checksum of its weights, so runs with different process counts can be compared.
A tiny Qwen2 and the small tokenizer are built here: nothing is downloaded. The run stays on the
CPU (``use_cpu=True``, gloo) whatever the launcher: ``--multi_gpu`` only makes accelerate start
the processes (its ``--cpu`` flag would start one). Drop ``use_cpu`` to train on GPUs with NCCL.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import torch
from torch.utils.data import SequentialSampler
from transformers import Qwen2Config, Qwen2ForCausalLM, Trainer, TrainingArguments

from bayes_agent.commands import add_overwrite_argument, nothing_left_if_rejected, positive_int, prepare_out_dir
from bayes_agent.errors import InvalidArgument
from neural.chat import ChatCollator, build_chat_tokenizer

SAMPLE = Path(__file__).resolve().parent / "data" / "chat_sample.jsonl"


class InOrderTrainer(Trainer):
    """A Trainer that takes the data in order, so the global batches do not depend on the ranks."""

    def _get_train_sampler(self, *args, **kwargs):
        return SequentialSampler(self.train_dataset)


def conversations(n: int) -> list[dict]:
    base = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"messages": base[i % len(base)]["messages"], "tools": base[i % len(base)].get("tools")}
            for i in range(n)]


def _learning_rate(text: str) -> float:
    """An argparse ``type=`` for ``--lr``: a positive, finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be positive and finite, got {text}")
    return value


def main(argv: list[str] | None = None) -> None:
    """Train and write ``OUT/rank<r>.json``; ``argv`` defaults to the command line. ``--out`` is
    checked before any work, and rank files already there are replaced only with ``--overwrite``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="ddp_out", help="folder for rank<r>.json")
    p.add_argument("--global-batch", type=positive_int, default=4, help="conversations per optimizer step, all ranks")
    p.add_argument("--steps", type=positive_int, default=3, help="optimizer steps")
    p.add_argument("--lr", type=_learning_rate, default=1e-3, help="learning rate")
    add_overwrite_argument(p)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if args.global_batch % world:
        raise InvalidArgument(f"--global-batch {args.global_batch} is not divisible by {world} processes")
    # every rank checks the same names before training: none is written until all have trained
    with nothing_left_if_rejected(args.out):
        prepare_out_dir(args.out, overwrite=args.overwrite, writes=[f"rank{r}.json" for r in range(world)])
        _train(args, world, rank)


def _train(args: argparse.Namespace, world: int, rank: int) -> None:
    tok = build_chat_tokenizer("chatml")
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512))
    collator = ChatCollator(tok, mode="interventional")
    data = conversations(args.global_batch * args.steps)
    targs = TrainingArguments(
        output_dir=args.out, per_device_train_batch_size=args.global_batch // world, max_steps=args.steps,
        learning_rate=args.lr, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0,
        report_to=[], use_cpu=True, ddp_backend="gloo" if world > 1 else None, save_strategy="no",
        logging_steps=1, remove_unused_columns=False, dataloader_num_workers=0, seed=0,
        disable_tqdm=True, data_seed=0,
    )
    trainer = InOrderTrainer(model=model, args=targs, train_dataset=data, data_collator=collator)
    trainer.train()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"rank": rank, "world_size": world, "examples": collator.examples,
              "supervised_tokens": collator.supervised_tokens, "tokens": collator.tokens,
              "steps": trainer.state.global_step}
    if rank == 0:
        model = trainer.model.module if hasattr(trainer.model, "module") else trainer.model
        model.eval()
        probe = ChatCollator(tok, mode="observational")(conversations(4))
        with torch.no_grad():
            record["probe_loss"] = float(model(**probe).loss)
        record["weight_sum"] = float(sum(p.detach().double().sum() for p in model.parameters()))
        record["weights"] = [p.detach().double().flatten().tolist() for p in model.parameters()]
    (out / f"rank{rank}.json").write_text(json.dumps(record))
    print(f"rank {rank}/{world}: {collator.report()}")
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        leave_process_group(trainer)


def leave_process_group(trainer: Trainer) -> None:
    """Leave the group together, without the shutdown deadlock torch's gloo group can hit.

    A rank that exits while gloo still runs makes the other abort, hence the barrier. Seen here
    (torch 2.13): the DDP wrapper freed at interpreter exit tore the group down while holding the
    GIL, and gloo's worker thread, still freeing the barrier's tensors, waited for the GIL for ever.
    So the wrapper goes first, and the worker gets a moment with the GIL released before teardown.
    """
    import gc
    import time

    trainer.model_wrapped = trainer.model = trainer.accelerator = None
    gc.collect()
    torch.distributed.barrier()
    time.sleep(0.5)
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    try:
        main()
    except (InvalidArgument, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: no rank file of this run was written", file=sys.stderr)
        sys.exit(130)
