"""Seeded families of SCMs for tests and benchmarks: chains, polytrees, random and windowed DAGs.

Each mechanism row is drawn from small integer weights (exact Fractions; zeros optional), so the
same model can be asked exactly, in floats (``SCM.to_float``) or checked against enumeration.
Variables are named ``X0, X1, ...`` in a topological order.
"""

from __future__ import annotations

import itertools
import random
from fractions import Fraction
from typing import Sequence

from ..errors import InvalidArgument
from ..seeds import seeded_random
from .model import SCM, Variable

__all__ = ["chain_scm", "polytree_scm", "random_scm", "windowed_scm"]


def _row(rng: random.Random, domain: Sequence, zeros: bool) -> dict:
    while True:
        weights = [rng.randint(0 if zeros else 1, 6) for _ in domain]
        if sum(weights):
            return {v: Fraction(w, sum(weights)) for v, w in zip(domain, weights)}


def _build(parents: list[tuple[int, ...]], sizes: list[int], rng: random.Random, zeros: bool) -> SCM:
    variables = []
    for i, pa in enumerate(parents):
        domain = tuple(range(sizes[i]))
        if not pa:
            cpt = _row(rng, domain, zeros)
        else:
            cpt = {key: _row(rng, domain, zeros)
                   for key in itertools.product(*(range(sizes[j]) for j in pa))}
        variables.append(Variable(f"X{i}", domain, tuple(f"X{j}" for j in pa), cpt))
    return SCM(variables)


def _check(n: int, seed: int, *, domain_sizes: Sequence[int] = (2,), max_parents: int = 0,
           least_parents: int = 0) -> None:
    """Refuse bad generator arguments by name before drawing anything (an empty domain would
    loop forever looking for a row with positive weight)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidArgument(f"n must be a positive int, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidArgument(f"seed must be an int, got {seed!r}")
    for size in domain_sizes:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidArgument(f"a domain size must be a positive int, got {size!r}")
    if isinstance(max_parents, bool) or not isinstance(max_parents, int) or max_parents < least_parents:
        raise InvalidArgument(f"max_parents must be an int ≥ {least_parents}, got {max_parents!r}")


def chain_scm(n: int, *, seed: int = 0, domain_size: int = 2, zeros: bool = False) -> SCM:
    """X0 → X1 → ... → X(n-1), each binary by default."""
    _check(n, seed, domain_sizes=(domain_size,))
    rng = seeded_random(seed)
    return _build([()] + [(i - 1,) for i in range(1, n)], [domain_size] * n, rng, zeros)


def polytree_scm(n: int, *, seed: int = 0, domain_size: int = 2, max_parents: int = 2,
                 zeros: bool = False) -> SCM:
    """A random polytree (no undirected cycle): each new variable gets parents from distinct
    earlier trees, or starts a tree of its own."""
    _check(n, seed, domain_sizes=(domain_size,), max_parents=max_parents)
    rng = seeded_random(seed)
    tree = list(range(n))  # which tree each variable belongs to (union by relabelling)
    parents: list[tuple[int, ...]] = []
    for i in range(n):
        chosen: list[int] = []
        for j in rng.sample(range(i), min(i, max_parents * 3)):
            if len(chosen) == max_parents:
                break
            if all(tree[j] != tree[c] for c in chosen):
                chosen.append(j)
        for c in chosen:
            old = tree[c]
            tree[:] = [tree[i] if t == old else t for t in tree]
        parents.append(tuple(sorted(chosen)))
    return _build(parents, [domain_size] * n, rng, zeros)


def random_scm(n: int, *, seed: int = 0, max_parents: int = 3, domain_sizes: Sequence[int] = (2,),
               zeros: bool = False, edge_probability: float = 0.5) -> SCM:
    """A random DAG: each variable takes up to ``max_parents`` parents among the earlier ones
    (each candidate kept with ``edge_probability``), domain sizes drawn from ``domain_sizes``."""
    if isinstance(domain_sizes, (str, bytes)) or not isinstance(domain_sizes, Sequence) or not domain_sizes:
        raise InvalidArgument(f"domain_sizes must be a non-empty sequence of positive ints, got {domain_sizes!r}")
    if isinstance(edge_probability, bool) or not isinstance(edge_probability, (int, float)) \
            or not 0 <= edge_probability <= 1:
        raise InvalidArgument(f"edge_probability must be a number in [0, 1], got {edge_probability!r}")
    _check(n, seed, domain_sizes=domain_sizes, max_parents=max_parents)
    rng = seeded_random(seed)
    sizes = [rng.choice(list(domain_sizes)) for _ in range(n)]
    parents = []
    for i in range(n):
        candidates = [j for j in range(i) if rng.random() < edge_probability]
        parents.append(tuple(sorted(rng.sample(candidates, min(len(candidates), max_parents)))))
    return _build(parents, sizes, rng, zeros)


def windowed_scm(n: int, *, window: int, seed: int = 0, max_parents: int = 4, domain_size: int = 3,
                 zeros: bool = False) -> SCM:
    """A wide random DAG: each variable after the first takes 1..``max_parents`` parents among
    the ``window`` variables just before it (the wider the window, the wider the graph)."""
    _check(n, seed, domain_sizes=(domain_size,), max_parents=max_parents, least_parents=1)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise InvalidArgument(f"window must be a positive int, got {window!r}")
    rng = seeded_random(seed)
    parents = [()]
    for i in range(1, n):
        pool = range(max(0, i - window), i)
        parents.append(tuple(sorted(rng.sample(pool, min(len(pool), rng.randint(1, max_parents))))))
    return _build(parents, [domain_size] * n, rng, zeros)
