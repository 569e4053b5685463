"""Seeds are non-negative ints everywhere (issue 23): the library refuses what the CLI refuses."""

from __future__ import annotations

import random

import pytest

from bayes_agent import InvalidArgument, check_seed, seeded_random, simulate_many, simulate_trajectory, two_action_mixture


def test_python_random_repeats_a_negative_seed_which_is_why_it_is_refused() -> None:
    assert random.Random(-7).random() == random.Random(7).random()
    with pytest.raises(InvalidArgument, match=r"seed must be ≥ 0, got -7 \(a negative seed would repeat"):
        seeded_random(-7)


@pytest.mark.parametrize("bad", [-1, True, 1.0, "3", None])
def test_check_seed_names_the_argument_and_the_value(bad) -> None:
    with pytest.raises(InvalidArgument, match=rf"^run_seed must be .*got {bad!r}"):
        check_seed(bad, "run_seed")


def test_good_seeds_pass_through_unchanged() -> None:
    assert check_seed(0) == 0 and check_seed(2**40) == 2**40
    rng = random.Random(3)
    assert seeded_random(rng) is rng
    assert seeded_random(5).random() == random.Random(5).random()


def test_the_simulator_refuses_a_negative_seed() -> None:
    mixture = two_action_mixture()
    with pytest.raises(InvalidArgument, match="≥ 0"):
        simulate_trajectory(mixture, "p_B", steps=2, seed=-1)
    with pytest.raises(InvalidArgument, match="≥ 0"):
        simulate_many(mixture, "p_B", runs=2, steps=2, seed=-2)
    assert simulate_trajectory(mixture, "p_B", steps=2, seed=1).seed == 1


@pytest.mark.parametrize("make", [
    lambda: __import__("bayes_agent").random_scm(4, seed=-1),
    lambda: __import__("bayes_agent").chain_scm(4, seed=-1),
    lambda: __import__("bayes_agent").polytree_scm(4, seed=-1),
    lambda: __import__("bayes_agent").windowed_scm(6, window=3, seed=-1),
    lambda: __import__("bayes_agent").HeuristicPolicy("largest_change", seed=-1),
    lambda: __import__("bayes_agent").check_all(*_engine_case(), seed=-1),
], ids=["random_scm", "chain_scm", "polytree_scm", "windowed_scm", "HeuristicPolicy", "check_all"])
def test_every_seeded_entry_point_refuses_a_negative_seed(make) -> None:
    with pytest.raises(InvalidArgument, match=r"seed must be ≥ 0, got -1"):
        make()


def _engine_case():
    from bayes_agent import Transcript, engine_regimes
    return engine_regimes()[0], two_action_mixture(), Transcript()
