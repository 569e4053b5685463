"""Named experiment settings as plain data: ``micro`` (unit tests), ``tiny`` (default), ``paper``.

``tiny`` is the embedded model the main job trains on two CPU cores in a few minutes. As in the
paper (§5.2) the arms fine-tune a pretrained base: ``base`` holds the pretraining settings of
:mod:`neural.sft.base` (corpus of every fact, tokenizer trained on it), and ``train`` the
fine-tuning settings, whose learning rate was chosen on validation seeds by a rule blind to the effect (docs/experiment.md).
``Preset.from_scratch()`` is the ablation without a base: random init, the older settings in
``scratch_train`` (lr 3e-3, 50-step warm-up, 4 epochs). ``paper`` is §5.2: Qwen/Qwen2.5-0.5B,
AdamW lr 2e-5, clip 1.0, 4 epochs over 480 dialogues at batch size 1 (checkpoint once per
epoch); the pretrained model is its own base, so it has no ``base`` stage. The paper preset keeps
float32 master weights with bf16 autocast on a GPU that has it (``precision="auto"``) and trains
the arms one after another so that one training copy is in memory at a time. Its ``tiny`` field
holds the model's published shape (:data:`~neural.models.QWEN25_05B`), which ``random_init=True``
builds without any download, for timing and memory only.

All use a linear warm-up and then a linear decay of the learning rate to zero (the Hugging Face
default schedule).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from bayes_agent.errors import InvalidArgument

from ..models import QWEN25_05B, TinyModelConfig
from .base import BaseConfig
from .train import ARMS, TrainConfig, check_arms

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
    base: BaseConfig | None = None  # pretrain the tiny model first; None = fine-tune from init
    scratch_train: TrainConfig | None = None  # the settings of the from-scratch ablation
    arms: tuple[str, ...] = tuple(ARMS)  # obs (Eq. 3), do (Eq. 4), ao (assistant-only)
    n_held_out: int = 12  # how many held-out facts to probe (a prefix)
    ablate_order: bool = False  # each arm its own shuffled order (the public notebook's defect)
    ablate_first_token: bool = False  # Δ without the first completion token (the other defect)

    def __post_init__(self) -> None:
        if self.model is None and self.tiny is None:
            raise InvalidArgument(f"preset {self.name!r} names neither a model nor a tiny config")
        if self.random_init and self.tiny is None:
            raise InvalidArgument(f"preset {self.name!r} has no model shape to build with random weights")
        for name in ("max_steps", "probe_facts"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InvalidArgument(f"{name} must be a positive integer, got {value!r}")
        object.__setattr__(self, "arms", check_arms(self.arms))
        if self.base is not None and self.model is not None:
            raise InvalidArgument(f"preset {self.name!r}: a pretrained --model is its own base; "
                                  f"it cannot also have a tiny base stage")
        if not 1 <= self.n_facts <= 33:
            raise InvalidArgument(f"n_facts must be between 1 and 33, got {self.n_facts}")
        if not 0 <= self.n_held_out <= 12:
            raise InvalidArgument(f"n_held_out must be between 0 and 12, got {self.n_held_out}")
        if self.n_dialogues < 1:
            raise InvalidArgument(f"n_dialogues must be positive, got {self.n_dialogues}")

    def with_(self, **changes: Any) -> "Preset":
        """A copy with some fields changed; ``epochs``/``lr``/``seed`` go to the train config."""
        train_keys = {k: changes.pop(k) for k in list(changes) if k in TrainConfig.__dataclass_fields__}
        if changes.get("model") is not None:
            changes.setdefault("base", None)  # --model: the pretrained model is the base
            changes.setdefault("tiny", None)
        train = replace(self.train, **train_keys) if train_keys else self.train
        return replace(self, train=train, **changes)

    @property
    def pretrains_base(self) -> bool:
        """Whether the arms start from the tiny model pretrained on the fact corpus (``base``): not
        with a ``model`` of its own, and not with ``random_init`` (random weights of ``tiny``'s shape)."""
        return self.base is not None and self.model is None and not self.random_init

    def from_scratch(self) -> "Preset":
        """The ablation without a pretrained base: random init and the from-scratch settings."""
        return replace(self, base=None, train=self.scratch_train or self.train)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# chosen by the protocol of docs/experiment.md: on validation seeds 100-102 (never the reported seeds 0-4), by the
# standard arm's loss on truthful held-out dialogues (blind to Δ); 5e-4 had the lowest mean of {2e-4, 5e-4, 1e-3}
FT_LR = 5e-4
FT_EPOCHS = 4

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
        train=TrainConfig(epochs=1, lr=1e-3, warmup_steps=2),
        n_facts=4,
        n_dialogues=12,
        max_new_tokens=8,
        base=BaseConfig(epochs=2, batch_size=8, row_tokens=128, warmup_steps=2, chit_chat=4),
        scratch_train=TrainConfig(epochs=1, lr=3e-3, warmup_steps=5),
        n_held_out=3,
    ),
    "tiny": Preset(
        name="tiny",
        model=None,
        tiny=TinyModelConfig(
            vocab_size=2048,  # a request: the byte-level BPE stops when every corpus word is one token
            hidden_size=128,
            intermediate_size=256,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=512,
        ),
        train=TrainConfig(epochs=FT_EPOCHS, lr=FT_LR, warmup_steps=20, checkpoint_every=480),
        base=BaseConfig(epochs=16, lr=3e-3, batch_size=16, row_tokens=256),
        scratch_train=TrainConfig(epochs=4, lr=3e-3, warmup_steps=50, checkpoint_every=480),
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
