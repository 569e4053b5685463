"""Fixtures shared by every test folder."""

from __future__ import annotations

import signal
import subprocess
from typing import Any, Callable

import pytest


def _take_ctrl_c() -> None:
    # A job started in the background by a non-interactive shell inherits SIGINT as "ignored",
    # and Python then never raises KeyboardInterrupt; the Ctrl-C tests need the default action.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def interruptible() -> Callable[..., subprocess.Popen]:
    """``subprocess.Popen`` for a child that must react to SIGINT as it would at a terminal."""

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen:
        return subprocess.Popen(*args, preexec_fn=_take_ctrl_c, **kwargs)

    return popen
