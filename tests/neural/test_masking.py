"""Masks from gates on the generated data (§5.3 sanity check), exactly, token by token."""

import functools

import pytest

from bayes_agent.errors import InvalidArgument
from bayes_agent.transcript import Gate, Part, Rendering, Span, Transcript, render
from neural.sft.dialogues import make_dialogues
from neural.sft.facts import FACTS
from neural.masking import IGNORE_INDEX, LabelMode, labels_from_offsets, mask_transcript
from neural.models import train_tokenizer


@pytest.fixture(scope="module")
def data():
    ds = make_dialogues(FACTS, 60, seed=0)
    tok = train_tokenizer([render(d).text for d in ds], 600)
    return ds, tok


def _agentish(role):
    return role == "agent" or (role.startswith("mixed") and "agent" in role)


def test_first_dialogue_accounting(data):
    ds, tok = data
    ex = mask_transcript(ds[0], tok)
    acc = ex.accounting
    assert acc.supervised_obs - acc.supervised_do == acc.agent_content_tokens > 0
    ctx = [t for t, r in enumerate(ex.roles) if r == "context"]
    assert acc.supervised_obs == acc.tokens - len(ctx)
    for t, role in enumerate(ex.roles):
        if _agentish(role):
            assert ex.labels_do[t] == IGNORE_INDEX
            assert ex.labels_obs[t] == ex.input_ids[t]
        elif role == "context":
            assert ex.labels_do[t] == ex.labels_obs[t] == IGNORE_INDEX
        else:  # protocol or world (or protocol+world): supervised in both arms
            assert ex.labels_do[t] == ex.labels_obs[t] == ex.input_ids[t]


def _runs(ex, labels, tok):
    """Decoded text of each maximal run of supervised tokens."""
    runs, cur = [], []
    for tid, lab in zip(ex.input_ids, labels):
        if lab != IGNORE_INDEX:
            cur.append(tid)
        elif cur:
            runs.append(tok.decode(cur))
            cur = []
    if cur:
        runs.append(tok.decode(cur))
    return runs


def test_decoded_supervised_spans_are_the_expected_substrings(data):
    ds, tok = data
    d = next(x for x in ds if len(x) == 4)
    ex = mask_transcript(d, tok)
    q, answer, reply, ack = d.values
    # standard SFT: everything after the context paragraph
    assert "".join(_runs(ex, ex.labels_obs, tok)) == render(d).text[len(d.context):]
    # interventional SFT: the user turns with the role prefixes; the space after "Agent:" merges
    # into the agent's first word and is masked with it
    assert _runs(ex, ex.labels_do, tok) == [f"\n\nUser: {q}\n\nAgent:", f"\n\nUser: {reply}\n\nAgent:"]
    # the agent's acknowledgement (which the user never repeats) is in no supervised do-token
    assert ack not in "".join(_runs(ex, ex.labels_do, tok))
    assert ack in "".join(_runs(ex, ex.labels_obs, tok)) and answer in render(d).text


def test_aggregate_accounting_is_the_sum(data):
    ds, tok = data
    exs = [mask_transcript(d, tok) for d in ds]
    total = functools.reduce(lambda a, b: a + b, (e.accounting for e in exs))
    assert total.tokens == sum(len(e.input_ids) for e in exs)
    assert total.supervised_obs - total.supervised_do == total.agent_content_tokens


def _hand_rendering():
    # "ctx" + "\n\nAgent: " + "Hello" : context 0-3, protocol 3-12, agent content 12-17
    text = "ctx\n\nAgent: Hello"
    return Rendering(text, (
        Span(0, 3, Part.CONTEXT),
        Span(3, 12, Part.PROTOCOL, 0, Gate.AGENT),
        Span(12, 17, Part.CONTENT, 0, Gate.AGENT),
    ))


def test_straddling_token_rule():
    r = _hand_rendering()
    ids = [1, 2, 3, 4, 5]
    offsets = [(0, 5), (5, 10), (10, 14), (14, 17), (0, 0)]  # ctx+protocol, protocol, protocol+agent, agent, special
    labels, roles = labels_from_offsets(r, ids, offsets)
    obs, do = labels[LabelMode.OBSERVATIONAL], labels[LabelMode.INTERVENTIONAL]
    assert roles == ["mixed:context+protocol", "protocol", "mixed:protocol+agent", "agent", "special"]
    assert obs == [IGNORE_INDEX, 2, 3, 4, IGNORE_INDEX]  # a token touching the context is never supervised
    assert do == [IGNORE_INDEX, 2, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]


def test_offsets_outside_the_text_are_rejected():
    with pytest.raises(InvalidArgument, match="outside"):
        labels_from_offsets(_hand_rendering(), [1], [(10, 99)])
    with pytest.raises(InvalidArgument, match="differ in length"):
        labels_from_offsets(_hand_rendering(), [1, 2], [(0, 1)])


def test_truncation_keeps_alignment(data):
    ds, tok = data
    full = mask_transcript(ds[0], tok)
    cut = mask_transcript(ds[0], tok, max_length=50)
    assert cut.truncated_tokens == len(full.input_ids) - 50 > 0
    assert cut.input_ids == full.input_ids[:50]
    assert cut.labels_obs == full.labels_obs[:50] and cut.labels_do == full.labels_do[:50]
    assert cut.accounting.truncated_tokens == cut.truncated_tokens


def test_bad_dialogues():
    with pytest.raises(InvalidArgument, match="empty dialogue"):
        mask_transcript(Transcript(context="c"), None)
    with pytest.raises(InvalidArgument, match="gate"):
        Transcript().append("hi", "narrator")  # an unknown role has no gate
    with pytest.raises(InvalidArgument, match="gate"):
        Transcript.from_pairs([("hi", 2)])


def test_experiment_warns_when_dialogues_are_truncated(data):
    from neural.sft.experiment import make_examples

    ds, tok = data
    with pytest.warns(UserWarning, match="longer than the model's context"):
        exs, total = make_examples(ds[:3], tok, max_length=30)
    assert all(len(e.input_ids) == 30 for e in exs)
    assert total.truncated_tokens == sum(e.truncated_tokens for e in exs) > 0
    with pytest.raises(InvalidArgument, match="no dialogues"):
        make_examples([], tok, None)


def test_each_token_carries_its_typed_origins_and_accounting_reads_them():
    """Issue 23: provenance is typed down to each token ((part, gate) pairs), not a role string."""
    from neural.masking import MaskedExample, Origin, token_origins

    r = _hand_rendering()
    offsets = [(0, 5), (5, 10), (10, 14), (14, 17), (0, 0)]
    origins = token_origins(r, offsets)
    agent = Origin(Part.CONTENT, Gate.AGENT)
    assert origins == [(Origin(Part.CONTEXT), Origin(Part.PROTOCOL)), (Origin(Part.PROTOCOL),),
                       (Origin(Part.PROTOCOL), agent), (agent,), ()]
    ex = MaskedExample([1, 2, 3, 4, 5], {m: [IGNORE_INDEX] * 5 for m in LabelMode}, origins, offsets, r.text)
    assert ex.accounting.agent_content_tokens == 2  # the straddling token and the pure agent token
    # accounting follows the origins, whatever their display says: a world token is not agent content
    world = MaskedExample([1], {m: [IGNORE_INDEX] for m in LabelMode}, [(Origin(Part.CONTENT, Gate.WORLD),)],
                          [(14, 17)], r.text)
    assert world.roles == ["world"] and world.accounting.agent_content_tokens == 0
