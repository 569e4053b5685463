"""Helpers shared by the engine's command modules (not a command: the leading underscore hides it)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidArgument


def output_dir(path: str) -> Path:
    """Create ``--out`` (and its parents) or say clearly why it cannot be created."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidArgument(f"--out: cannot create {str(out)!r}: {exc.strerror}") from None
    return out
