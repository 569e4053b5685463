"""Subcommands of ``bayes-agent`` provided by ``neural``. Modules here must not import torch at import time."""
