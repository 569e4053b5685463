"""Writing a result file atomically: it appears complete or not at all.

A run directory's ``metrics.json`` marks a finished run, so a Ctrl-C that lands mid-write must
leave the old file or none, never a truncated one that a resume would read as finished. Used by
the commands and by the report writers of ``neural``; it lives here, outside ``commands``, so a
report module does not depend on the command-line layer.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a ``.partial`` file and an atomic rename."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)
    return path
