"""The delusion simulator: §4 as a special case, both updaters on one trajectory, seeded statistics."""

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from bayes_agent import Gate, InvalidArgument, Mode, two_action_mixture
from bayes_agent.cli import main
from bayes_agent.simulate import simulate_many, simulate_trajectory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def m():
    return two_action_mixture()


def _first_with(m, values, **kw):
    for seed in range(200):
        t = simulate_trajectory(m, "p_B", steps=len(values), seed=seed, **kw)
        if t.history.values == tuple(values):
            return t
    raise AssertionError(f"no seed below 200 produced {values}")


def test_section4_numbers_come_out_of_a_simulated_trajectory(m):
    t = _first_with(m, ("A", "B"))
    assert t.history.gates == (Gate.AGENT, Gate.WORLD)
    # the world's B is scored on the action channel, as §4 requires
    assert t.history[1].channel.value == "action"
    assert [w["p_B"] for w in t.weights_do] == [Fraction(7, 20), Fraction(7, 20), Fraction(56, 69)]
    assert [w["p_B"] for w in t.weights_obs] == [Fraction(7, 20), Fraction(14, 131), Fraction(112, 229)]


def test_threshold_agent_always_opens_with_A_and_world_A_matches_the_engine(m):
    from bayes_agent import derive_two_action

    t = _first_with(m, ("A", "A"))
    d = derive_two_action(world="A")
    assert t.weights_do[2] == d.w2 and t.weights_obs[2] == d.w2_naive
    assert {simulate_trajectory(m, "p_B", steps=1, seed=s).history.values for s in range(10)} == {("A",)}


def test_both_updaters_agree_with_batch_posteriors_on_the_same_history(m):
    for actor in ("do", "obs"):
        t = simulate_trajectory(m, "p_B", steps=14, seed=3, actor=actor, policy="sample")
        for k in (0, 5, 14):
            h = t.history.prefix(k)
            assert t.weights_do[k] == m.posterior(h, "do")
            assert t.weights_obs[k] == m.posterior(h, "obs")


def test_agent_slots_never_move_the_interventional_weights(m):
    t = simulate_trajectory(m, "p_B", steps=20, seed=1, actor="obs")
    for i, slot in enumerate(t.history, start=1):
        if slot.gate is Gate.AGENT:
            assert t.weights_do[i] == t.weights_do[i - 1]
        else:
            assert t.weights_do[i] != t.weights_do[i - 1]  # kernels differ on both symbols


def test_seeded_runs_are_deterministic_and_seeds_differ(m):
    a = simulate_trajectory(m, "p_B", steps=30, seed=11, policy="sample")
    b = simulate_trajectory(m, "p_B", steps=30, seed=11, policy="sample")
    assert a == b
    values = {simulate_trajectory(m, "p_B", steps=30, seed=s, policy="sample").history.values for s in range(5)}
    assert len(values) > 1


def test_naive_actor_locks_on_while_interventional_updater_does_not(m):
    e = simulate_many(m, "p_B", runs=40, steps=40, seed=0, actor="obs", arithmetic="float")
    naive, correct = e.lock_fraction("obs"), e.lock_fraction("do")
    assert naive > 0 and correct == 0
    # the lock fraction is a count: check it against the trajectories themselves
    assert naive == Fraction(sum(t.truth_weight("obs")[-1] <= Fraction(1, 20) for t in e.trajectories), 40)
    s = e.summary()
    assert s["naive"]["locked_wrong_fraction"]["exact"] == str(naive)
    assert s["interventional"]["recovered_fraction"] == 1.0


def test_recovery_time_definition():
    from bayes_agent.simulate import Trajectory
    from bayes_agent import Transcript

    w = lambda x: {"p_B": Fraction(x), "p_A": 1 - Fraction(x)}  # noqa: E731
    trace = tuple(w(x) for x in ("1/4", "3/4", "1/4", "3/5", "9/10"))
    t = Trajectory(Transcript(), "p_B", trace, trace, "threshold", Mode.INTERVENTIONAL, 0)
    assert t.recovery_time("do") == 3
    assert not t.locked("do")
    low = tuple(w(x) for x in ("1/2", "1/100"))
    t2 = Trajectory(Transcript(), "p_B", low, low, "threshold", Mode.INTERVENTIONAL, 0)
    assert t2.recovery_time("obs") is None and t2.locked("obs")


def test_float_and_exact_ensembles_give_the_same_trajectories(m):
    e1 = simulate_many(m, "p_B", runs=5, steps=20, seed=2, actor="obs")
    e2 = simulate_many(m, "p_B", runs=5, steps=20, seed=2, actor="obs", arithmetic="float")
    assert [t.history for t in e1.trajectories] == [t.history for t in e2.trajectories]
    assert e1.lock_fraction("obs") == e2.lock_fraction("obs")


@pytest.mark.parametrize("kw", [
    {"steps": 0}, {"steps": 2.5}, {"policy": "greedy"}, {"actor": "bystander"},
    {"schedule": ()}, {"schedule": (2,)}, {"seed": "x"}, {"world_channel": "speech"},
])
def test_bad_arguments_raise(m, kw):
    args = {"steps": 3, **kw}
    with pytest.raises(InvalidArgument):
        simulate_trajectory(m, "p_B", **args)


def test_bad_world_and_runs(m):
    with pytest.raises(InvalidArgument):
        simulate_trajectory(m, "p_C", steps=2)
    with pytest.raises(InvalidArgument):
        simulate_many(m, "p_B", runs=0, steps=2)


def test_plots_are_png_files(m, tmp_path):
    from bayes_agent.simulate import plot_ensemble, plot_trajectory

    e = simulate_many(m, "p_B", runs=4, steps=10, seed=0, actor="obs")
    for path in (plot_ensemble(e, tmp_path / "e.png"), plot_trajectory(e.trajectories[0], tmp_path / "t.png")):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_json(tmp_path, capsys):
    assert main(["simulate", "--runs", "8", "--steps", "12", "--json", "--out", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    s4 = data["section4"]
    assert (s4["w1_p_B"]["exact"], s4["w1_naive_p_B"]["exact"], s4["w2_p_B"]["exact"],
            s4["w2_naive_p_B"]["exact"]) == ("7/20", "14/131", "56/69", "112/229")
    assert len(data["figures"]) == 3 and all(Path(p).exists() for p in data["figures"])
    naive = data["ensembles"]["agent_acts_on_naive_posterior"]
    assert naive["runs"] == 8 and naive["settings"]["steps"] == 12


def test_cli_rejects_bad_runs(capsys):
    assert main(["simulate", "--runs", "0"]) == 2
    assert "--runs" in capsys.readouterr().err


def test_locked_over_time_ends_in_the_lock_fraction_with_three_programs():
    from bayes_agent import Mixture, TableProgram

    progs = [TableProgram(n, action={"A": a, "B": 1 - Fraction(a)}) for n, a in
             (("p_B", Fraction(1, 5)), ("p_A", Fraction(9, 10)), ("p_mid", Fraction(1, 2)))]
    m3 = Mixture(progs, {"p_B": Fraction(3, 10), "p_A": Fraction(1, 2), "p_mid": Fraction(1, 5)})
    e = simulate_many(m3, "p_B", runs=12, steps=16, seed=4, actor="obs")
    over_time = e.locked_over_time("obs")
    assert over_time.shape == (12, 17)
    assert not over_time[:, 0].any()                     # nobody is locked before any slot
    assert Fraction(int(over_time[:, -1].sum()), 12) == e.lock_fraction("obs")


def test_a_program_as_world_is_the_same_world_one_run_or_many(m):
    """simulate_many must hand the world Program itself on, not its name (which would pick the
    mixture's own program of that name)."""
    from bayes_agent import TableProgram

    other = TableProgram("p_B", action={"A": 1, "B": 0})  # named like the mixture's p_B, but always A
    one = simulate_trajectory(m, other, steps=8, seed=3)
    many = simulate_many(m, other, runs=2, steps=8, seed=3)
    assert many.trajectories[0].history == one.history
    world_slots = [s.value for s in one.history if s.gate is Gate.WORLD]
    assert world_slots and set(world_slots) == {"A"}


def test_a_figure_into_a_missing_or_wrong_place_is_one_clear_error(m, tmp_path):
    from bayes_agent.simulate import plot_ensemble, plot_trajectory

    e = simulate_many(m, "p_B", runs=2, steps=4, seed=0)
    with pytest.raises(InvalidArgument, match="the folder .*missing.* does not exist"):
        plot_trajectory(e.trajectories[0], tmp_path / "missing" / "t.png")
    with pytest.raises(InvalidArgument, match="is a directory"):
        plot_ensemble(e, tmp_path)


# ------------------------------------------------------------------------------------------------
# the lock and recovery levels are probabilities in (0, 1], parsed like threshold, reported readably

@pytest.mark.parametrize("level", [0, 2, -1, "19/20x", None, "nan"])
def test_levels_outside_zero_one_or_not_numbers_are_refused(level):
    from bayes_agent import InvalidArgument, simulate_many, two_action_mixture

    e = simulate_many(two_action_mixture(), "p_B", runs=2, steps=4)
    for call in (lambda: e.summary(level=level), lambda: e.trajectories[0].recovery_time("do", level=level),
                 lambda: e.lock_fraction("do", level), lambda: e.locked_over_time("obs", level)):
        with pytest.raises(InvalidArgument, match="level"):
            call()


def test_levels_are_parsed_and_reported_as_given():
    from fractions import Fraction

    from bayes_agent import simulate_many, two_action_mixture

    e = simulate_many(two_action_mixture(), "p_B", runs=3, steps=6)
    assert e.summary(level=0.95)["lock_level"] == "0.95"
    assert e.summary(level="19/20")["lock_level"] == "19/20"
    assert e.summary(level="19/20")["naive"] == e.summary(level=Fraction(19, 20))["naive"]
    t = e.trajectories[0]
    assert t.recovery_time("do", level="1/2") == t.recovery_time("do", level=Fraction(1, 2))


def test_a_long_exact_run_warns_up_front_about_its_quadratic_cost(capsys, monkeypatch):
    from bayes_agent.commands import simulate as command

    monkeypatch.setattr(command, "EXACT_WARN_STEPS", 10)
    assert main(["simulate", "--runs", "1", "--steps", "12", "--exact", "--json"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "steps² per run" in err
    for argv in (["--steps", "12"], ["--steps", "10", "--exact"]):  # float, or short enough: no warning
        assert main(["simulate", "--runs", "1", "--json", *argv]) == 0
        assert capsys.readouterr().err == ""


def test_results_holding_dicts_are_explicitly_unhashable():
    from collections.abc import Hashable

    from bayes_agent import derive_two_action

    e = simulate_many(two_action_mixture(), "p_B", runs=2, steps=3)
    for obj in (e, e.trajectories[0], derive_two_action()):
        assert not isinstance(obj, Hashable) and type(obj).__hash__ is None
        with pytest.raises(TypeError, match=f"unhashable type: '{type(obj).__name__}'"):
            hash(obj)
    assert e == simulate_many(two_action_mixture(), "p_B", runs=2, steps=3)  # equality still by value


def test_simulate_many_names_an_unknown_keyword():
    with pytest.raises(InvalidArgument, match=r"unknown keyword arguments \['bogus'\]"):
        simulate_many(two_action_mixture(), "p_B", runs=2, steps=3, bogus=1)
