"""Subcommands of ``bayes-agent`` provided by the engine (no torch). One module per command."""
