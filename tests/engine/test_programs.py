"""Programs: table kernels, action-conditioned world kernels, Markov and callable programs."""

from fractions import Fraction as F

import pytest

from bayes_agent import (
    Channel, HistoryProgram, InvalidArgument, MarkovProgram, Mixture, TableProgram, Transcript, as_exact,
    latest_action,
)
from bayes_agent._numbers import convert

H = Transcript(context="c")


def test_table_rows_are_parsed_exactly_from_strings_and_floats():
    p = TableProgram("p", action={"A": "0.2", "B": 0.8})
    assert p.kind == "float"  # one float makes the row float
    q = TableProgram("q", action={"A": "1/5", "B": "4/5"}, observation={"x": 1})
    assert q.prob("B", H, Channel.ACTION) == F(4, 5)
    assert q.prob("x", H.agent("A"), "observation") == 1
    assert q.history_free and q.alphabet(Channel.ACTION) == ("A", "B")


def test_world_kernel_conditioned_on_latest_action_including_demonstrations():
    p = TableProgram("p", action={"A": "1/2", "B": "1/2"},
                     observation_given_action={None: {"x": 1, "y": 0}, "A": {"x": "1/4", "y": "3/4"},
                                               "B": {"x": "2/3", "y": "1/3"}})
    assert not p.history_free
    assert p.prob("x", H, Channel.OBSERVATION) == 1
    assert p.prob("y", H.agent("A"), Channel.OBSERVATION) == F(3, 4)
    assert p.prob("y", H.agent("A").world("B", channel="action"), Channel.OBSERVATION) == F(1, 3)
    assert latest_action(H.agent("A").world("x")) == "A" and latest_action(H) is None
    h = H.agent("A").world("y").agent("B").world("x")
    assert [p.prob_at(h, i) for i in range(4)] == [F(1, 2), F(3, 4), F(1, 2), F(2, 3)]


def test_missing_condition_row_and_missing_kernel_are_named():
    p = TableProgram("p", action={"A": 1}, observation_given_action={"A": {"x": 1}})
    with pytest.raises(InvalidArgument, match="no observation row for condition None"):
        p.prob("x", H, Channel.OBSERVATION)
    q = TableProgram("q", action={"A": 1})
    with pytest.raises(InvalidArgument, match="has no observation kernel"):
        q.prob("x", H, Channel.OBSERVATION)


def test_markov_program_uses_previous_slot():
    m = MarkovProgram("m", action={None: {"A": 1, "B": 0}, "A": {"A": "1/3", "B": "2/3"}, "x": {"A": 0, "B": 1}},
                      observation={"A": {"x": 1}})
    h = H.agent("A").world("x").agent("B")
    assert [m.prob_at(h, i) for i in range(3)] == [1, 1, 1]
    assert m.prob("B", H.agent("A"), Channel.ACTION) == F(2, 3)


def test_history_program_validates_every_row_it_returns():
    def act(h):
        n = len(h)
        return {"A": F(1, n + 2), "B": 1 - F(1, n + 2)}

    p = HistoryProgram("h", action=act, observation=lambda h: {"x": 1})
    assert p.prob("A", H.agent("A").agent("B"), Channel.ACTION) == F(1, 4)
    bad = HistoryProgram("bad", action=lambda h: {"A": "0.7", "B": "0.7"})
    with pytest.raises(InvalidArgument, match="sums to 7/5"):
        bad.prob("A", H, Channel.ACTION)
    with pytest.raises(InvalidArgument, match="no observation kernel"):
        bad.prob("x", H, Channel.OBSERVATION)


def test_normalize_is_explicit():
    p = TableProgram("p", action={"A": 1, "B": 3}, normalize=True)
    assert p.prob("A", H, Channel.ACTION) == F(1, 4)
    with pytest.raises(InvalidArgument, match="normalize=True"):
        TableProgram("p", action={"A": 1, "B": 3})


def test_convert_between_arithmetics():
    import sympy

    p = TableProgram("p", action={"A": "1/3", "B": "2/3"})
    assert isinstance(p.convert("float").prob("A", H, Channel.ACTION), float)
    assert p.convert("symbolic").prob("A", H, Channel.ACTION) == sympy.Rational(1, 3)
    # a float row -> exact is the rationals it was typed as when those sum to 1: 2/3 comes back
    # (one float alone, by its shortest repr, would not: 0.6666666666666666)
    back = p.convert("float").convert("exact").prob("B", H, Channel.ACTION)
    assert back == F(2, 3) and convert(2 / 3, "exact") == F("0.6666666666666666")
    q = TableProgram("q", action={"A": 0.35, "B": 0.65}).convert("exact")
    assert q.prob("A", H, Channel.ACTION) == F(7, 20)


@pytest.mark.parametrize("row", [{"A": 1 / 3, "B": 2 / 3}, {"A": 0.1, "B": 0.2, "C": 0.7},
                                 {"A": 0.123456789, "B": 0.876543211},
                                 {"A": 0.6, "B": 0.30000000000000004, "C": 0.1},
                                 {"A": 1 / 7, "B": 1 / 7, "C": 5 / 7}])
@pytest.mark.parametrize("kind", ["exact", "symbolic"])
def test_a_float_row_in_exact_arithmetic_sums_to_exactly_one(row, kind):
    """Every exact identity needs rows that sum to 1; a float row that did (within its tolerance)
    must still do so once exact, each entry within that tolerance of the float."""
    import sympy

    for program in (TableProgram("p", action=row).convert(kind),
                    Mixture([TableProgram("p", action=row)], [1.0], arithmetic=kind).programs[0]):
        got = program.distribution(H, Channel.ACTION)
        assert sum(got.values()) == 1
        for k, v in got.items():
            v = F(int(v.p), int(v.q)) if kind == "symbolic" else v
            assert isinstance(v, F) and abs(v - F(row[k])) <= F(1, 10 ** 9)
    prior = Mixture([TableProgram(k, action={"A": 1}) for k in row], list(row.values()), arithmetic=kind).prior
    assert sum(prior.values()) == 1


def test_a_row_with_an_irrational_entry_keeps_it_in_symbolic_arithmetic():
    """Only rows of rationals and floats are rewritten; sqrt(2)/4 beside floats stays as it is
    (it used to be sent to exact conversion and refused as "not an exact rational")."""
    import sympy

    from bayes_agent._numbers import convert_row

    r = sympy.sqrt(2) / 4
    got = convert_row({"A": r, "B": 0.5, "C": 0.5 - r}, "symbolic")
    assert got["A"] == r and got["B"] == sympy.Rational(1, 2) and sympy.simplify(sum(got.values()) - 1) == 0


def test_float32_rows_are_accepted_and_widened_to_sum_to_one():
    np = pytest.importorskip("numpy")
    a, b = np.float32(0.35), np.float32(0.65)
    assert abs(float(a) + float(b) - 1) > 1e-9  # outside the float64 tolerance
    m = Mixture([TableProgram("p", action={"A": a, "B": b}), TableProgram("q", action={"A": 1})], [a, b])
    assert sum(m.prior.values()) == 1.0 and abs(m.prior["p"] - 0.35) < 1e-7
    assert sum(as_exact(m).prior.values()) == 1
    with pytest.raises(InvalidArgument, match="sums to 1.01"):
        Mixture([TableProgram("p", action={"A": 1}), TableProgram("q", action={"A": 1})], [a, np.float32(0.66)])
