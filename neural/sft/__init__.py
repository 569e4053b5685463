"""The paper's §5 experiment: facts → dialogues → masks → base → arms → probes → report.

Standard SFT (every token), interventional SFT (world tokens only) and assistant-only SFT
fine-tuned from the same pretrained base in the same order, then probed for truth vs lies next
to the base; the sweep repeats it over the agent's lie rate. Torch loads only when training starts.
"""

from .facts import FACTS, HELD_OUT, Fact, load_facts
from .corpus import base_corpus, whole_word_share
from .base import BaseConfig, build_base
from .stats import ci95, paired_ci95, slope_ci95
from .dialogues import Dialogue, make_dialogues
from .arms import ALL_ARMS, Arm
from .train import (ARMS, DEFAULT_ARMS, PairResult, SavedArms, TrainConfig, load_checkpoint, train_lockstep, train_pair,
                    train_sequential)
from .probes import classify_reply, probe_facts, question_margin
from .presets import PRESETS, Preset, get_preset
from .experiment import run_experiment, run_seeds
from .sweep import run_sweep

def __getattr__(name: str) -> object:
    """``select_lr`` loads :mod:`neural.sft.validation` on first use: imported here eagerly, it would
    already be in ``sys.modules`` when ``python -m neural.sft.validation`` runs it (a RuntimeWarning)."""
    if name == "select_lr":
        from .validation import select_lr

        return select_lr
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted([
    "FACTS", "HELD_OUT", "Fact", "Dialogue", "make_dialogues", "TrainConfig", "load_checkpoint",
    "ARMS", "DEFAULT_ARMS", "PairResult", "SavedArms",
    "train_pair", "classify_reply", "probe_facts", "question_margin", "PRESETS", "Preset",
    "get_preset", "run_experiment", "run_seeds", "load_facts", "base_corpus", "whole_word_share",
    "BaseConfig", "build_base", "ci95", "paired_ci95", "slope_ci95", "run_sweep",
    "ALL_ARMS", "Arm", "train_lockstep", "train_sequential", "select_lr",
])
