"""Outputs of a command that writes a known set of files: all of them, or none left by this run.

A command stopped part-way (Ctrl-C, an error while writing) must not leave some of its files
behind, or the next run is refused as "already holds results" and needs ``--overwrite``.
"""

from __future__ import annotations

from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterable, Iterator

from ._common import Interrupted, caused_by_ctrl_c

__all__ = ["nothing_new_left"]


@contextmanager
def nothing_new_left(out: str | Path, names: Iterable[str], what: str) -> Iterator[None]:
    """Write ``names`` into ``out`` inside the block; if it fails or is interrupted, remove each of
    them that this run created and ``out`` itself if this run created it (earlier files stay).
    Ctrl-C becomes :class:`Interrupted`, whose line says what was removed and what kept."""
    out = Path(out)
    names = list(names)
    existed = out.exists()
    before = [n for n in names if (out / n).exists()]
    try:
        yield
    except BaseException as exc:
        for n in names:
            if n not in before:
                with suppress(OSError):
                    (out / n).unlink(missing_ok=True)
        with suppress(OSError):
            if not existed and out.is_dir() and not any(out.iterdir()):
                out.rmdir()
        if not caused_by_ctrl_c(exc):
            raise
        kept = (f"; {', '.join(before)} in {str(out)!r} predate this run or were replaced part-way: "
                f"rerun with --overwrite" if before else "; nothing was kept, so a rerun needs no --overwrite")
        raise Interrupted(f"interrupted before {what} was complete; removed the files this run had "
                          f"written{kept}") from None
