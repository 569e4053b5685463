"""Models for the §5 experiment: a hub id / local path, or the embedded tiny Qwen2 built offline.

The embedded default needs no download: a byte-level BPE tokenizer is trained on the experiment's
own text with the ``tokenizers`` library, and a small ``Qwen2ForCausalLM`` (the same architecture
family as the paper's Qwen2.5-0.5B) is built from a config with seeded random weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

from bayes_agent.errors import BayesAgentError, InvalidArgument
from bayes_agent.seeds import check_seed

from .missing_model import LOAD_ERRORS, check_tokenizer_encodes, missing_model_message

__all__ = [
    "EOS", "QWEN25_05B", "RANDOM_INIT_TOKENIZER_VOCAB", "TinyModelConfig", "build_tiny_model",
    "check_tokenizer_fits", "count_parameters", "load_pretrained", "load_tokenizer", "train_tokenizer",
]

EOS = "<|endoftext|>"

RANDOM_INIT_TOKENIZER_VOCAB = 8192
"""Vocabulary of the tokenizer trained on the dialogues for a random-init run at a real shape: its
token ids are used as they are, i.e. mapped into the first 8,192 rows of the model's vocabulary."""


@dataclass(frozen=True)
class TinyModelConfig:
    """Shape of a Qwen2-architecture model built from config with seeded random weights (plain
    data): the embedded tiny model, or a real shape such as :data:`QWEN25_05B` for timing."""

    vocab_size: int = 1024
    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 512
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = True

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name in ("rope_theta", "rms_norm_eps"):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                    raise InvalidArgument(f"model config {name} must be a positive number, got {value!r}")
            elif name == "tie_word_embeddings":
                if not isinstance(value, bool):
                    raise InvalidArgument(f"model config {name} must be true or false, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgument(f"model config {name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise InvalidArgument(
                f"hidden_size {self.hidden_size} is not divisible by num_attention_heads "
                f"{self.num_attention_heads}"
            )
        if self.num_attention_heads % self.num_key_value_heads:
            raise InvalidArgument("num_attention_heads must be a multiple of num_key_value_heads")
        if self.vocab_size < 300:
            raise InvalidArgument(
                f"vocab_size must be at least 300 (256 bytes, the end token and some merges), "
                f"got {self.vocab_size}"
            )


QWEN25_05B = TinyModelConfig(
    vocab_size=151_936,
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    max_position_embeddings=32_768,
    rope_theta=1_000_000.0,
    rms_norm_eps=1e-6,
    tie_word_embeddings=True,
)
"""The architecture of Qwen/Qwen2.5-0.5B as its published ``config.json`` gives it (paper §5.2):
494,032,768 parameters with tied embeddings. Built with random weights, for timing and memory only."""


def count_parameters(model: Any) -> int:
    """Distinct parameters of ``model`` (tied embeddings counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Any:
    """A byte-level BPE tokenizer trained on ``texts``, wrapped as a ``PreTrainedTokenizerFast``.

    Offsets are not trimmed, so the tokens of a string tile it exactly: a token such as ``" The"``
    after ``"Agent:"`` covers the space too, which is what the masking rule needs to see.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [t for t in texts if t]
    if not texts:
        raise InvalidArgument("cannot train a tokenizer on no text")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=EOS)


def build_tiny_model(config: TinyModelConfig, vocab_size: int, seed: int) -> Any:
    """A randomly initialised ``Qwen2ForCausalLM`` of the given shape; same seed, same weights."""
    check_seed(seed)
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    qcfg = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads,
        max_position_embeddings=config.max_position_embeddings,
        rope_theta=config.rope_theta,
        rms_norm_eps=config.rms_norm_eps,
        tie_word_embeddings=config.tie_word_embeddings,
        attention_dropout=0.0,
        use_cache=True,
        eos_token_id=None,
        bos_token_id=None,
        pad_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(qcfg)
    model.eval()
    return model


def check_tokenizer_fits(tokenizer: Any, vocab_size: int, name_or_path: str) -> None:
    """Refuse a tokenizer with more tokens than the model has embedding rows: its high ids would be
    an IndexError deep inside training instead of a line that names both sizes."""
    if len(tokenizer) > vocab_size:
        raise InvalidArgument(
            f"{name_or_path!r}: its tokenizer has {len(tokenizer)} tokens but the model's vocabulary "
            f"(vocab_size) has {vocab_size}; token ids from {vocab_size} up would have no embedding "
            f"(a tokenizer saved beside another model?)"
        )


def load_pretrained(name_or_path: str, *, dtype: str = "float32", device: str = "cpu") -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer from a local directory or the local hub cache only.

    Nothing is downloaded; a missing model raises a :class:`BayesAgentError` that says how to
    supply the weights, and so do weights that are damaged or do not fit the folder's config.json
    (a model that would start from random weights is refused, not fine-tuned as if pretrained).
    """
    import torch
    from transformers import AutoModelForCausalLM

    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}.get(dtype)
    if torch_dtype is None:
        raise InvalidArgument(f"dtype must be float32, bfloat16 or float16, got {dtype!r}")
    tokenizer = load_tokenizer(name_or_path)  # before the weights: an empty tokenizer loads silently
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # its table of missing/mismatched tensors: the refusal below says it in a line
    try:
        model, info = AutoModelForCausalLM.from_pretrained(
            name_or_path, local_files_only=True, dtype=torch_dtype, output_loading_info=True
        )
    except (OSError, ValueError) as exc:
        raise BayesAgentError(missing_model_message(name_or_path, exc)) from None
    except Exception as exc:  # safetensors' own error (a cut file), RuntimeError (shapes unlike config.json)
        why = ("tensor shapes differ from its config.json" if "mismatched" in str(exc)
               else f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")
        raise BayesAgentError(f"{name_or_path!r}: its weights could not be loaded ({why}); a damaged weights "
                              f"file, or weights of another model than its config.json") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    _check_weights_loaded(model, info.get("missing_keys", ()), name_or_path)
    check_tokenizer_fits(tokenizer, model.get_input_embeddings().num_embeddings, name_or_path)
    model.to(device)
    model.eval()
    return model, tokenizer


def load_tokenizer(name_or_path: str) -> Any:
    """The fast tokenizer of a local model folder or cached hub id, refused in one line when it cannot
    load, encodes a plain word to nothing, or has no offset mapping (what the masks need)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=True)
    except LOAD_ERRORS as exc:
        raise BayesAgentError(missing_model_message(name_or_path, exc)) from None
    check_tokenizer_encodes(tokenizer, name_or_path)
    if not getattr(tokenizer, "is_fast", False):
        raise BayesAgentError(
            f"the tokenizer of {name_or_path!r} is not a fast tokenizer; masks need its offset mapping"
        )
    return tokenizer


def _check_weights_loaded(model: Any, missing: Iterable[str], name_or_path: str) -> None:
    """Refuse a model some of whose weights the folder does not hold (transformers initialises them
    at random): e.g. a config.json of another architecture beside the weights."""
    missing = sorted(missing)
    if missing:
        raise InvalidArgument(
            f"{name_or_path!r}: {len(missing)} of the {len(model.state_dict())} weight tensors of its "
            f"{type(model).__name__} (config.json model_type {getattr(model.config, 'model_type', '?')!r}) are "
            f"not in its weights file (e.g. {missing[0]}); they would start at random: is config.json the "
            f"weights' own?"
        )
