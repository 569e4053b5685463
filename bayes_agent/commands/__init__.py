"""Subcommands of ``bayes-agent`` provided by the engine (no torch). One module per command.

The run-folder rules every command follows, and the argparse types of its options, are public here
for scripts of your own (the examples and ``neural``'s commands use them): check ``--out`` before any work, refuse to write over earlier results without
``--overwrite``, and on Ctrl-C leave no file a stopped run had newly started.
"""

from ._arguments import named_option, nonnegative_int, positive_int, zero_or_more
from ._common import (add_overwrite_argument, example_out_dir, example_script, nothing_left_if_rejected,
                      nothing_new_left, prepare_out_dir)

__all__ = ["add_overwrite_argument", "example_out_dir", "example_script", "named_option", "nonnegative_int",
           "nothing_left_if_rejected", "nothing_new_left", "positive_int", "prepare_out_dir", "zero_or_more"]
