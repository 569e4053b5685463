"""The paper's §5 experiment: facts → dialogues → masks → paired training → probes → report.

Standard SFT (every token) and interventional SFT (world tokens only) trained from the same
weights in the same order, then probed for truth vs lies. Torch loads only when training starts.
"""

from .facts import FACTS, HELD_OUT, Fact
from .dialogues import Dialogue, make_dialogues
from .train import ARMS, DEFAULT_ARMS, PairResult, SavedArms, TrainConfig, load_checkpoint, train_pair
from .probes import classify_reply, probe_facts, question_margin
from .presets import PRESETS, Preset, get_preset
from .experiment import run_experiment, run_seeds

__all__ = sorted([
    "FACTS", "HELD_OUT", "Fact", "Dialogue", "make_dialogues", "TrainConfig", "load_checkpoint",
    "ARMS", "DEFAULT_ARMS", "PairResult", "SavedArms",
    "train_pair", "classify_reply", "probe_facts", "question_margin", "PRESETS", "Preset",
    "get_preset", "run_experiment", "run_seeds",
])
