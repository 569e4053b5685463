"""The files a run of ``reproduce`` writes into its ``--out``, by name, so that ``--overwrite`` can
remove what an earlier run left there (an old ``seed_1/``, old arms' checkpoints) and nothing else:
a file the user keeps in the folder is never touched, and a folder is removed only once empty.
"""

from __future__ import annotations

import re
from pathlib import Path

from .arms import ALL_ARMS
from .checkpoints import INIT_FILE, STATE_FILE
from .settings import SETTINGS_FILE

__all__ = ["CHECKPOINT_DIRS", "RUN_FILES", "remove_outputs"]

RUN_FILES = ("report.md", "metrics.json", "config.json", "losses.json", "probes.json", "figure1_loss.png",
             "figure2_delta.png", "table2_truth_probe.md", "table3_lie_probe.md", "masks.md", "two_action.json")
"""What one seed's run (and, in part, the multi-seed aggregate) writes in its directory."""

CHECKPOINT_DIRS = ("checkpoint", *(f"checkpoint_{a.name}" for a in ALL_ARMS))
"""Where a run's checkpoints go (``checkpoint_<arm>`` with ``--ablate-order``)."""

_CHECKPOINT_FILES = (STATE_FILE, INIT_FILE, SETTINGS_FILE,
                     *(f"{a.name}{ext}" for a in ALL_ARMS for ext in (".safetensors", ".optim.safetensors", ".optim.json")))
_SEED_DIR = re.compile(r"seed_\d+")


def remove_outputs(out: str | Path) -> list[Path]:
    """Remove from ``out`` every file an earlier ``reproduce`` run wrote (its seeds' directories and
    checkpoints included); return what was removed. Other files stay, and so do their folders."""
    out = Path(out)
    removed: list[Path] = []
    for name in RUN_FILES:
        removed += _remove_file(out / name)
    for name in CHECKPOINT_DIRS:
        removed += _remove_dir(out / name, _CHECKPOINT_FILES)
    for seed_dir in sorted(out.iterdir()) if out.is_dir() else []:
        if _SEED_DIR.fullmatch(seed_dir.name) and seed_dir.is_dir() and not seed_dir.is_symlink():
            removed += remove_outputs(seed_dir)
            removed += _remove_dir(seed_dir, ())
    return removed


def _remove_file(path: Path) -> list[Path]:
    if path.is_file() or path.is_symlink():
        path.unlink()
        return [path]
    return []


def _remove_dir(d: Path, names: tuple[str, ...]) -> list[Path]:
    """``names`` in the folder ``d``, then ``d`` itself when nothing else is left in it."""
    if not d.is_dir() or d.is_symlink():
        return []
    removed = [p for n in names for p in _remove_file(d / n)]
    if not any(d.iterdir()):
        d.rmdir()
        removed.append(d)
    return removed
