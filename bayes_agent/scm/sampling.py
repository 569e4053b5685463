"""Ancestral sampling from a structural causal model (paper §2.1): each variable is drawn from its
mechanism given its parents' draws, in topological order. Interventions are applied before (by
``SCM.sample(do=...)``, whose ``do`` turns a mechanism into a point mass, §2.2), so a sample under
do() is a sample of the mutilated model, never a filtered observational one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .model import SCM

__all__ = ["ancestral_sample", "values_array"]


def ancestral_sample(model: "SCM", n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` joint draws of a numeric model, seeded: {name: array of values}, in ``model.names`` order."""
    rng = np.random.default_rng(seed)
    index: dict[str, np.ndarray] = {}
    for name in model.order:
        var = model.variable(name)
        rows = model.cpt(name)  # rows in the order of the parents' value product (first parent slowest)
        cum = np.array([[float(p) for p in row.values()] for row in rows.values()]).cumsum(axis=1)
        cum[:, -1] = np.inf  # rows are checked to sum to 1; guard against float round-off
        row_idx = np.zeros(n, dtype=np.int64)
        # mixed-radix code of the parents' value indices: the row each draw reads
        for parent in var.parents:
            row_idx = row_idx * len(model.domain(parent)) + index[parent]
        index[name] = (rng.random(n)[:, None] >= cum[row_idx]).sum(axis=1)
    return {name: values_array(model.domain(name))[index[name]] for name in model.names}


def values_array(domain: tuple) -> np.ndarray:
    """The domain as a numpy array holding its own values: a typed array (int, bool, str) only
    when it gives every value back with its type, else an object array (a domain such as
    (0, "a") or (True, 2) must not come back as "0" or 1), so samples can be passed back as evidence."""
    try:
        typed: Any = np.asarray(domain)
    except (ValueError, TypeError):
        typed = None
    if (typed is not None and typed.dtype != object and typed.shape == (len(domain),)
            and all(type(t) is type(d) and t == d for t, d in zip(typed.tolist(), domain))):
        return typed
    arr = np.empty(len(domain), dtype=object)
    arr[:] = list(domain)
    return arr
