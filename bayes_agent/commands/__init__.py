"""Subcommands of ``bayes-agent`` provided by the engine (no torch). One module per command.

The run-folder rules every command follows, and the argparse types of its options, are public here
for scripts of your own (the examples and ``neural``'s commands use them): check ``--out`` before any work, refuse to write over earlier results without
``--overwrite``, and on Ctrl-C leave no file a stopped run had newly started.
"""

from ._arguments import named_option, nonnegative_int, positive_int, zero_or_more
from ._common import (LOCK_FILE, add_overwrite_argument, check_output_file, example_out_dir, example_script,
                      hold_out_dir, nothing_left_if_rejected, nothing_new_left, plain_text, prepare_out_dir, progress_wanted,
                      resume_command, save_on_interrupt)

__all__ = ["LOCK_FILE", "add_overwrite_argument", "check_output_file", "example_out_dir", "example_script", "hold_out_dir",
           "named_option",
           "nonnegative_int", "nothing_left_if_rejected", "nothing_new_left", "plain_text", "positive_int",
           "prepare_out_dir", "progress_wanted", "resume_command", "save_on_interrupt", "zero_or_more"]
