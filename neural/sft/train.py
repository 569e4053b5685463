"""Paired SFT (paper §5.2, §5.4): copies of one model, one seeded order, differing only in labels.

The observational arm minimises Eq. 3 (every non-context token), the interventional arm Eq. 4
(agent content masked), and the optional assistant-only arm the common practice (loss on agent
content only). Every requested arm starts from identical weights, sees the identical example at
every step, and uses the same AdamW settings; a step whose labels hold no supervised token is
skipped (recorded as ``None``), never turned into a NaN. Checkpoints are safetensors with a JSON
beside.
"""

from __future__ import annotations

import copy
import math
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from bayes_agent.errors import BayesAgentError, InvalidArgument
from bayes_agent.seeds import check_seed

from ..masking import IGNORE_INDEX, LabelMode, MaskedExample
from .arms import ALL_ARMS
from .checkpoints import (INIT_FILE, STATE_FILE, load_checkpoint, read_state as _read_state,  # noqa: F401
                          save_checkpoint, steps_trained)

__all__ = [
    "ARMS", "DEFAULT_ARMS", "PairResult", "SavedArms", "TrainConfig", "TrainingArm", "check_arms", "epoch_order",
    "lm_loss", "load_checkpoint", "make_optimizer", "save_checkpoint", "train_lockstep", "train_pair",
    "train_sequential",
]

ARMS: dict[str, LabelMode] = {a.name: a.mode for a in ALL_ARMS}
"""The arms' label modes by short name (a view of :data:`neural.sft.arms.ALL_ARMS`)."""

DEFAULT_ARMS: tuple[str, ...] = ("obs", "do")
"""What :func:`train_pair` trains unless told otherwise: the paper's pair (§5.2)."""



@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and loop settings shared by every arm (plain data)."""

    epochs: int = 4
    lr: float = 2e-5
    weight_decay: float = 0.0
    clip: float = 1.0
    warmup_steps: int = 0
    schedule: str = "linear"  # "linear": decay to 0 after warm-up (the HF default); "constant"
    seed: int = 0
    checkpoint_every: int = 0  # steps; 0 = only at the end when a checkpoint directory is given
    precision: str = "auto"  # autocast dtype (auto/fp32/bf16/fp16); weights and AdamW stay float32
    lora_rank: int = 0  # 0: full fine-tuning; R > 0: LoRA adapters of rank R (peft) in every arm
    lora_alpha: float | None = None  # LoRA scale numerator; None = 2 * lora_rank

    def __post_init__(self) -> None:
        from ..devices import PRECISIONS

        check_seed(self.seed)
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise InvalidArgument(f"epochs must be a positive integer, got {self.epochs!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise InvalidArgument(f"learning rate must be positive and finite, got {self.lr!r}")
        if not self.clip > 0:
            raise InvalidArgument(f"clip must be positive, got {self.clip!r}")
        for name in ("weight_decay", "warmup_steps", "checkpoint_every"):
            if not getattr(self, name) >= 0:
                raise InvalidArgument(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.schedule not in ("linear", "constant"):
            raise InvalidArgument(f"schedule must be 'linear' or 'constant', got {self.schedule!r}")
        if self.precision not in PRECISIONS:
            raise InvalidArgument(f"precision must be one of {list(PRECISIONS)}, got {self.precision!r}")
        if isinstance(self.lora_rank, bool) or not isinstance(self.lora_rank, int) or self.lora_rank < 0:
            raise InvalidArgument(f"lora_rank must be a non-negative integer, got {self.lora_rank!r}")
        if self.lora_alpha is not None and not (self.lora_alpha > 0 and math.isfinite(self.lora_alpha)):
            raise InvalidArgument(f"lora_alpha must be positive and finite, got {self.lora_alpha!r}")


def check_arms(arms: Sequence[str]) -> tuple[str, ...]:
    """The requested arms as a tuple, refusing an empty, repeated or unknown name."""
    if isinstance(arms, str):
        raise InvalidArgument(f"arms must be a sequence of names such as ('obs', 'do'), got the string {arms!r}")
    arms = tuple(arms)
    if not arms:
        raise InvalidArgument(f"no arms requested; choose from {list(ARMS)}")
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise InvalidArgument(f"unknown arm(s) {unknown}; choose from {list(ARMS)}")
    if len(set(arms)) != len(arms):
        raise InvalidArgument(f"repeated arm in {list(arms)}")
    return arms


def epoch_order(n: int, epochs: int, seed: int) -> list[int]:
    """The one example order both arms follow: a fresh seeded shuffle of ``range(n)`` per epoch."""
    rng = random.Random(seed)
    order: list[int] = []
    for _ in range(epochs):
        perm = list(range(n))
        rng.shuffle(perm)
        order.extend(perm)
    return order


@dataclass
class PairResult:
    """The trained arms and what happened on the way (per-step losses, timings, skipped steps).

    ``models`` maps arm names to trained models: a dict in memory, or :class:`SavedArms` after
    sequential training (each lookup loads that arm from disk)."""

    models: Mapping[str, Any]
    losses: dict[str, list[float | None]]
    seconds: dict[str, float]
    order: list[int]
    steps_done: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def arms(self) -> tuple[str, ...]:
        """The trained arms, in training order."""
        return tuple(self.models)

    def step_cost_ratio(self, masked: str = "do", unmasked: str = "obs") -> float:
        """Mean time of a masked step over an unmasked one (NaN when either arm was not trained)."""
        if masked not in self.losses or unmasked not in self.losses:
            return float("nan")
        n = {a: sum(1 for x in self.losses[a][: self.steps_done] if x is not None) for a in (masked, unmasked)}
        if not n[masked] or not n[unmasked] or not self.seconds[unmasked]:
            return float("nan")
        return (self.seconds[masked] / n[masked]) / (self.seconds[unmasked] / n[unmasked])


def lm_loss(model: Any, input_ids: Any, labels: Any) -> Any:
    """Mean next-token cross-entropy over supervised positions (Eq. 3 or Eq. 4 by the labels)."""
    import torch.nn.functional as F

    logits = model(input_ids=input_ids).logits[0, :-1]
    return F.cross_entropy(logits.float(), labels[0, 1:], ignore_index=IGNORE_INDEX)


def make_optimizer(model: Any, cfg: TrainConfig) -> Any:
    """AdamW over the trainable parameters (all of them, or only the LoRA adapters), as every arm uses."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]  # all, or the LoRA adapters
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _master_copy(model: Any, device: str) -> Any:
    """An arm's trainable copy with float32 master weights, whatever dtype ``model`` was loaded in.

    AdamW then keeps float32 moments too; lower precision is only autocast around forward and
    backward. Updating bf16 weights directly rounds most of a 2e-5 step away.
    """
    import torch

    return copy.deepcopy(model).to(device=device, dtype=torch.float32)


def _is_fp32_cpu(model: Any) -> bool:
    import torch

    return all(p.dtype == torch.float32 and p.device.type == "cpu" for p in model.parameters())


def _with_lora(model: Any, cfg: TrainConfig) -> Any:
    """``model`` wrapped with LoRA adapters on every linear layer; seeded, so every arm's
    adapters start identical (B = 0, so the wrapped model starts equal to the base)."""
    import torch

    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise BayesAgentError("LoRA needs the peft library: pip install 'bayes-agent[neural]'") from None
    torch.manual_seed(cfg.seed)
    alpha = cfg.lora_alpha if cfg.lora_alpha is not None else 2 * cfg.lora_rank
    lcfg = LoraConfig(r=cfg.lora_rank, lora_alpha=alpha, lora_dropout=0.0, target_modules="all-linear", bias="none")
    with warnings.catch_warnings():  # peft calls a transformers name deprecated in v5; not ours to fix
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(model, lcfg)


def _lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then constant or linear decay to zero at the last step."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return cfg.lr
    span = max(1, total - cfg.warmup_steps)
    return cfg.lr * max(0.0, (total - step) / span)


class TrainingArm:
    """One arm in training: float32 master model (optionally LoRA), AdamW, autocast, scaler."""

    def __init__(self, name: str, model: Any, cfg: TrainConfig, device: str, precision: str,
                 init: Path | None = None) -> None:
        from ..devices import grad_scaler

        self.name, self.cfg, self.device, self.precision = name, cfg, device, precision
        self.model = _master_copy(model, device)
        if init is not None:  # start from saved weights (sequential arms), not from ``model``'s
            from safetensors.torch import load_model

            try:
                load_model(self.model, str(init))
            except FileNotFoundError:
                raise BayesAgentError(f"checkpoint {init.parent} has no initial weights ({init.name})") from None
        if cfg.lora_rank:
            self.model = _with_lora(self.model, cfg)
        self.model.train()
        self.optim = make_optimizer(self.model, cfg)
        self.scaler = grad_scaler(precision, device)

    def step(self, ids: Any, labels: Any, lr: float) -> float | None:
        """One optimiser step on one example; ``None`` (no step) when nothing is supervised."""
        import torch

        from ..devices import autocast

        if not bool((labels[0, 1:] != IGNORE_INDEX).any()):
            return None  # nothing this arm may learn from: skip, do not divide by 0
        for group in self.optim.param_groups:
            group["lr"] = lr
        with autocast(self.precision, self.device):
            loss = lm_loss(self.model, ids, labels)
        params = [p for p in self.model.parameters() if p.requires_grad]
        if self.scaler is None:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, self.cfg.clip)
            self.optim.step()
        else:  # fp16: scale the loss so small gradients survive, unscale before clipping
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optim)
            torch.nn.utils.clip_grad_norm_(params, self.cfg.clip)
            self.scaler.step(self.optim)
            self.scaler.update()
        self.optim.zero_grad(set_to_none=True)
        return float(loss.detach())

    def finish(self) -> Any:
        """The trained model in eval mode, LoRA adapters merged into plain weights."""
        model = self.model.merge_and_unload() if self.cfg.lora_rank else self.model
        self.optim = None  # free AdamW's moments before the next arm starts
        return model.eval()


class SavedArms(Mapping):
    """Trained arms kept on disk (one safetensors file per arm), each loaded when looked up.

    What sequential training returns, so that at most one trained 0.5B copy is in memory while
    a caller probes the arms one after another. Every lookup loads a fresh copy.
    """

    def __init__(self, paths: dict[str, Path], skeleton: Any, device: str, keep: Any = None) -> None:
        self.paths, self._skeleton, self._device = dict(paths), skeleton, device
        self._keep = keep  # a TemporaryDirectory to keep alive, when the caller gave no directory

    def __getitem__(self, arm: str) -> Any:
        from safetensors.torch import load_model

        model = _master_copy(self._skeleton, self._device)
        load_model(model, str(self.paths[arm]))
        return model.eval()

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


def _prepare(model: Any, examples: Sequence[MaskedExample], cfg: TrainConfig, arms: Sequence[str], device: str,
             checkpoint_dir: str | Path | None, stop_after: int | None, progress: bool) -> "_Run":
    """Check the request and build the loop state both schedules share (order, tensors, precision)."""
    import torch

    from ..devices import resolve_device, resolve_precision

    arms = check_arms(arms)
    device = resolve_device(device)  # "auto" allowed; an absent device is a clear error
    if not examples:
        raise InvalidArgument("no training examples: the data set is empty")
    for arm in arms:
        if ARMS[arm] not in examples[0].labels:
            raise InvalidArgument(f"the examples carry no {ARMS[arm].value} labels (needed by arm {arm!r})")
    if stop_after is not None and (not isinstance(stop_after, int) or stop_after < 0):
        raise InvalidArgument(f"stop_after must be a non-negative integer, got {stop_after!r}")
    precision = resolve_precision(cfg.precision, device)
    order = epoch_order(len(examples), cfg.epochs, cfg.seed)
    total = len(order) if stop_after is None else min(len(order), stop_after)
    torch.manual_seed(cfg.seed)
    tensors = [
        (
            torch.tensor([ex.input_ids], device=device),
            {arm: torch.tensor([ex.labels[ARMS[arm]]], device=device) for arm in arms},
        )
        for ex in examples
    ]
    return _Run(model, tensors, order, total, cfg, arms, device, precision, checkpoint_dir, progress)


def train_lockstep(
    model: Any,
    examples: Sequence[MaskedExample],
    cfg: TrainConfig,
    *,
    arms: Sequence[str] = DEFAULT_ARMS,
    device: str = "cpu",
    checkpoint_dir: str | Path | None = None,
    resume: str | Path | None = None,
    stop_after: int | None = None,
    progress: bool = True,
) -> PairResult:
    """Train one copy of ``model`` per arm, all in memory, stepping in lockstep: at every step each
    arm (in the order given) trains on the same example. The default schedule of the tiny model.

    ``arms`` names any subset of :data:`ARMS` (e.g. ``("obs", "do", "ao")``); each arm starts
    from the same weights and uses the same AdamW settings. ``resume`` continues from a checkpoint
    directory written by an earlier lockstep call (same data and config); ``stop_after`` ends
    after that many steps per arm. ``cfg.precision`` picks the autocast dtype for ``device``;
    weights and AdamW stay float32.
    """
    run = _prepare(model, examples, cfg, arms, device, checkpoint_dir, stop_after, progress)
    return run.lockstep(resume)


def train_sequential(
    model: Any,
    examples: Sequence[MaskedExample],
    cfg: TrainConfig,
    *,
    arms: Sequence[str] = DEFAULT_ARMS,
    device: str = "cpu",
    checkpoint_dir: str | Path | None = None,
    resume: str | Path | None = None,
    stop_after: int | None = None,
    progress: bool = True,
) -> PairResult:
    """Train the arms one after another, each from the same saved initial weights, so one training
    copy is in memory at a time (what the 0.5B shape needs). Bit-identical to :func:`train_lockstep`
    on the CPU; the trained arms come back as :class:`SavedArms`, loaded from disk when looked up.
    Arguments as for :func:`train_lockstep`; ``resume`` takes a checkpoint of sequential training.
    """
    run = _prepare(model, examples, cfg, arms, device, checkpoint_dir, stop_after, progress)
    return run.sequential(resume)


def train_pair(
    model: Any,
    examples: Sequence[MaskedExample],
    cfg: TrainConfig,
    *,
    arms: Sequence[str] = DEFAULT_ARMS,
    device: str = "cpu",
    sequential: bool = False,
    checkpoint_dir: str | Path | None = None,
    resume: str | Path | None = None,
    stop_after: int | None = None,
    progress: bool = True,
) -> PairResult:
    """Train one copy of ``model`` per arm (default: the paper's obs/do pair): :func:`train_sequential`
    when ``sequential``, else :func:`train_lockstep`. Kept for existing callers; new code calls
    one of the two schedules directly."""
    schedule = train_sequential if sequential else train_lockstep
    return schedule(model, examples, cfg, arms=arms, device=device, checkpoint_dir=checkpoint_dir, resume=resume,
                    stop_after=stop_after, progress=progress)


class _Run:
    """The loop state shared by the in-memory (lockstep) and the sequential schedule."""

    def __init__(self, model, tensors, order, total, cfg, arms, device, precision, checkpoint_dir, progress):
        self.model, self.tensors, self.order, self.total, self.cfg = model, tensors, order, total, cfg
        self.arms, self.device, self.precision, self.progress = arms, device, precision, progress
        self.checkpoint_dir = checkpoint_dir
        self.losses: dict[str, list[float | None]] = {arm: [] for arm in arms}
        self.seconds = {arm: 0.0 for arm in arms}

    def _step(self, arm: TrainingArm, step: int) -> None:
        ids, labels = self.tensors[self.order[step]]
        t0 = time.perf_counter()
        loss = arm.step(ids, labels[arm.name], _lr_at(step, len(self.order), self.cfg))
        if loss is not None:
            self.seconds[arm.name] += time.perf_counter() - t0
        self.losses[arm.name].append(loss)

    def _bar(self, start: int, desc: str) -> Any:
        from tqdm.auto import tqdm

        quiet = None if self.progress else True  # None: tqdm stays quiet when stderr is not a terminal
        return tqdm(range(start, self.total), desc=desc, disable=quiet, initial=start, total=self.total)

    def _check_state(self, state: dict, resume: Any, sequential: bool) -> None:
        if bool(state.get("sequential", False)) != sequential:
            raise BayesAgentError(
                f"checkpoint {resume} was written by {'sequential' if not sequential else 'in-memory'} "
                f"training; resume it the same way"
            )
        if tuple(state.get("arms", self.arms)) != self.arms:
            raise BayesAgentError(f"checkpoint {resume} was written for arms {state['arms']}, not {list(self.arms)}")
        if state["order"] != self.order:
            raise BayesAgentError(
                f"checkpoint {resume} was written for a different data set or seed (example order differs)"
            )
        done = steps_trained(state)
        if done > self.total:  # counting back would keep the weights of the longer run under a shorter count
            raise BayesAgentError(
                f"checkpoint {resume} has trained {done} steps, more than this run's {self.total} "
                f"(--max-steps/stop_after); resume with at least {done} steps, or start again with --overwrite"
            )

    def lockstep(self, resume: Any) -> PairResult:
        """Every arm in memory; at each step each arm trains on the same example."""
        runs = {arm: TrainingArm(arm, self.model, self.cfg, self.device, self.precision) for arm in self.arms}
        models = {a: r.model for a, r in runs.items()}
        optims = {a: r.optim for a, r in runs.items()}
        start = 0
        if resume is not None:
            state = load_checkpoint(resume, models, optims)
            self._check_state(state, resume, sequential=False)
            start, self.losses, self.seconds = state["step"], state["losses"], state["seconds"]
        bar = self._bar(start, "paired SFT")
        for step in bar:
            for arm in self.arms:
                self._step(runs[arm], step)
            if self.progress and step % 50 == 0:
                bar.set_postfix({a: f"{v[-1]:.3f}" for a, v in self.losses.items() if v[-1] is not None})
            done = step + 1
            every = self.cfg.checkpoint_every
            if self.checkpoint_dir is not None and every and done % every == 0 and done < self.total:
                self._save(models, optims, done)
        bar.close()
        if self.checkpoint_dir is not None:  # the end (the periodic save leaves it to this one)
            self._save(models, optims, self.total)
        return PairResult({a: r.finish() for a, r in runs.items()}, self.losses, self.seconds, self.order, self.total)

    def sequential(self, resume: Any) -> PairResult:
        """One arm after another, each from the saved initial weights; trained arms go to disk."""
        import tempfile

        from safetensors.torch import save_model

        keep = None
        if self.checkpoint_dir is None:
            keep = tempfile.TemporaryDirectory(prefix="bayes_agent_arms_")
            self.checkpoint_dir = keep.name
        d = Path(self.checkpoint_dir)
        d.mkdir(parents=True, exist_ok=True)
        paths = {arm: d / f"{arm}.safetensors" for arm in self.arms}
        done_steps = {arm: 0 for arm in self.arms}
        init = d / INIT_FILE
        if resume is not None:
            state = _read_state(Path(resume))
            self._check_state(state, resume, sequential=True)
            done_steps, self.losses, self.seconds = state["arm_steps"], state["losses"], state["seconds"]
            init = Path(resume) / INIT_FILE
        else:
            start = self.model if _is_fp32_cpu(self.model) else _master_copy(self.model, "cpu")
            save_model(start, str(init), metadata={"arm": "init"})
            del start
        for arm in self.arms:
            if done_steps[arm] >= self.total:  # finished before the interruption
                paths[arm] = Path(resume) / f"{arm}.safetensors"
                continue
            run = TrainingArm(arm, self.model, self.cfg, self.device, self.precision, init=init)  # same saved start
            if done_steps[arm]:
                load_checkpoint(resume, {arm: run.model}, {arm: run.optim})
            del self.losses[arm][done_steps[arm]:]
            bar = self._bar(done_steps[arm], f"SFT arm {arm}")
            for step in bar:
                self._step(run, step)
                done_steps[arm] = step + 1
                every = self.cfg.checkpoint_every
                if every and done_steps[arm] % every == 0 and done_steps[arm] < self.total:
                    self._save({arm: run.model}, {arm: run.optim}, min(done_steps.values()), done_steps)
            bar.close()
            self._save({arm: run.model}, {arm: run.optim}, min(done_steps.values()), done_steps)
            if self.cfg.lora_rank:  # what SavedArms loads: plain weights with the adapters merged
                save_model(run.finish(), str(paths[arm]), metadata={"arm": arm, "merged_lora": "1"})
            del run
        if resume is not None and init != d / INIT_FILE:
            import shutil

            shutil.copyfile(init, d / INIT_FILE)
        saved = SavedArms(paths, self.model, self.device, keep)
        return PairResult(saved, self.losses, self.seconds, self.order, self.total)

    def _save(self, models: dict, optims: dict, step: int, arm_steps: dict | None = None) -> None:
        save_checkpoint(
            self.checkpoint_dir, models, optims, step, self.order, self.losses, self.seconds, self.cfg,
            arms=self.arms, arm_steps=arm_steps,
        )
