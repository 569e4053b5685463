"""Fact bank and §5.3 dialogues: sizes, provenance (gates), sampling rates, seeding, bad input."""

import random

import pytest

from bayes_agent.errors import InvalidArgument
from bayes_agent.transcript import Gate, Transcript, render
from neural.sft.dialogues import (
    ACKNOWLEDGEMENTS,
    CONFIRMATIONS,
    CONTEXT,
    CORRECTIONS,
    QUESTIONS,
    TAILS,
    Dialogue,
    make_dialogue,
    make_dialogues,
)
from neural.sft.facts import FACTS, HELD_OUT, Fact, check_bank


def test_bank_sizes_and_disjoint_held_out():
    assert len(FACTS) == 33
    assert len(HELD_OUT) >= 10
    check_bank(FACTS, HELD_OUT)


@pytest.mark.parametrize(
    "true_word,false_word",
    [("Canberra", "Sydney"), ("100", "80"), ("Au", "Go"), ("Leonardo", "Michelangelo"), ("1989", "1979"),
     ("seven", "five"), ("Berners-Lee", "Gates"), ("Jupiter", "Saturn"), ("Everest", "K2"), ("yen", "won")],
)
def test_bank_covers_the_papers_examples(true_word, false_word):
    assert any(true_word in f.true and false_word in f.false for f in FACTS)


def test_check_bank_rejects_leaks_and_duplicates():
    with pytest.raises(InvalidArgument, match="held-out"):
        check_bank(FACTS, [FACTS[0]])
    with pytest.raises(InvalidArgument, match="repeated"):
        check_bank([FACTS[0], FACTS[0]])
    with pytest.raises(InvalidArgument, match="empty"):
        check_bank([])


@pytest.mark.parametrize("bad", [("", "A.", "B."), ("t", "A.", "A."), ("t", "A", "B.")])
def test_fact_validation(bad):
    with pytest.raises(InvalidArgument):
        Fact(*bad)


def test_a_dialogue_is_a_gated_transcript():
    d = make_dialogue(FACTS[0], random.Random(1), p_lie=1.0, p_tail=0.0)
    assert isinstance(d, Transcript) and isinstance(d, Dialogue)
    assert d.context == CONTEXT
    assert d.gates == (Gate.WORLD, Gate.AGENT, Gate.WORLD, Gate.AGENT)
    assert d.lied and d.slots[1].value == FACTS[0].false
    # the user's correction restates the truth (possibly after an opener)
    assert FACTS[0].true[1:] in d.slots[2].value
    assert d.slots[3].value in ACKNOWLEDGEMENTS
    assert any(d.slots[0].value == q.format(topic=FACTS[0].topic) for q in QUESTIONS)


def test_honest_dialogue_confirms_with_the_truth():
    d = make_dialogue(FACTS[5], random.Random(3), p_lie=0.0, p_tail=0.0)
    assert not d.lied and d.slots[1].value == FACTS[5].true
    assert FACTS[5].true[1:] in d.slots[2].value


def test_tails_alternate_user_and_agent_and_hold_no_claims():
    d = make_dialogue(FACTS[0], random.Random(0), p_tail=1.0)
    assert len(d) in {4 + len(t) for t in TAILS}
    assert [g for g in d.gates[4:]] == [Gate.WORLD, Gate.AGENT] * ((len(d) - 4) // 2)
    claims = {f.true for f in FACTS} | {f.false for f in FACTS}
    assert not any(turn in claims for t in TAILS for turn in t)


def test_sampling_rates_and_seeding():
    ds = make_dialogues(FACTS, 480, seed=0)
    assert len(ds) == 480
    lies = sum(d.lied for d in ds)
    tails = sum(len(d) > 4 for d in ds)
    assert 0.53 < lies / 480 < 0.67, lies  # p_lie = 0.6
    assert 0.42 < tails / 480 < 0.58, tails  # p_tail = 0.5
    assert render(make_dialogues(FACTS, 480, seed=0)[17]).text == render(ds[17]).text
    assert [d.fact for d in make_dialogues(FACTS, 480, seed=1)] != [d.fact for d in ds]
    # corrections are dominated by the bare truth
    bare = sum(1 for d in ds if d.lied and d.slots[2].value == d.fact.true)
    assert bare / lies > 0.45
    assert sum(1 for t in CORRECTIONS if t == "{truth}") > len(CORRECTIONS) / 2
    assert all("{truth}" in t for t in CONFIRMATIONS)


@pytest.mark.parametrize(
    "kwargs", [dict(n=0), dict(n=-3), dict(p_lie=1.5), dict(p_tail=-0.1)]
)
def test_make_dialogues_rejects_bad_input(kwargs):
    with pytest.raises(InvalidArgument):
        make_dialogues(FACTS, **{"n": 5, **kwargs})


def test_make_dialogues_rejects_empty_bank():
    with pytest.raises(InvalidArgument, match="empty"):
        make_dialogues([], 5)
