"""Checkpoints of paired SFT: ``<dir>/<arm>.safetensors`` (weights), ``<arm>.optim.safetensors``
and ``<arm>.optim.json`` (AdamW state), and ``state.json`` (step, arms, order, losses, config).

Written by the training loops of :mod:`neural.sft.train` and read back by ``--resume``; a missing or
damaged file is a :class:`BayesAgentError` that names it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from bayes_agent.errors import BayesAgentError

__all__ = ["INIT_FILE", "STATE_FILE", "check_has_state", "load_checkpoint", "read_state", "save_checkpoint",
           "steps_trained"]

STATE_FILE = "state.json"
INIT_FILE = "init.safetensors"  # the arms' common start, written by sequential training


def save_checkpoint(
    directory: str | Path,
    models: dict[str, Any],
    optims: dict[str, Any],
    step: int,
    order: list[int],
    losses: dict[str, list[float | None]],
    seconds: dict[str, float],
    cfg: Any,
    *,
    arms: Sequence[str] | None = None,
    arm_steps: dict[str, int] | None = None,
) -> Path:
    """Write the given arms' weights and optimiser states (safetensors) and the loop state (JSON).

    ``arms`` lists every arm of the run (default: those given); ``arm_steps`` records how far each
    arm got when they train one after another (sequential training).
    """
    from safetensors.torch import save_file, save_model

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for arm, m in models.items():
        save_model(m, str(d / f"{arm}.safetensors"), metadata={"arm": arm, "step": str(step)})
        flat = {}
        sd = optims[arm].state_dict()
        for pid, st in sd["state"].items():
            for key, value in st.items():
                flat[f"{pid}.{key}"] = value.detach().contiguous()  # no copy: 4 GB of AdamW state at 0.5B
        groups = sd["param_groups"]
        save_file(flat, str(d / f"{arm}.optim.safetensors"))
        (d / f"{arm}.optim.json").write_text(json.dumps(groups))
    state = {
        "step": step,
        "arms": list(arms if arms is not None else models),
        "config": asdict(cfg),
        "model_config": _model_config(next(iter(models.values()))),
        "order": order,
        "losses": losses,
        "seconds": seconds,
    }
    if arm_steps is not None:
        state.update(sequential=True, arm_steps=dict(arm_steps))
    (d / STATE_FILE).write_text(json.dumps(state))
    return d


def _model_config(model: Any) -> dict[str, Any]:
    cfg = getattr(model, "config", None)
    return cfg.to_dict() if cfg is not None and hasattr(cfg, "to_dict") else {}


def load_checkpoint(directory: str | Path, models: dict[str, Any], optims: dict[str, Any] | None = None) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` into ``models`` (and ``optims``).

    A missing or damaged file raises a :class:`BayesAgentError` naming the file.
    """
    import torch
    from safetensors.torch import load_file, load_model

    d = Path(directory)
    state = read_state(d)
    extra = sorted(set(models) - set(state.get("arms", models)))
    if extra:
        raise BayesAgentError(f"checkpoint {d} was written for arms {state['arms']}, not {list(models)}")
    for arm, m in models.items():
        path = d / f"{arm}.safetensors"
        try:
            missing, unexpected = load_model(m, str(path), strict=False)
        except FileNotFoundError:
            raise BayesAgentError(f"checkpoint {d} has no weights for arm {arm!r} ({path.name})") from None
        except Exception as exc:  # safetensors raises its own error type for damaged files
            raise BayesAgentError(f"checkpoint file {path} is corrupted or incompatible: {exc}") from None
        if missing or unexpected:
            raise BayesAgentError(
                f"checkpoint file {path} does not fit this model (missing {sorted(missing)[:3]}, "
                f"unexpected {sorted(unexpected)[:3]})"
            )
        if optims is None:
            continue
        opath, gpath = d / f"{arm}.optim.safetensors", d / f"{arm}.optim.json"
        for path, read in ((opath, lambda: load_file(str(opath))), (gpath, lambda: json.loads(gpath.read_text()))):
            try:
                loaded = read()
            except FileNotFoundError:
                raise BayesAgentError(f"checkpoint {d} has no optimiser state for arm {arm!r} ({path.name})") from None
            except Exception as exc:  # safetensors' own error type, or bad JSON: the file that is damaged
                raise BayesAgentError(f"optimiser state {path} is corrupted: {exc}") from None
            if path == opath:
                flat = loaded
            else:
                groups = loaded
        opt_state: dict[int, dict[str, Any]] = {}
        for key, value in flat.items():
            pid, name = key.split(".", 1)
            opt_state.setdefault(int(pid), {})[name] = value
        try:
            optims[arm].load_state_dict({"state": opt_state, "param_groups": groups})
        except (ValueError, KeyError, RuntimeError) as exc:
            raise BayesAgentError(f"optimiser state {opath} does not fit this model: {exc}") from None
    return state


def read_state(d: Path) -> dict:
    """A checkpoint's loop state (``state.json``), or a :class:`BayesAgentError` naming the problem."""
    state_path = d / STATE_FILE
    try:
        state = json.loads(state_path.read_text())
        int(state["step"])
        state["losses"] = {a: list(v) for a, v in state["losses"].items()}
    except FileNotFoundError:
        raise BayesAgentError(f"no checkpoint at {d} ({STATE_FILE} is missing)") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BayesAgentError(f"checkpoint state {state_path} is corrupted: {exc}") from None
    return state


def check_has_state(d: Path) -> None:
    """Refuse to resume from ``d`` when it holds arms' weights but no ``state.json``: the step they
    reached is unknown, and starting over would silently replace the run they belong to."""
    weights = sorted(p.name for p in d.glob("*.safetensors")
                     if p.name != INIT_FILE and not p.name.endswith(".optim.safetensors"))
    if weights and not (d / STATE_FILE).exists():
        raise BayesAgentError(f"--resume: checkpoint {d} has weights ({', '.join(weights)}) but no {STATE_FILE}, "
                              f"so the step they reached is unknown; restore {d / STATE_FILE}, or start again "
                              f"with --overwrite or a new --out")


def steps_trained(state: dict) -> int:
    """How many steps the furthest arm of a checkpoint has trained (``state.json``'s ``step``, or with
    sequential arms the largest of ``arm_steps``): what a resumed run must not count back below."""
    steps = state.get("arm_steps") if state.get("sequential") else None
    return max(map(int, steps.values()), default=0) if isinstance(steps, dict) else int(state["step"])
