"""Subcommands of ``bayes-agent`` provided by ``neural``. Modules here must not import torch at import time.

The chat commands' shared reading and masking of conversation files is public here for scripts of
your own (``benchmarks/bench_chat.py`` uses it).
"""

from ._chat_io import Problems, add_common_arguments, load_tokenizer, masked_conversations, role_overrides

__all__ = ["Problems", "add_common_arguments", "load_tokenizer", "masked_conversations", "role_overrides"]
