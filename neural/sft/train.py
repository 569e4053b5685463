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
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from bayes_agent.errors import BayesAgentError, InvalidArgument

from ..masking import IGNORE_INDEX, LabelMode, MaskedExample

__all__ = [
    "ARMS", "DEFAULT_ARMS", "PairResult", "TrainConfig", "check_arms", "epoch_order",
    "load_checkpoint", "train_pair",
]

ARMS: dict[str, LabelMode] = {
    "obs": LabelMode.OBSERVATIONAL,
    "do": LabelMode.INTERVENTIONAL,
    "ao": LabelMode.ASSISTANT_ONLY,
}
"""The arms by short name: standard SFT (Eq. 3), interventional SFT (Eq. 4), assistant-only."""

DEFAULT_ARMS: tuple[str, ...] = ("obs", "do")
"""What :func:`train_pair` trains unless told otherwise: the paper's pair (§5.2)."""

STATE_FILE = "state.json"


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and loop settings shared by both arms (plain data)."""

    epochs: int = 4
    lr: float = 2e-5
    weight_decay: float = 0.0
    clip: float = 1.0
    warmup_steps: int = 0
    schedule: str = "linear"  # "linear": decay to 0 after warm-up (the HF default); "constant"
    seed: int = 0
    checkpoint_every: int = 0  # steps; 0 = only at the end when a checkpoint directory is given

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise InvalidArgument(f"epochs must be a positive integer, got {self.epochs!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise InvalidArgument(f"learning rate must be positive and finite, got {self.lr!r}")
        if self.clip <= 0 or self.weight_decay < 0 or self.warmup_steps < 0 or self.checkpoint_every < 0:
            raise InvalidArgument("clip must be positive; weight_decay, warmup_steps, checkpoint_every >= 0")
        if self.schedule not in ("linear", "constant"):
            raise InvalidArgument(f"schedule must be 'linear' or 'constant', got {self.schedule!r}")


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
    """The trained arms and what happened on the way (per-step losses, timings, skipped steps)."""

    models: dict[str, Any]
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


def _lm_loss(model: Any, input_ids: Any, labels: Any) -> Any:
    """Mean next-token cross-entropy over supervised positions (Eq. 3 or Eq. 4 by the labels)."""
    import torch.nn.functional as F

    logits = model(input_ids=input_ids).logits[0, :-1]
    return F.cross_entropy(logits.float(), labels[0, 1:], ignore_index=IGNORE_INDEX)


def _make_optimizer(model: Any, cfg: TrainConfig) -> Any:
    import torch

    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def _lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then constant or linear decay to zero at the last step."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return cfg.lr
    span = max(1, total - cfg.warmup_steps)
    return cfg.lr * max(0.0, (total - step) / span)


def train_pair(
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
    """Train one copy of ``model`` per arm in lockstep (default: the paper's obs/do pair).

    ``arms`` names any subset of :data:`ARMS` (e.g. ``("obs", "do", "ao")``); each arm starts
    from the same weights and sees the same examples in the same order; within a step the arms
    run in the order given. ``resume`` continues from a checkpoint directory written by an earlier call (same data and
    config); ``stop_after`` ends after that many steps in total (for tests and interruptions).
    """
    import torch
    from tqdm.auto import tqdm

    arms = check_arms(arms)
    if not examples:
        raise InvalidArgument("no training examples: the data set is empty")
    for arm in arms:
        if ARMS[arm] not in examples[0].labels:
            raise InvalidArgument(f"the examples carry no {ARMS[arm].value} labels (needed by arm {arm!r})")
    order = epoch_order(len(examples), cfg.epochs, cfg.seed)
    total = len(order) if stop_after is None else min(len(order), stop_after)
    torch.manual_seed(cfg.seed)
    models = {arm: copy.deepcopy(model).to(device) for arm in arms}
    optims = {arm: _make_optimizer(m, cfg) for arm, m in models.items()}
    losses: dict[str, list[float | None]] = {arm: [] for arm in arms}
    seconds = {arm: 0.0 for arm in arms}
    start = 0
    if resume is not None:
        state = load_checkpoint(resume, models, optims)
        if state["order"] != order:
            raise BayesAgentError(
                f"checkpoint {resume} was written for a different data set or seed (example order differs)"
            )
        start, losses, seconds = state["step"], state["losses"], state["seconds"]
    tensors = [
        (
            torch.tensor([ex.input_ids], device=device),
            {arm: torch.tensor([ex.labels[ARMS[arm]]], device=device) for arm in arms},
        )
        for ex in examples
    ]
    for m in models.values():
        m.train()
    bar = tqdm(range(start, total), desc="paired SFT", disable=not progress, initial=start, total=total)
    for step in bar:
        ids, labels = tensors[order[step]]
        for arm in arms:
            lab = labels[arm]
            if not bool((lab[0, 1:] != IGNORE_INDEX).any()):
                losses[arm].append(None)  # nothing this arm may learn from: skip, do not divide by 0
                continue
            t0 = time.perf_counter()
            for group in optims[arm].param_groups:
                group["lr"] = _lr_at(step, len(order), cfg)
            loss = _lm_loss(models[arm], ids, lab)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(models[arm].parameters(), cfg.clip)
            optims[arm].step()
            optims[arm].zero_grad(set_to_none=True)
            seconds[arm] += time.perf_counter() - t0
            losses[arm].append(float(loss.detach()))
        if progress and step % 50 == 0:
            bar.set_postfix({a: f"{losses[a][-1]:.3f}" for a in arms if losses[a][-1] is not None})
        done = step + 1
        if checkpoint_dir is not None and cfg.checkpoint_every and done % cfg.checkpoint_every == 0:
            save_checkpoint(checkpoint_dir, models, optims, done, order, losses, seconds, cfg)
    bar.close()
    for m in models.values():
        m.eval()
    if checkpoint_dir is not None:
        save_checkpoint(checkpoint_dir, models, optims, total, order, losses, seconds, cfg)
    return PairResult(models, losses, seconds, order, total)


# ---------------------------------------------------------------------------------------------
# checkpoints: <dir>/<arm>.safetensors (weights), <arm>.optim.safetensors (AdamW), state.json
# ---------------------------------------------------------------------------------------------


def save_checkpoint(
    directory: str | Path,
    models: dict[str, Any],
    optims: dict[str, Any],
    step: int,
    order: list[int],
    losses: dict[str, list[float | None]],
    seconds: dict[str, float],
    cfg: TrainConfig,
) -> Path:
    """Write every arm's weights and optimiser states (safetensors) and the loop state (JSON)."""
    from safetensors.torch import save_file, save_model

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for arm, m in models.items():
        save_model(m, str(d / f"{arm}.safetensors"), metadata={"arm": arm, "step": str(step)})
        flat = {}
        sd = optims[arm].state_dict()
        for pid, st in sd["state"].items():
            for key, value in st.items():
                flat[f"{pid}.{key}"] = value.detach().clone().contiguous().reshape(value.shape)
        groups = sd["param_groups"]
        save_file(flat, str(d / f"{arm}.optim.safetensors"))
        (d / f"{arm}.optim.json").write_text(json.dumps(groups))
    state = {
        "step": step,
        "arms": list(models),
        "config": asdict(cfg),
        "model_config": _model_config(next(iter(models.values()))),
        "order": order,
        "losses": losses,
        "seconds": seconds,
    }
    (d / STATE_FILE).write_text(json.dumps(state))
    return d


def _model_config(model: Any) -> dict[str, Any]:
    cfg = getattr(model, "config", None)
    return cfg.to_dict() if cfg is not None and hasattr(cfg, "to_dict") else {}


def load_checkpoint(directory: str | Path, models: dict[str, Any], optims: dict[str, Any] | None = None) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` into ``models`` (and ``optims``).

    A missing or damaged file raises a :class:`BayesAgentError` naming the file.
    """
    import torch
    from safetensors.torch import load_file, load_model

    d = Path(directory)
    state_path = d / STATE_FILE
    try:
        state = json.loads(state_path.read_text())
        step = int(state["step"])
    except FileNotFoundError:
        raise BayesAgentError(f"no checkpoint at {d} ({STATE_FILE} is missing)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BayesAgentError(f"checkpoint state {state_path} is corrupted: {exc}") from None
    if set(state.get("arms", models)) != set(models):
        raise BayesAgentError(f"checkpoint {d} was written for arms {state['arms']}, not {list(models)}")
    for arm, m in models.items():
        path = d / f"{arm}.safetensors"
        try:
            missing, unexpected = load_model(m, str(path), strict=False)
        except FileNotFoundError:
            raise BayesAgentError(f"checkpoint {d} has no weights for arm {arm!r} ({path.name})") from None
        except Exception as exc:  # safetensors raises its own error type for damaged files
            raise BayesAgentError(f"checkpoint file {path} is corrupted or incompatible: {exc}") from None
        if missing or unexpected:
            raise BayesAgentError(
                f"checkpoint file {path} does not fit this model (missing {sorted(missing)[:3]}, "
                f"unexpected {sorted(unexpected)[:3]})"
            )
        if optims is None:
            continue
        opath = d / f"{arm}.optim.safetensors"
        try:
            flat = load_file(str(opath))
            groups = json.loads((d / f"{arm}.optim.json").read_text())
        except FileNotFoundError:
            raise BayesAgentError(f"checkpoint {d} has no optimiser state for arm {arm!r}") from None
        except Exception as exc:
            raise BayesAgentError(f"optimiser state {opath} is corrupted: {exc}") from None
        opt_state: dict[int, dict[str, Any]] = {}
        for key, value in flat.items():
            pid, name = key.split(".", 1)
            opt_state.setdefault(int(pid), {})[name] = value
        try:
            optims[arm].load_state_dict({"state": opt_state, "param_groups": groups})
        except (ValueError, KeyError, RuntimeError) as exc:
            raise BayesAgentError(f"optimiser state {opath} does not fit this model: {exc}") from None
    state["losses"] = {a: list(v) for a, v in state["losses"].items()}
    return state
