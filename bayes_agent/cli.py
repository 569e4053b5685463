"""The ``bayes-agent`` command: one subcommand per module in ``bayes_agent.commands`` / ``neural.commands``.

Each command module defines ``register(subparsers) -> None`` and sets ``func`` on its parser via
``set_defaults(func=...)``. Command modules must not import torch at import time, so that the
engine's commands work without the neural extra installed.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Sequence

from . import __version__
from ._ctrl_c import command_finished, command_starts
from .errors import BayesAgentError

__all__ = ["main", "build_parser"]

_COMMAND_PACKAGES = ("bayes_agent.commands", "neural.commands")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayes-agent",
        description="An agent's own actions are interventions, not evidence: exact Bayesian "
        "agents, the do-operator, and interventional SFT.",
    )
    parser.add_argument("--version", action="version", version=f"bayes-agent {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for package_name in _COMMAND_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ImportError:  # pragma: no cover - neural not installed
            continue
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package_name}.{info.name}")
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # say it with the usage of the subcommand that was given, not the top level's
        where = _subparser(parser, getattr(args, "command", None)) or parser
        where.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for the exact resume command
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        command_starts()  # a Ctrl-C from here on is the command's to report
        status = int(args.func(args) or 0)
        args.finished = True
        if argv is None:  # the console command: nothing but the exit follows
            command_finished(_interrupted(args))
    except BayesAgentError as exc:
        status = getattr(exc, "exit_status", 2)  # 130 for commands/_common.Interrupted
        label = "" if status == 130 else "error: "
        print(f"bayes-agent {args.command}: {label}{_one_line(exc)}", file=sys.stderr)
        return status
    except KeyboardInterrupt:
        print(_interrupted(args), file=sys.stderr)
        return 130
    except Exception as exc:
        from .commands._common import caused_by_ctrl_c

        if not caused_by_ctrl_c(exc):
            return _os_error(args.command, exc)
        print(_interrupted(args), file=sys.stderr)
        return 130
    return status


def _interrupted(args: argparse.Namespace) -> str:
    """The Ctrl-C line: whether the command had finished and what it had saved (``args.saved``, set
    by a command once its outputs are written), so a Ctrl-C after the last line says where they are."""
    saved = getattr(args, "saved", None)
    finished = saved or getattr(args, "finished", False)
    return (f"bayes-agent {args.command}: interrupted" + (" after the run finished" if finished else "")
            + (f"; saved {saved}" if saved else ""))


def _subparser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser | None:
    for action in parser._actions:  # argparse keeps its subparsers here; there is no public accessor
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return None


def _os_error(command: str, exc: Exception) -> int:
    """One line for a file-system surprise (safetensors' I/O errors included) or a closed pipe;
    anything else is a bug: re-raise."""
    if isinstance(exc, BrokenPipeError):  # output piped into e.g. `head`, which closed early
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if isinstance(exc, OSError):  # a file system surprise the command did not foresee: no traceback
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        print(f"bayes-agent {command}: error: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if type(exc).__name__ == "SafetensorError" and "os error" in str(exc):  # not an OSError subclass
        print(f"bayes-agent {command}: error: cannot write a checkpoint (safetensors): {_one_line(exc)}",
              file=sys.stderr)
        return 2
    raise exc


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
