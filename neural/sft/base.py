"""The pretrained base of the embedded model: pretraining on the fact corpus, cached as safetensors.

Both (all) fine-tuning arms start from this base, as the paper's arms start from Qwen2.5-0.5B
(§5.2). The byte-level BPE tokenizer is trained on the same corpus, so claim words are whole
tokens. A base is stored under ``<cache>/<key>/`` where the key hashes the model shape, the
pretraining settings and the corpus text: any change builds a new base, an unchanged one is
loaded in a second. ``rebuild=True`` (``--rebuild-base``) forces a fresh build.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from bayes_agent.errors import BayesAgentError, InvalidArgument
from bayes_agent.seeds import check_seed

from ..models import EOS, TinyModelConfig, build_tiny_model, train_tokenizer
from .corpus import base_corpus, whole_word_share
from .facts import Fact

__all__ = ["BaseConfig", "BaseModel", "base_key", "build_base", "default_cache_dir"]

CACHE_FORMAT = 1  # bump when the files written below change meaning


@dataclass(frozen=True)
class BaseConfig:
    """Pretraining settings (plain data): packed rows of ``row_tokens``, AdamW, warm-up + linear decay."""

    epochs: int = 16
    lr: float = 3e-3
    batch_size: int = 16
    row_tokens: int = 256
    warmup_steps: int = 20
    weight_decay: float = 0.01
    clip: float = 1.0
    seed: int = 0
    chit_chat: int = 40

    def __post_init__(self) -> None:
        check_seed(self.seed, "base seed")
        for name in ("epochs", "batch_size", "row_tokens"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise InvalidArgument(f"base {name} must be a positive integer, got {v!r}")
        if not self.lr > 0 or self.clip <= 0 or self.weight_decay < 0 or self.warmup_steps < 0:
            raise InvalidArgument("base lr and clip must be positive; weight_decay, warmup_steps >= 0")


@dataclass
class BaseModel:
    """A base model, its tokenizer, and how it was made (``info`` is written to ``base.json``)."""

    model: Any
    tokenizer: Any
    info: dict[str, Any]


def default_cache_dir() -> Path:
    """``$BAYES_AGENT_CACHE/base`` if set, else ``~/.cache/bayes_agent/base``."""
    root = os.environ.get("BAYES_AGENT_CACHE")
    return Path(root) / "base" if root else Path.home() / ".cache" / "bayes_agent" / "base"


def base_key(tiny: TinyModelConfig, cfg: BaseConfig, corpus: Sequence[str]) -> str:
    """Hash of everything the base depends on: shape, settings and the corpus text."""
    h = hashlib.sha256()
    h.update(json.dumps({"format": CACHE_FORMAT, "tiny": asdict(tiny), "base": asdict(cfg)},
                        sort_keys=True).encode())
    for doc in corpus:
        h.update(b"\0" + doc.encode())
    return h.hexdigest()[:16]


def _load(path: Path, tiny: TinyModelConfig, seed: int) -> BaseModel:
    from safetensors.torch import load_model
    from transformers import PreTrainedTokenizerFast

    try:
        info = json.loads((path / "base.json").read_text())
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(path / "tokenizer.json"), eos_token=EOS, pad_token=EOS)
        model = build_tiny_model(tiny, len(tokenizer), seed)
        missing, unexpected = load_model(model, str(path / "model.safetensors"), strict=False)
    except Exception as exc:  # a damaged cache entry: name it and say how to rebuild
        raise BayesAgentError(f"cached base {path} is damaged ({type(exc).__name__}: {exc}); "
                              f"pass --rebuild-base or delete the directory") from None
    if missing or unexpected:
        raise BayesAgentError(f"cached base {path} does not fit the model shape; pass --rebuild-base")
    model.eval()
    return BaseModel(model, tokenizer, dict(info, cached=True, path=str(path)))


def _rows(corpus: Sequence[str], tokenizer: Any, row_tokens: int) -> list[list[int]]:
    """Every document tokenized, ended by EOS, concatenated and cut into rows (the last is dropped
    when short)."""
    stream: list[int] = []
    for doc in corpus:
        stream += tokenizer(doc, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    rows = [stream[i : i + row_tokens] for i in range(0, len(stream), row_tokens)]
    return [r for r in rows if len(r) == row_tokens] or [stream]


def pretrain(model: Any, rows: list[list[int]], cfg: BaseConfig, *, progress: bool = True) -> list[float]:
    """Causal-LM pretraining on packed rows; returns the per-step loss."""
    import torch
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    per_epoch = -(-len(rows) // cfg.batch_size)
    total = per_epoch * cfg.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = get_linear_schedule_with_warmup(opt, min(cfg.warmup_steps, total // 2), total)
    model.train()
    losses: list[float] = []
    bar = tqdm(total=total, desc="pretraining the base", disable=None if progress else True)
    for _ in range(cfg.epochs):
        order = list(range(len(rows)))
        rng.shuffle(order)
        for b in range(0, len(order), cfg.batch_size):
            batch = torch.tensor([rows[i] for i in order[b : b + cfg.batch_size]])
            loss = model(input_ids=batch, labels=batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    bar.close()
    model.eval()
    return losses


def build_base(
    tiny: TinyModelConfig,
    cfg: BaseConfig,
    facts: Sequence[Fact],
    *,
    cache_dir: str | Path | None = None,
    rebuild: bool = False,
    progress: bool = True,
) -> BaseModel:
    """The base for ``facts`` (training and held-out): loaded from the cache, or pretrained and saved."""
    from safetensors.torch import save_model

    corpus = base_corpus(facts, seed=cfg.seed, chit_chat=cfg.chit_chat)
    key = base_key(tiny, cfg, corpus)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = root / key
    if path.is_dir() and not rebuild:
        return _load(path, tiny, cfg.seed)
    t0 = time.perf_counter()
    tokenizer = train_tokenizer(corpus, tiny.vocab_size)
    share = whole_word_share(tokenizer, facts)
    rows = _rows(corpus, tokenizer, min(cfg.row_tokens, tiny.max_position_embeddings))
    model = build_tiny_model(tiny, len(tokenizer), cfg.seed)
    losses = pretrain(model, rows, cfg, progress=progress)
    info = {
        "key": key, "documents": len(corpus), "tokens": sum(len(r) for r in rows), "rows": len(rows),
        "steps": len(losses), "vocab": len(tokenizer), "whole_word_share": share["share"],
        "claim_words": share["words"], "split_claim_words": share["split_words"],
        "final_loss": sum(losses[-10:]) / len(losses[-10:]), "seconds": time.perf_counter() - t0,
        "config": asdict(cfg), "tiny": asdict(tiny), "losses": losses,
    }
    # write to a scratch directory and rename it into place, so a reader never sees half a base
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    save_model(model, str(tmp / "model.safetensors"), metadata={"key": key})
    tokenizer.backend_tokenizer.save(str(tmp / "tokenizer.json"))
    (tmp / "base.json").write_text(json.dumps(info, indent=1) + "\n")
    if path.exists():
        shutil.rmtree(path)
    try:
        tmp.rename(path)
    except OSError:  # another process finished the same base first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return BaseModel(model, tokenizer, dict(info, cached=False, path=str(path)))
