"""What a run's trained weights depend on (data, model, optimiser), by the option that sets it.

A run writes these with its checkpoint (``settings.json``) and in ``config.json``; ``--resume``
compares them with the command line's so that an interrupted run is only continued under the
settings it was trained with (a different ``--p-lie`` or ``--lr`` would mix two runs in one).
Settings that change neither the data nor the training (device, threads, checkpoint interval,
``--max-steps``, the probes) may differ.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple, Sequence

from bayes_agent.errors import InvalidArgument

from .facts import Fact
from .presets import Preset

__all__ = ["Difference", "read_run_json", "RESOLVED_PRECISION", "SETTINGS_FILE", "UNSET", "check_same_seed_layout",
           "check_same_settings", "run_settings", "saved_seeds", "saved_settings", "setting_differences"]

SETTINGS_FILE = "settings.json"

# the option that sets each preset field (fields not named here are set only by --preset)
_OPTION = {"p_lie": "--p-lie", "n_dialogues": "--n-dialogues", "model": "--model", "random_init": "--random-init",
           "arms": "--arms", "ablate_order": "--ablate-order", "facts": "--facts", "seed": "--seeds",
           "epochs": "--epochs", "lr": "--lr", "precision": "--precision", "lora_rank": "--lora",
           "base": "--preset/--from-scratch", "train.warmup_steps": "--preset/--from-scratch"}
# preset and train fields that change neither the data nor the weights
_NOT_TRAINING = {"name", "device", "threads", "max_steps", "probe_facts", "max_new_tokens", "probe_held_out",
                 "ablate_first_token", "sequential_arms", "scratch_train", "train", "checkpoint_every"}


#: the precision a run computed in, as ``--precision`` resolved on its device (``auto`` is bf16 on a GPU)
RESOLVED_PRECISION = "train.resolved_precision"
_PRECISION = "train.precision"  # --precision as typed (auto, fp32, bf16, fp16)


def run_settings(preset: Preset, seed: int, facts: Sequence[Fact], precision: str | None = None) -> dict[str, Any]:
    """The settings the trained weights of seed ``seed`` depend on, as plain JSON data; ``facts``
    (training and held-out, both in the base's corpus) enter as a digest, and ``precision``, the
    preset's precision resolved on this run's device, is recorded when given."""
    out = {k: v for k, v in asdict(preset).items() if k not in _NOT_TRAINING}
    out.update({f"train.{k}": v for k, v in asdict(preset.train).items() if k not in _NOT_TRAINING})
    out["train.seed"] = seed  # the run's seed (the preset's own is a default)
    text = json.dumps([[f.topic, f.true, f.false] for f in facts])
    out["facts"] = hashlib.sha256(text.encode()).hexdigest()[:16]
    if precision is not None:
        out[RESOLVED_PRECISION] = precision
    return json.loads(json.dumps(out))  # tuples as lists: what a reader of the JSON gets back


def read_run_json(path: Path, consequence: str, prefix: str = "") -> Any:
    """A run's JSON file; ``None`` when it is absent. One that cannot be read is refused in one line
    (``prefix``, the path, what went wrong, then ``consequence``), never skipped as if absent."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InvalidArgument(f"{prefix}{path} is damaged ({type(exc).__name__}: {exc}), {consequence}") from None

def saved_settings(path: Path) -> dict[str, Any] | None:
    """The settings in ``path`` (a ``settings.json``, or a ``config.json`` under ``"settings"``);
    ``None`` when the file is absent or predates them (nothing to compare). A file that cannot be
    read is refused, not skipped: its run's settings could not be checked."""
    data = read_run_json(path, "so the settings of the run there cannot be checked; delete it, or start over "
                               "(--overwrite or a new --out)")
    if path.name != SETTINGS_FILE:
        data = data.get("settings") if isinstance(data, dict) else None
    return data if isinstance(data, dict) else None


class _Unset:
    def __repr__(self) -> str:
        return "unset"


UNSET: Any = _Unset()
"""The value of a setting one side of :func:`setting_differences` does not record."""


class Difference(NamedTuple):
    """One setting that differs between a saved run and this one: its path of keys and both values."""

    path: tuple[str, ...]
    saved: Any
    now: Any

    @property
    def name(self) -> str:
        """The setting's dotted name (``bc.steps``)."""
        return ".".join(map(str, self.path))


def setting_differences(saved: Any, now: Any, path: tuple[str, ...] = ()) -> list[Difference]:
    """Every setting that differs between ``saved`` and ``now`` (JSON data), nested settings by their
    path of keys, in sorted key order; a key one side lacks differs, with :data:`UNSET` on that side."""
    if isinstance(saved, dict) and isinstance(now, dict):
        return [d for k in sorted(set(saved) | set(now), key=str)
                for d in setting_differences(saved.get(k, UNSET), now.get(k, UNSET), (*path, k))]
    return [] if saved == now else [Difference(path, saved, now)]


def check_same_settings(saved: dict[str, Any] | None, now: dict[str, Any], where: str, *,
                        auto_precision: str | None = None) -> None:
    """Refuse to continue a run in ``where`` whose saved settings differ from ``now``: one line naming
    the first differing setting (by its option) and both values. A precision is compared as it
    runs, not as typed: as each side's :data:`RESOLVED_PRECISION` where it records one (``auto``
    run on a GPU is bf16, on the CPU fp32), else with ``auto`` as ``auto_precision``, what it runs
    as on this device (a run saved before the resolved precision was recorded)."""
    if saved is None:
        return

    def runs_as(settings: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in settings.items() if k != RESOLVED_PRECISION}
        typed = out.get(_PRECISION)
        ran = settings.get(RESOLVED_PRECISION) or (auto_precision if typed == "auto" and auto_precision else typed)
        if _PRECISION in out:
            out[_PRECISION] = ran
        return out

    ran_saved, ran_now = runs_as(saved), runs_as(now)
    shared = [k for k in ran_now if k in ran_saved]  # a setting the saved run predates is not compared
    differ = setting_differences({k: ran_saved[k] for k in shared}, {k: ran_now[k] for k in shared})
    if differ:
        key = min((d.path[0] for d in differ), key=shared.index)  # the first in the command line's order
        name = key.split(".")[-1]
        option = _OPTION.get(key, _OPTION.get(name, f"the preset's {name}"))
        shown = [_show(v) if key != _PRECISION or v == ran else f"{v}, run as {ran}"
                 for v, ran in ((saved[key], ran_saved[key]), (now[key], ran_now[key]))]
        advice = (f"resume with --precision {ran_saved[key]}" if key == _PRECISION
                  else "resume with the same settings")
        raise InvalidArgument(
            f"--resume: {where} was trained with {option} {shown[0]}, not {shown[1]}; "
            f"{advice}, or start again with --overwrite or a new --out")


def saved_seeds(out: Path) -> tuple[str, list[int]] | None:
    """How the run in ``out`` was laid out: ``("single", [seed])`` for one seed written in ``out``
    itself, ``("multi", seeds)`` for ``out/seed_<k>/`` folders; ``None`` when it holds neither."""
    for path in [out / "config.json", *sorted(out.glob("checkpoint*/" + SETTINGS_FILE))]:
        seed = (saved_settings(path) or {}).get("train.seed")
        if isinstance(seed, int) and not isinstance(seed, bool):
            return "single", [seed]
    seeds = sorted(int(d.name[5:]) for d in out.glob("seed_*") if d.is_dir() and d.name[5:].isdigit())
    return ("multi", seeds) if seeds else None


def check_same_seed_layout(out: Path, seeds: Sequence[int]) -> None:
    """Refuse to resume a single-seed run (written in ``out``) as a multi-seed one (``out/seed_<k>/``)
    or the reverse: either would train again from scratch beside the stale results of the other."""
    saved = saved_seeds(out)
    if saved is None or (saved[0] == "multi") == (len(seeds) > 1):
        return
    raise InvalidArgument(
        f"--resume: {out} was trained with --seeds {' '.join(map(str, saved[1]))}, not "
        f"{' '.join(map(str, seeds))}; resume with the same settings, or start again with --overwrite or a new --out")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
