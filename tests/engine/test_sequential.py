"""The exact sequential posterior: integer weights, the lazy PosteriorTrace, its bookkeeping."""

import math
import random
from fractions import Fraction as F

import pytest
from hypothesis import given

import bayes_agent.sequential as sequential
from bayes_agent import (Channel, InvalidArgument, Mixture, PosteriorTrace, Slot, TableProgram, Transcript,
                         ZeroEvidence, two_action_mixture)
from bayes_agent.sequential import common_numerators, tree_product
from bayes_agent.strategies import engine_cases

MODES = ("do", "obs")


def _mixture() -> Mixture:
    return Mixture([TableProgram("p", action={"A": "1/5", "B": "3/5", "C": "1/5"},
                                 observation={"x": "1/2", "y": "1/4", "z": "1/8", "w": "1/8"}),
                    TableProgram("q", action={"A": "1/3", "B": "1/3", "C": "1/3"},
                                 observation_given_action={a: {"x": "1/7", "y": "2/7", "z": "3/7", "w": "1/7"}
                                                           for a in (None, "A", "B", "C")}),
                    TableProgram("r", action={"A": "1/2", "B": "1/2", "C": 0},
                                 observation={"x": "1/4", "y": "1/4", "z": "1/4", "w": "1/4"})],
                   ["1/2", "1/3", "1/6"])


def _history(T: int, seed: int) -> Transcript:
    r, h = random.Random(seed), Transcript(context="c")
    for _ in range(T):
        u = r.random()
        h = (h.agent(r.choice("AB")) if u < 0.4 else h.world(r.choice("ABC"), channel="action") if u < 0.5
             else h.world(r.choice("xyzw")))
    return h


@pytest.mark.parametrize("mode", MODES)
def test_long_exact_trace_read_in_any_order_equals_the_batch_posterior(mode):
    """Entries are rebuilt from block products and single steps: random order, slices, negatives."""
    m, h = _mixture(), _history(300, 1)  # 300 slots: several blocks of BLOCK = 64 and a tail
    trace = m.updater(mode, context="c").trace(h)
    order = list(range(len(h)))
    random.Random(2).shuffle(order)
    for i in order[:60] + [0, len(h) - 1, 63, 64, 127, 128]:
        assert trace[i] == m.posterior(h.prefix(i + 1), mode), i
    assert trace[-1] == m.posterior(h, mode) and trace[-300] == trace[0]
    assert trace[250:258] == [m.posterior(h.prefix(i + 1), mode) for i in range(250, 258)]
    with pytest.raises(IndexError):
        trace[300]


@given(engine_cases(max_slots=12))
def test_small_blocks_trace_equals_push_by_push(case):
    """With blocks of 3 slots every path (jump, walk, tail) runs on short histories."""
    m, h = case
    block = sequential.BLOCK
    sequential.BLOCK = 3
    try:
        for mode in MODES:
            lazy = m.updater(mode, context=h.context).trace(h)
            u = m.updater(mode, context=h.context)
            pushed = [u.push(s) for s in h]
            assert lazy == pushed and list(reversed(lazy)) == pushed[::-1]
            assert len(lazy) == len(h)
    finally:
        sequential.BLOCK = block


def test_building_an_exact_trace_reduces_nothing(monkeypatch):
    """No gcd per slot: trace() normalises no weights; reading one entry normalises once."""
    calls = []
    real = sequential.normalised
    monkeypatch.setattr(sequential, "normalised", lambda *a: calls.append(1) or real(*a))
    m, h = _mixture(), _history(500, 3)
    trace = m.updater().trace(h)
    assert calls == []
    assert trace[-1] == m.posterior(h) and calls == [1]


def test_the_updater_after_a_trace_holds_the_last_weights_and_continues():
    m, h = _mixture(), _history(200, 4)
    u = m.updater(context="c")
    u.trace(h.prefix(150))
    assert u.weights == m.posterior(h.prefix(150)) and len(u.history) == 150
    u.trace(Transcript(h.slots[150:], "c"))
    assert u.weights == m.posterior(h) and u.history.slots == h.slots
    v = m.updater(context="c")
    assert v.extend(h) == m.posterior(h)


def test_zero_evidence_inside_a_trace_keeps_the_slots_before_it():
    m = Mixture([TableProgram("p", action={"A": 1, "B": 0}), TableProgram("q", action={"A": F(1, 2), "B": F(1, 2)})],
                [F(1, 2), F(1, 2)])
    h = Transcript(context="c").world("A", channel="action").world("B", channel="action").world("A", channel="action")
    u = m.updater(context="c")
    u.trace(h.prefix(1))
    assert u.weights == {"p": F(2, 3), "q": F(1, 3)}
    u.trace(Transcript(h.slots[1:2], "c"))  # B kills p; q survives
    assert u.weights == {"p": 0, "q": 1}
    bad = Mixture([TableProgram("p", action={"A": 1, "B": 0}), TableProgram("q", action={"A": 1, "B": 0})],
                  [F(1, 2), F(1, 2)])
    w = bad.updater(context="c")
    with pytest.raises(ZeroEvidence, match=r"slot 3 \(h\[2\] = 'B'\) has probability zero under every program"):
        w.trace(Transcript(context="c").world("A", channel="action").agent("B").world("B", channel="action"))
    assert len(w.history) == 2 and w.weights == {"p": F(1, 2), "q": F(1, 2)}
    with pytest.raises(InvalidArgument, match=r"agent slot 6 \(h\[5\] = 'Z'\) is outside"):
        w.trace(Transcript(context="c").agent("A").agent("B").agent("A").agent("Z"))
    assert len(w.history) == 5


def test_zero_evidence_counts_the_programs_already_ruled_out():
    """p is ruled out by B, q by C (where p's own factor is positive): together, zero evidence."""
    m = Mixture([TableProgram("p", action={"A": F(1, 2), "B": 0, "C": F(1, 2)}),
                 TableProgram("q", action={"A": F(1, 2), "B": F(1, 2), "C": 0})], [F(1, 2), F(1, 2)])
    u = m.updater(context="c")
    with pytest.raises(ZeroEvidence, match=r"slot 3 \(h\[2\] = 'C'\) has probability zero"):
        u.trace(Transcript(context="c").world("A", channel="action").world("B", channel="action")
                .world("C", channel="action"))
    assert len(u.history) == 2 and u.weights == {"p": 0, "q": 1}


def test_the_two_action_trace_is_the_papers():
    m = two_action_mixture()
    h = Transcript(context="c").agent("A").world("B", channel=Channel.ACTION)
    trace = m.updater(context="c").trace(h)
    assert isinstance(trace, PosteriorTrace) and trace[1]["p_B"] == F(56, 69) and trace[0]["p_B"] == F(7, 20)
    assert trace == [m.posterior(h.prefix(1)), m.posterior(h)] and trace != [m.posterior(h)]
    assert "2 slots" in repr(trace)


def test_float_and_symbolic_traces_hold_their_entries():
    m = two_action_mixture()
    h = Transcript(context="c").agent("A").world("B", channel=Channel.ACTION).world("A", channel=Channel.ACTION)
    exact = m.updater(context="c").trace(h)
    for arithmetic in ("float", "symbolic"):
        other = Mixture(m.programs, m.prior, arithmetic=arithmetic).updater(context="c").trace(h)
        assert len(other) == 3
        for a, b in zip(other, exact):
            assert all(abs(float(a[n]) - float(b[n])) < 1e-12 for n in b)
        with pytest.raises(TypeError, match="only an exact trace"):
            other.numerators(1)


def test_helpers_against_their_definitions():
    r = random.Random(5)
    for n in (0, 1, 2, 3, 7, 64, 129):
        xs = [r.randrange(1, 10**6) for _ in range(n)]
        assert tree_product(xs) == math.prod(xs)
    values = [F(1, 3), F(0), F(5, 12), F(7, 4), 2]
    u = common_numerators(values)
    assert all(isinstance(x, int) for x in u)
    assert [F(x, sum(u)) for x in u] == [v / sum(values) for v in values]
    assert math.gcd(*u) == 1 and common_numerators([F(2, 5), F(4, 5)]) == (1, 2)
    assert common_numerators([F(0), F(0)]) == (0, 0)


def test_exact_integers_do_not_carry_common_factors():
    """Slots whose factors swap ((1/3, 2/3) then (2/3, 1/3)) multiply both integers by 2 per pair;
    reading the weights divides that out, so the integers stay as small as the reduced weights."""
    m = Mixture([TableProgram("p", action={"A": F(1, 3), "B": F(2, 3)}),
                 TableProgram("q", action={"A": F(2, 3), "B": F(1, 3)})], [F(1, 2), F(1, 2)])
    u = m.updater()
    for k in range(400):
        assert u.push(Slot("AB"[k % 2], 0, Channel.ACTION)) == ({"p": F(1, 3), "q": F(2, 3)} if k % 2 == 0
                                                                 else {"p": F(1, 2), "q": F(1, 2)})
    assert max(x.bit_length() for x in u._num) <= 2
    v = m.updater()
    trace = v.trace(Transcript([Slot("AB"[k % 2], 0, Channel.ACTION) for k in range(400)]))
    assert trace[-1] == {"p": F(1, 2), "q": F(1, 2)} and max(x.bit_length() for x in trace._blocks[0]) <= 2


# ---- PosteriorTrace behaves like the list Updater.trace used to return (issue 21) ----------------

def _traces():
    """An exact (lazy) trace and a float (held) trace of the same history, and the plain lists."""
    m, h = _mixture(), _history(40, 7)
    exact = m.updater("do", context="c").trace(h)
    floats = Mixture(m.programs, m.prior, arithmetic="float").updater("do", context="c").trace(h)
    return m, exact, floats


def test_list_plus_trace_and_trace_plus_list_are_lists():
    m, exact, floats = _traces()
    for trace in (exact, floats):
        as_list = [trace[i] for i in range(len(trace))]
        front = [dict(m.prior)] + trace
        assert type(front) is list and front == [dict(m.prior)] + as_list and len(front) == len(trace) + 1
        back = trace + [dict(m.prior)]
        assert type(back) is list and back == as_list + [dict(m.prior)]
        assert trace + trace == as_list + as_list


def test_trace_equals_a_list_both_ways_and_slices_to_lists():
    _, exact, floats = _traces()
    for trace in (exact, floats):
        as_list = [trace[i] for i in range(len(trace))]
        assert trace == as_list and as_list == trace
        assert not (trace != as_list)
        assert trace != as_list[:-1] and as_list[1:] != trace
        assert trace[3:9] == as_list[3:9] and type(trace[3:9]) is list
        assert trace[::-5] == as_list[::-5] and trace[-2:] == as_list[-2:]


def test_a_trace_index_that_is_not_an_integer_is_a_clear_type_error():
    """As a list: ``trace["1"]`` and ``trace[1.0]`` raise TypeError naming what indices may be;
    numpy integers and bools index as they do in a list."""
    import numpy as np

    _, exact, floats = _traces()
    for trace in (exact, floats):
        as_list = list(trace)
        for bad in ("1", 1.0, None, (1,)):
            with pytest.raises(TypeError, match=rf"trace indices must be integers or slices, not {type(bad).__name__}$"):
                trace[bad]
        assert trace[np.int64(2)] == as_list[2] and trace[np.int8(-1)] == as_list[-1]
        assert trace[True] == as_list[True]
        with pytest.raises(IndexError):
            trace[np.int64(len(as_list))]


def test_json_dumps_of_a_float_trace_is_the_list_of_dicts():
    import json

    _, _, floats = _traces()
    text = json.dumps(list(floats))
    assert json.loads(text) == [dict(e) for e in floats]
    assert json.loads(text)[-1] == pytest.approx(floats[-1])


def test_negative_zero_reads_as_zero():
    """-0.0 in a prior or a program comes back as 0.0 (issue 21), never as a negative zero."""
    m = Mixture([TableProgram("p", action={"A": 1.0, "B": -0.0}, observation={"x": 1.0, "y": -0.0}),
                 TableProgram("q", action={"A": 0.5, "B": 0.5}, observation={"x": 0.5, "y": 0.5})],
                [1.0, -0.0])
    out = [m.prior["q"], *m.posterior(Transcript().world("x")).values(),
           *m.predict(Transcript(), "A").values(), *m.act(Transcript()).values()]
    assert all(math.copysign(1.0, x) == 1.0 for x in out), out


def _context_mixture(kind: str) -> Mixture:
    """One program whose kernel reads the context, one that does not."""
    from bayes_agent import HistoryProgram

    sunny = HistoryProgram("ctx", observation=lambda h: {"x": F(9, 10), "y": F(1, 10)} if h.context == "sunny"
                           else {"x": F(1, 2), "y": F(1, 2)})
    return Mixture([sunny, TableProgram("flat", observation={"x": F(1, 2), "y": F(1, 2)})], [F(1, 2), F(1, 2)],
                   arithmetic=kind)


@pytest.mark.parametrize("kind", ["exact", "float"])
def test_the_updater_scores_slots_under_the_transcripts_context(kind):
    """Sequential = batch (invariant 6) also for kernels that read the context c."""
    m = _context_mixture(kind)
    h = Transcript(context="sunny").world("x").world("y").world("x")
    batch = m.posterior(h)
    assert batch["ctx"] == pytest.approx(F(81, 206)) if kind == "float" else batch["ctx"] == F(81, 206)
    same = (lambda a, b: a == b) if kind == "exact" else (lambda a, b: a == pytest.approx(b, rel=1e-14))
    assert same(m.updater().trace(h)[-1], batch)
    assert same(m.updater().extend(h), batch)
    u = m.updater()
    u.extend(Transcript(context="sunny").world("x"))
    assert same(u.extend(Transcript().world("y").world("x")), batch)  # a transcript without a context continues
    with pytest.raises(InvalidArgument, match="context 'rainy' differs from the updater's 'sunny'"):
        u.extend(Transcript(context="rainy").world("x"))
    with pytest.raises(InvalidArgument, match="differs from the updater's 'cloudy'"):
        m.updater(context="cloudy").extend(h)


def test_the_float_updater_sums_long_histories_without_drift():
    """The float updater's running log weights are compensated sums: after 20,000 world slots
    its weights match ones computed from math.fsum of the same float log factors to 8e-13 (the
    last bits of a log joint near -13,800), where a plain running sum is off by 6e-9 and 3e-11."""
    rows = {"p": (0.55, 0.45), "q": (0.56, 0.44)}
    m = Mixture([TableProgram(n, observation={"x": a, "y": b}) for n, (a, b) in rows.items()], [0.5, 0.5])
    rng = random.Random(11)
    values = ["x" if rng.random() < 0.555 else "y" for _ in range(20000)]
    h = Transcript.from_pairs([(v, 0) for v in values])
    got = m.updater("do").extend(h)
    n_x = values.count("x")
    log = {n: math.fsum([math.log(0.5)] + [math.log(a)] * n_x + [math.log(b)] * (len(values) - n_x))
           for n, (a, b) in rows.items()}
    top = max(log.values())
    total = math.fsum(math.exp(v - top) for v in log.values())
    for n in rows:
        want = math.exp(log[n] - top) / total
        assert want > 1e-3 and abs(got[n] - want) / want < 1e-11, (n, got[n], want)
