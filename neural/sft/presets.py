"""Named experiment settings as plain data: ``micro`` (unit tests), ``tiny`` (default), ``paper``.

``tiny`` is the embedded model the main job trains on two CPU cores in a few minutes. It starts
from random weights, so it needs a much larger learning rate than the paper's 2e-5 (which is for
fine-tuning a pretrained 0.5B model) and a short linear warm-up; both arms get exactly the same
settings, init and data. ``paper`` is §5.2: Qwen/Qwen2.5-0.5B, AdamW lr 2e-5, clip 1.0, 4 epochs
over 480 dialogues at batch size 1 (checkpoint once per epoch), float32 master weights with bf16
autocast on a GPU that has it (``precision="auto"``), arms trained one after another so that one
training copy is in memory at a time. Its ``tiny`` field holds the model's published shape
(:data:`~neural.models.QWEN25_05B`), which ``random_init=True`` builds without any download, for
timing and memory only.

Both use a linear warm-up and then a linear decay of the learning rate to zero (the Hugging Face
default schedule). For the tiny model the decay matters: with a constant rate the standard arm
ended noisy and biased toward the truth (mean Δ_obs +0.23 with 2 layers, +0.19 with 4, seed 0),
with the decay it lands where its training data puts it (≈ −0.02).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from bayes_agent.errors import InvalidArgument

from ..models import QWEN25_05B, TinyModelConfig
from .train import TrainConfig

__all__ = ["PRESETS", "Preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """Everything one run needs: data, model, optimiser, probes."""

    name: str
    model: str | None  # hub id or local directory; None = the embedded tiny model
    tiny: TinyModelConfig | None  # the shape built with random weights (model None, or random_init)
    train: TrainConfig
    n_facts: int = 33  # how many facts of the bank to use (a prefix)
    n_dialogues: int = 480
    p_lie: float = 0.6
    p_tail: float = 0.5
    dtype: str = "float32"  # dtype the pretrained weights load in; training keeps float32 masters
    device: str = "auto"  # auto (CUDA, then MPS, then CPU), cuda, cuda:N, mps, cpu
    max_new_tokens: int = 32
    probe_held_out: bool = True
    threads: int | None = 1  # torch CPU threads; 1 avoids thread thrashing on a shared 2-core box
    random_init: bool = False  # build ``tiny``'s shape with random weights instead of loading ``model``
    sequential_arms: bool = False  # train the arms one after another (one training copy in memory)
    max_steps: int | None = None  # stop each arm after this many steps (smoke runs); None = all
    probe_facts: int | None = None  # probe only the first N training facts (and N held-out ones)

    def __post_init__(self) -> None:
        if self.model is None and self.tiny is None:
            raise InvalidArgument(f"preset {self.name!r} names neither a model nor a tiny config")
        if self.random_init and self.tiny is None:
            raise InvalidArgument(f"preset {self.name!r} has no model shape to build with random weights")
        for name in ("max_steps", "probe_facts"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InvalidArgument(f"{name} must be a positive integer, got {value!r}")
        if not 1 <= self.n_facts <= 33:
            raise InvalidArgument(f"n_facts must be between 1 and 33, got {self.n_facts}")
        if self.n_dialogues < 1:
            raise InvalidArgument(f"n_dialogues must be positive, got {self.n_dialogues}")

    def with_(self, **changes: Any) -> "Preset":
        """A copy with some fields changed; ``epochs``/``lr``/``seed`` go to the train config."""
        train_keys = {k: changes.pop(k) for k in list(changes) if k in TrainConfig.__dataclass_fields__}
        train = replace(self.train, **train_keys) if train_keys else self.train
        return replace(self, train=train, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    "micro": Preset(
        name="micro",
        model=None,
        tiny=TinyModelConfig(
            vocab_size=320,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=512,
        ),
        train=TrainConfig(epochs=1, lr=3e-3, warmup_steps=5),
        n_facts=4,
        n_dialogues=12,
        max_new_tokens=8,
        probe_held_out=False,
    ),
    "tiny": Preset(
        name="tiny",
        model=None,
        tiny=TinyModelConfig(
            vocab_size=1024,
            hidden_size=128,
            intermediate_size=256,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=512,
        ),
        train=TrainConfig(epochs=4, lr=3e-3, warmup_steps=50),
    ),
    "paper": Preset(
        name="paper",
        model="Qwen/Qwen2.5-0.5B",
        tiny=QWEN25_05B,  # only built with --random-init
        train=TrainConfig(epochs=4, lr=2e-5, clip=1.0, checkpoint_every=480, precision="auto"),
        dtype="float32",
        device="auto",
        threads=None,
        sequential_arms=True,
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InvalidArgument(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
