"""Why a model or tokenizer could not be loaded from disk, in one line (nothing is downloaded).

Shared by model loading (:mod:`neural.models`) and the commands that check ``--model`` before any
work, so both say the same thing.
"""

from __future__ import annotations

import os
import re
from typing import Any

from bayes_agent.errors import InvalidArgument

__all__ = ["LOAD_ERRORS", "check_tokenizer_encodes", "is_hub_id", "missing_model_message"]

#: What transformers raises on a tokenizer or config file that is absent or damaged: OSError (no
#: file), ValueError (not JSON), and KeyError / TypeError / AttributeError (JSON of the wrong shape,
#: such as a tokenizer.json without its "added_tokens").
LOAD_ERRORS = (OSError, ValueError, KeyError, TypeError, AttributeError)


def is_hub_id(name_or_path: str) -> bool:
    """Whether the text could name a Hugging Face hub repository (``org/name``) rather than a path."""
    return bool(re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name_or_path)) and not name_or_path.startswith(".")


def missing_model_message(name_or_path: str, exc: Exception) -> str:
    """Why ``--model`` could not be loaded: a path that is not there, or a hub id not downloaded."""
    detail = f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    path = os.path.expanduser(name_or_path)
    if os.path.isdir(path):
        return f"{name_or_path!r} is a directory but {_NOT_LOADABLE} {detail}"
    if os.path.isfile(path):
        return (f"--model {name_or_path!r} is a file, not a model folder; give the directory that holds the "
                f"model's config.json, weights and tokenizer files")
    if not is_hub_id(name_or_path) or os.path.exists(path):
        return (f"--model {name_or_path!r}: no such directory; give the directory that holds the "
                f"model's config.json, weights and tokenizer files, or run without --model to use "
                f"the embedded tiny model")
    local = "./" + name_or_path.rsplit("/", 1)[-1]
    return (f"no local weights for model {name_or_path!r} (this run never downloads). Download it on "
            f"a machine with network access: `hf download {name_or_path} --local-dir {local}`, copy "
            f"the directory here and pass `--model {local}`, or run without --model to use the "
            f"embedded tiny model {detail}")


_NOT_LOADABLE = "holds no loadable model and tokenizer (config.json, weights, tokenizer files)"


def check_tokenizer_encodes(tokenizer: Any, name_or_path: str) -> None:
    """Refuse a tokenizer that encodes a plain word to no tokens: what transformers builds, without
    complaint, from a folder that has config.json but no tokenizer files (every text would be empty)."""
    try:
        ids = tokenizer("Hello", add_special_tokens=False)["input_ids"]
    except Exception as exc:  # a tokenizer that cannot even encode: the same refusal, with the reason
        ids, why = [], f"encoding 'Hello' fails ({type(exc).__name__}: {exc})"
    else:
        why = f"its tokenizer ({len(tokenizer)} tokens) encodes 'Hello' to no tokens"
    if not ids:
        raise InvalidArgument(f"{name_or_path!r} {_NOT_LOADABLE}: {why}")
