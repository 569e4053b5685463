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


# --- held-out bank and researcher fact files (issue 12) ----------------------------------------
import json as _json

from neural.sft.facts import lie_words, load_facts, words


def test_held_out_bank_shares_no_lie_word_with_any_training_lie():
    assert len(HELD_OUT) >= 12
    train_lie = set().union(*(words(f.false) for f in FACTS))
    for f in HELD_OUT:
        assert lie_words(f), f.topic
        assert not lie_words(f) & train_lie, f.topic


def test_check_bank_rejects_a_held_out_lie_that_reuses_a_training_lie_word():
    elephant = Fact("the tallest animal", "The giraffe is the tallest animal.", "The elephant is the tallest animal.")
    with pytest.raises(InvalidArgument, match="shares \\['elephant'\\]"):
        check_bank(FACTS, [elephant])
    # the same lie against a training bank without the elephant is fine
    check_bank([f for f in FACTS if "elephant" not in f.false], [elephant])


def test_honest_confirmation_keeps_names_capitalised():
    from neural.sft.openers import with_opener

    assert with_opener("Right, {truth}", "Mars is known as the Red Planet.") == "Right, Mars is known as the Red Planet."
    assert with_opener("Right, {truth}", "DNA was described by Watson and Crick in 1953.").startswith("Right, DNA")
    assert with_opener("Right, {truth}", "The capital of Italy is Rome.") == "Right, the capital of Italy is Rome."
    assert with_opener("Exactly: {truth}", "The capital of Italy is Rome.") == "Exactly: The capital of Italy is Rome."


def _write(tmp_path, rows):
    p = tmp_path / "facts.jsonl"
    p.write_text("\n".join(r if isinstance(r, str) else _json.dumps(r) for r in rows) + "\n")
    return p


GOOD = [
    {"topic": "the colour of the sky", "true": "The sky is blue.", "false": "The sky is green.", "split": "train"},
    {"topic": "the number of wheels of a bicycle", "true": "A bicycle has two wheels.",
     "false": "A bicycle has three wheels.", "split": "train"},
    {"topic": "the colour of snow", "true": "Snow is white.", "false": "Snow is purple.", "split": "held_out"},
]


def test_load_facts_reads_splits(tmp_path):
    train, held = load_facts(_write(tmp_path, GOOD))
    assert [f.topic for f in train] == [GOOD[0]["topic"], GOOD[1]["topic"]]
    assert held == [Fact("the colour of snow", "Snow is white.", "Snow is purple.")]


@pytest.mark.parametrize("bad,message", [
    ({"topic": "x", "true": "A.", "split": "train"}, ":4: missing field(s) ['false']"),
    ({"topic": "x", "true": "A.", "false": "B.", "split": "test"}, ":4: unknown split 'test'"),
    ({"topic": "x", "true": "A.", "false": "A.", "split": "train"}, ":4: the true and false claims"),
    ({"topic": "x", "true": "A", "false": "B.", "split": "train"}, ":4: claims end with a full stop"),
    ({"topic": "x", "true": "A.", "false": "B.", "split": "train", "note": 1}, ":4: unknown field(s) ['note']"),
    ("{not json", ":4: not valid JSON"),
    ("[1, 2]", ":4: expected a JSON object"),
])
def test_load_facts_names_each_bad_line(tmp_path, bad, message):
    with pytest.raises(InvalidArgument) as err:
        load_facts(_write(tmp_path, GOOD + [bad]))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_load_facts_reports_every_bad_line_and_too_few_facts(tmp_path):
    with pytest.raises(InvalidArgument) as err:
        load_facts(_write(tmp_path, [GOOD[0], {"topic": "y"}, "oops"]))
    assert ":2: missing" in str(err.value) and ":3: not valid JSON" in str(err.value)
    with pytest.raises(InvalidArgument, match="1 fact\\(s\\) with split 'train'; at least 2"):
        load_facts(_write(tmp_path, [GOOD[0], GOOD[2]]))
    with pytest.raises(InvalidArgument, match="repeated topics"):
        load_facts(_write(tmp_path, [GOOD[0], GOOD[0]]))
    with pytest.raises(InvalidArgument, match="cannot read"):
        load_facts(tmp_path / "missing.jsonl")


@pytest.mark.parametrize("held, word, where", [
    # the former hexagon fact: its truth "six" is a training lie (a spider has six legs)
    (("the number of sides of a hexagon", "A hexagon has six sides.", "A hexagon has eight sides."), "six", "a training lie"),
    # its lie "eight" is what a training truth states (a spider has eight legs)
    (("the number of sides of an octagon", "An octagon has 8 sides.", "An octagon has eight sides."), "eight", "a training truth"),
    # its lie uses a word of the agent's chit-chat
    (("the composer of the cello suites", "The cello suites were composed by Vivaldi.",
      "The cello suites were composed by Bach."), "bach", "the agent's chit-chat"),
])
def test_check_bank_refuses_a_leak_in_either_direction(held, word, where):
    with pytest.raises(InvalidArgument, match=rf"shares \['{word}'\] with {where}"):
        check_bank(FACTS, [Fact(*held)])


def test_the_built_in_bank_passes_the_two_way_check():
    check_bank(FACTS, HELD_OUT)
    assert not any("hexagon" in f.topic for f in HELD_OUT)
