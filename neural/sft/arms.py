"""The fine-tuning arms of §5 as one record each: name, label mode, metric suffix, colour, names.

Every table of arms in the experiment (the labels an arm trains on, the suffix of its
``metrics.json`` keys, its colour in the figures, its name in reports) reads this one tuple, so an
arm is described once. ``BASE`` describes the pretrained base the same way, without a label mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from bayes_agent.errors import InvalidArgument

from ..masking import LabelMode

__all__ = ["ALL_ARMS", "BASE", "Arm", "arm", "models_of"]


@dataclass(frozen=True)
class Arm:
    """One arm: how it is called (``name``: ``obs``), which labels it trains on (``mode``; None
    for the base), its ``metrics.json`` key suffix, its figure colour, its short name in tables
    and its long name in figure legends."""

    name: str
    mode: LabelMode | None
    suffix: str
    color: str
    display: str
    legend: str


ALL_ARMS: tuple[Arm, ...] = (
    Arm("obs", LabelMode.OBSERVATIONAL, "obs", "#d62728", "standard SFT", "standard SFT (Eq. 3)"),
    Arm("do", LabelMode.INTERVENTIONAL, "do", "#1f77b4", "interventional SFT", "interventional SFT (Eq. 4)"),
    Arm("ao", LabelMode.ASSISTANT_ONLY, "assistant_only", "#2ca02c", "assistant-only SFT", "assistant-only SFT"),
)
"""Standard SFT (Eq. 3), interventional SFT (Eq. 4), assistant-only SFT (agent content only)."""

BASE = Arm("base", None, "base", "#7f7f7f", "base", "base (before SFT)")
"""The pretrained base every arm starts from, described like an arm (it trains on nothing)."""

_BY_NAME = {a.name: a for a in (*ALL_ARMS, BASE)}


def arm(name: str) -> Arm:
    """The record of the arm (or ``"base"``) called ``name``; an unknown name lists the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise InvalidArgument(f"unknown arm {name!r}; choose from {[a.name for a in ALL_ARMS]}") from None


def models_of(names: tuple[str, ...] | list[str]) -> list[Arm]:
    """The records of ``names``, in order (``"base"`` allowed)."""
    return [arm(n) for n in names]
