"""Ctrl-C at either end of the ``bayes-agent`` command: one line and exit 130, never a traceback.

While a command runs, ``cli.main`` and ``commands/_common`` turn Ctrl-C into one line. Before it
(Python importing the package and its dependencies) and after it (the interpreter winding down)
no command code is on the stack, so a signal handler says it instead. This module imports nothing
heavy: the package's ``__init__`` runs it first, before numpy, sympy or matplotlib load.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
from typing import Any, Callable

__all__ = ["command_finished", "command_starts", "is_the_command", "quiet_start"]

#: the command's executable names and the module names ``python -m`` runs it under
_SCRIPT_NAMES = ("bayes-agent", "bayes-agent.exe")
_MODULE_NAMES = ("bayes_agent", "bayes_agent.__main__", "bayes_agent.cli")

STARTING_LINE = "bayes-agent: interrupted while starting; nothing was written"

_armed = False  # True once a handler of this module holds SIGINT for the command


def is_the_command() -> bool:
    """True in a ``bayes-agent`` or ``python -m bayes_agent`` process (a program that imports the
    library keeps its own Ctrl-C handling)."""
    if os.path.basename(sys.argv[0] if sys.argv else "") in _SCRIPT_NAMES:
        return True
    if sys.argv[:1] != ["-m"]:  # ``python -m`` sets it to "-m" while it imports the package
        return False
    argv = list(getattr(sys, "orig_argv", ()))
    for i, a in enumerate(argv[1:], 1):
        if a.startswith("-m"):
            return (a[2:] or (argv[i + 1] if i + 1 < len(argv) else "")) in _MODULE_NAMES
    return False


def _exit_130(line: str) -> None:
    """Print ``line`` after what the command printed, and end the process with status 130 at once."""
    for stream in (sys.stdout, sys.stderr):  # os._exit skips the flush: earlier output must arrive
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    try:
        os.write(2, (line + "\n").encode("utf-8", "replace"))
    except OSError:
        pass
    os._exit(130)


def _starting(signum: int, frame: Any) -> None:
    _exit_130(STARTING_LINE)


def _hold(handler: Callable[[int, Any], None]) -> None:
    global _armed
    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: keep Python's default
        return
    _armed = True


def quiet_start() -> None:
    """Ctrl-C while the command starts (imports, parser) prints one line and exits 130; only in
    the command's own process. :func:`command_starts` hands Ctrl-C back to the command."""
    if is_the_command() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        _hold(_starting)


def command_starts() -> None:
    """The command's own code runs from here: Ctrl-C raises KeyboardInterrupt again, which the
    command turns into its line (what was saved, how to resume)."""
    if signal.getsignal(signal.SIGINT) is _starting:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def command_finished(line: str) -> None:
    """From here to the exit (thread shutdown, atexit handlers) Ctrl-C prints ``line`` and exits 130."""
    _hold(lambda signum, frame: _exit_130(line))


@atexit.register  # registered when the package is first imported, so it runs after every later one
def _last_at_exit() -> None:
    """The interpreter's own teardown comes after this and runs no Python signal handler (at its
    start SIGINT goes back to the default action, a silent death with status 130). So a Ctrl-C
    still pending is handled here, by the handler above (``signal.signal`` runs pending handlers
    before it swaps), and one that comes later is ignored: the command has finished, its output is
    complete, and the process exits with the command's own status."""
    if _armed:
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # pragma: no cover - atexit runs in the main thread
            pass
