"""Einsum steps of a compiled plan: subscripts and pairwise contraction paths.

Variable elimination (:mod:`.elimination`) decides which mechanisms each step multiplies and what it
sums out; this module decides how one step runs: its einsum subscripts and the pairwise path through
a bucket of many factors (the cheapest by scalar products for small buckets, numpy's greedy one
otherwise, a left-to-right fold past einsum's operand limit).
"""

from __future__ import annotations

import math
from string import ascii_letters
from typing import Any

import numpy as np

from ..errors import InvalidArgument

__all__ = ["FOLD", "MAX_OPERANDS", "MAX_OPTIMAL_PATH", "contraction_path", "fold_einsum", "optimal_path", "path_cost",
           "subscripts_of"]

#: Buckets of at most this many factors get the cheapest pairwise path (:func:`optimal_path`, an
#: exhaustive search paid once per plan); larger ones numpy's greedy path.
MAX_OPTIMAL_PATH = 8

#: A bucket of more operands than this (an event over many independent variables fixes each
#: one's mechanism into a scalar) is contracted pairwise: einsum's single C loop takes at most 64.
MAX_OPERANDS = 32

#: The path of a step with more than :data:`MAX_OPERANDS` operands: :func:`fold_einsum`.
FOLD = "fold"

def subscripts_of(scopes: list[tuple[str, ...]], out: tuple[str, ...]) -> str:
    """The einsum subscripts ("ab,bc->ac") for operands over ``scopes`` summed onto ``out``."""
    letters: dict[str, str] = {}
    for scope in (*scopes, out):
        for v in scope:
            if v not in letters:
                if len(letters) == len(ascii_letters):
                    raise InvalidArgument(
                        f"this query needs one table over more than {len(ascii_letters)} variables "
                        f"(the graph is too densely connected for exact elimination)"
                    )
                letters[v] = ascii_letters[len(letters)]
    return ",".join("".join(letters[v] for v in s) for s in scopes) + "->" + "".join(letters[v] for v in out)


def contraction_path(subscripts: str, shapes: list[tuple[int, ...]]) -> Any:
    """numpy's greedy pairwise path, fixed at compile time, for a bucket of two or more factors
    whose clique is large (pairwise products through BLAS-backed tensordot; einsum's one C loop
    over a large clique strides badly when the operands' axes disagree); ``False`` (one C loop,
    no path search per call) otherwise."""
    letters: dict[str, int] = {}
    for term, shape in zip(subscripts.split("->")[0].split(","), shapes):
        letters.update(zip(term, shape))
    if len(shapes) > MAX_OPERANDS:
        return FOLD
    if len(shapes) < 2 or math.prod(letters.values()) <= 1 << 12:
        return False
    if len(shapes) <= MAX_OPTIMAL_PATH:
        # the cheapest pairwise order can need half the products of numpy's greedy one in a
        # many-factor bucket (what an exact query pays for, one Python integer at a time)
        return optimal_path(subscripts, shapes)
    return np.einsum_path(subscripts, *(np.empty(sh, dtype=np.int8) for sh in shapes), optimize="greedy")[0]


def fold_einsum(subscripts: str, operands: list[np.ndarray], dtype: Any) -> np.ndarray:
    """The einsum of many operands two at a time, left to right, each letter summed as soon as no
    later operand needs it (numpy's single loop takes at most 64 operands). In a bucket every
    partial product is over part of the bucket's clique, so no intermediate is larger than it."""
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    acc, held = operands[0], terms[0]
    for k in range(1, len(terms)):
        needed = set(output).union(*terms[k + 1:])
        merged = "".join(c for c in dict.fromkeys(held + terms[k]) if c in needed)
        acc = np.einsum(f"{held},{terms[k]}->{merged}", acc, operands[k])
        if not isinstance(acc, np.ndarray):
            acc = np.array(acc, dtype=dtype)
        held = merged
    return acc if held == output else np.einsum(f"{held}->{output}", acc)


def optimal_path(subscripts: str, shapes: list[tuple[int, ...]]) -> list:
    """The pairwise order (numpy's path format) with the fewest scalar products
    (:func:`path_cost`), by dynamic programming over subsets of operands: O(3**n), for small n."""
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    n = len(terms)
    size = {c: k for term, shape in zip(terms, shapes) for c, k in zip(term, shape)}
    full = (1 << n) - 1
    letters = [set(t) for t in terms]

    def union(mask: int) -> set:
        return set().union(*(letters[i] for i in range(n) if mask >> i & 1))

    # what a subset's result carries: its labels needed by the output or by another operand (an
    # operand itself carries all of its labels until it is contracted)
    carried = {m: union(m) & (set(output) | union(full ^ m)) for m in range(1, full + 1)}
    carried.update({1 << i: letters[i] for i in range(n)})
    best: dict[int, tuple[int, Any]] = {1 << i: (0, i) for i in range(n)}
    for m in range(1, full + 1):
        if m in best:
            continue
        choice = None
        sub = (m - 1) & m
        while sub:
            other = m ^ sub
            if sub < other:  # each split once
                cost = best[sub][0] + best[other][0] + math.prod(size[c] for c in carried[sub] | carried[other])
                if choice is None or cost < choice[0]:
                    choice = (cost, (best[sub][1], best[other][1]))
            sub = (sub - 1) & m
        best[m] = choice
    # the contraction tree in post-order, as numpy's list of positions in a shrinking operand list
    path: list = ["einsum_path"]
    current: list[Any] = list(range(n))

    def emit(tree: Any) -> None:
        if isinstance(tree, int):
            return
        emit(tree[0])
        emit(tree[1])
        i, j = sorted((current.index(tree[0]), current.index(tree[1])))
        path.append((i, j))
        current.pop(j)
        current.pop(i)
        current.append(tree)

    emit(best[full][1])
    return path


def path_cost(subscripts: str, shapes: list[tuple[int, ...]], path: list) -> int:
    """Scalar products a pairwise ``path`` (numpy's format) needs: per contraction, the entries
    of the table over every label its operands carry."""
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    size = {c: n for term, shape in zip(terms, shapes) for c, n in zip(term, shape)}
    cost = 0
    for ids in path[1:]:
        taken = [terms[i] for i in ids]
        for i in sorted(ids, reverse=True):
            terms.pop(i)
        letters = set("".join(taken))
        cost += math.prod(size[c] for c in letters)
        needed = set(output).union(*terms)
        terms.append("".join(c for c in dict.fromkeys("".join(taken)) if c in needed))
    return cost
