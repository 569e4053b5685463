"""Counts, sizes and seeds accept numpy integers as they accept ints, and refuse bool, float and
text (one rule, ``_checks.expect_count`` / ``seeds.check_seed``, for every entry point)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from bayes_agent import InvalidArgument, Transcript, check_seed, simulate_many, simulate_trajectory, two_action_mixture
from bayes_agent._checks import expect_count, expect_index

INTEGERS = [int, np.int64, np.int32, np.uint8]
NOT_INTEGERS = [True, False, 3.0, np.float64(3.0), "3", None]


@pytest.mark.parametrize("kind", INTEGERS)
def test_a_numpy_integer_is_a_count_a_seed_and_an_index(kind) -> None:
    for checked in (expect_count(kind(3), "n"), check_seed(kind(3)), expect_index(kind(3), "i")):
        assert checked == 3 and type(checked) is int


@pytest.mark.parametrize("bad", NOT_INTEGERS)
def test_bool_float_and_text_are_no_count_nor_seed(bad) -> None:
    with pytest.raises(InvalidArgument, match=rf"^n must be a positive int, got {re.escape(repr(bad))}$"):
        expect_count(bad, "n")
    with pytest.raises(InvalidArgument, match=rf"^seed must be an int ≥ 0, got {re.escape(repr(bad))}$"):
        check_seed(bad)


def test_the_range_of_a_count() -> None:
    assert expect_count(0, "n", least=0) == 0 and expect_count(np.int64(5), "n", least=0, most=5) == 5
    with pytest.raises(InvalidArgument, match=r"^n must be a positive int, got 0$"):
        expect_count(np.int64(0), "n")
    with pytest.raises(InvalidArgument, match=r"^n must be a non-negative int, got -1$"):
        expect_count(-1, "n", least=0)
    with pytest.raises(InvalidArgument, match=r"^n must be an int from 0 to 5, got 6$"):
        expect_count(np.int64(6), "n", least=0, most=5)
    with pytest.raises(InvalidArgument, match=r"seed must be ≥ 0, got -1 \(a negative seed"):
        check_seed(np.int64(-1))


@pytest.mark.parametrize("kind", [int, np.int64])
def test_the_simulator_takes_numpy_integers_for_steps_runs_and_seeds(kind) -> None:
    m = two_action_mixture()
    t = simulate_trajectory(m, "p_B", steps=kind(4), seed=kind(4), policy="sample")
    same = simulate_trajectory(m, "p_B", steps=4, seed=4, policy="sample")
    assert t.history == same.history and type(t.seed) is int and t.seed == 4
    e = simulate_many(m, "p_B", runs=kind(2), steps=kind(3), seed=kind(1))
    assert [x.seed for x in e.trajectories] == [1, 2]
    assert all(type(e.settings[k]) is int for k in ("runs", "steps", "seed"))
    json.dumps(e.settings)  # numpy integers would not serialise
    h = same.history
    assert m.sample_action(h, kind(3)) == m.sample_action(h, 3)
    assert h.relabel(kind(1), 1) == h.relabel(1, 1)


@pytest.mark.parametrize("bad", [True, 3.0])
def test_the_simulator_refuses_bool_and_float_counts_and_seeds(bad) -> None:
    m = two_action_mixture()
    with pytest.raises(InvalidArgument, match=rf"^steps must be a positive int, got {bad!r}$"):
        simulate_trajectory(m, "p_B", steps=bad)
    with pytest.raises(InvalidArgument, match=rf"^runs must be a positive int, got {bad!r}$"):
        simulate_many(m, "p_B", runs=bad, steps=2)
    with pytest.raises(InvalidArgument, match=rf"^seed must be an int ≥ 0, got {bad!r}$"):
        simulate_trajectory(m, "p_B", steps=2, seed=bad)
    with pytest.raises(InvalidArgument, match=rf"seed must be an int ≥ 0, got {bad!r}$"):
        m.sample_action(Transcript(), bad)
