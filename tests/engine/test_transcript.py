"""The gated transcript type: gates, channels, construction, views, rendering spans."""

import dataclasses

import pytest

from bayes_agent import Channel, Gate, InvalidArgument, Mode, Part, Slot, Transcript, render


def test_gate_of_accepts_bits_bools_names_and_refuses_the_rest():
    assert Gate.of(1) is Gate.AGENT and Gate.of(0) is Gate.WORLD
    assert Gate.of(True) is Gate.AGENT and Gate.of("world") is Gate.WORLD
    for bad in (2, -1, 0.5, "maybe", None):
        with pytest.raises(InvalidArgument, match="gate must be 0"):
            Gate.of(bad)


def test_channel_defaults_follow_the_gate_and_demonstrations_keep_action_channel():
    h = Transcript().agent("A").world("x").world("B", channel="action")
    assert [s.channel for s in h] == [Channel.ACTION, Channel.OBSERVATION, Channel.ACTION]
    assert h.gates == (Gate.AGENT, Gate.WORLD, Gate.WORLD)


def test_slot_rejects_bad_channel_and_unhashable_value():
    with pytest.raises(InvalidArgument, match="channel"):
        Slot("A", Gate.AGENT, "speech")
    with pytest.raises(InvalidArgument, match="hashable"):
        Slot(["A"], Gate.AGENT)


def test_mode_parsing():
    assert Mode.of("do") is Mode.INTERVENTIONAL and Mode.of("observational") is Mode.OBSERVATIONAL
    with pytest.raises(InvalidArgument, match="mode"):
        Mode.of("bayes")


def test_from_pairs_from_values_prefix_indices_relabel():
    h = Transcript.from_pairs([("A", 1), ("x", 0), ("B", 1)], context="c")
    assert h.values == ("A", "x", "B") and h.context == "c"
    assert h.indices(1) == (0, 2) and h.indices(Gate.WORLD) == (1,)
    assert h.prefix(2).values == ("A", "x") and h[1:].values == ("x", "B")
    r = h.relabel(0, 0)
    assert r.gates[0] is Gate.WORLD and r.slots[0].channel is Channel.ACTION  # a demonstration now
    assert Transcript.from_values(["A"], [1]) == Transcript.from_pairs([("A", 1)])
    with pytest.raises(InvalidArgument, match="differ in length"):
        Transcript.from_values(["A", "B"], [1])
    with pytest.raises(InvalidArgument, match="pair 0"):
        Transcript.from_pairs(["A"])
    with pytest.raises(InvalidArgument, match="Slot objects"):
        Transcript(("A",))


def test_builders_share_equal_slots_but_keep_each_value_and_gate():
    """from_pairs and append reuse one immutable Slot per distinct slot; values equal across types
    stay apart, and the shared cache is bounded."""
    from bayes_agent.transcript import _interned

    built = Transcript().agent("A").world("x").agent("A")
    assert built.slots[0] is built.slots[2] and built.slots[1].gate is Gate.WORLD
    with pytest.raises(InvalidArgument, match="hashable"):
        built.world(["not", "hashable"])
    Transcript.from_pairs((f"v{i}", i % 2) for i in range(10_000))
    assert _interned.cache_info().currsize <= 4096
    h = Transcript.from_pairs([("A", 1), ("A", 1), ("A", 0), (1, 0), (True, 0), (1.0, 0), (1, 1)])
    assert h.slots[0] is h.slots[1]  # one object for the repeated pair
    assert [type(v) for v in h.values] == [str, str, str, int, bool, float, int]
    assert h.gates == (Gate.AGENT, Gate.AGENT, Gate.WORLD, Gate.WORLD, Gate.WORLD, Gate.WORLD, Gate.AGENT)
    assert h == Transcript(tuple(Slot(v, g) for v, g in
                                 [("A", 1), ("A", 1), ("A", 0), (1, 0), (True, 0), (1.0, 0), (1, 1)]))
    with pytest.raises(InvalidArgument, match="hashable"):
        Transcript.from_pairs([("A", 1), (["not", "hashable"], 0)])


def test_render_spans_cover_text_and_carry_gates():
    h = Transcript(context="Ctx").world("hi").agent("yes")
    r = render(h)
    assert r.text == "Ctx\n\nUser: hi\n\nAgent: yes"
    content = [sp for sp in r.spans if sp.part is Part.CONTENT]
    assert [r.text[sp.start:sp.end] for sp in content] == ["hi", "yes"]
    assert [sp.gate for sp in content] == [Gate.WORLD, Gate.AGENT]
    assert r.part_at(0).part is Part.CONTEXT
    covered = sorted((sp.start, sp.end) for sp in r.spans)
    assert covered[0][0] == 0 and covered[-1][1] == len(r.text)
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:]))
    with pytest.raises(InvalidArgument, match="outside the rendering"):
        r.part_at(len(r.text))
    with pytest.raises(InvalidArgument, match="only string values"):
        render(Transcript().agent(3))


# --- issue 15: appends share one slot store (amortised O(1)) without breaking immutability ---


def test_appends_that_branch_from_one_prefix_do_not_see_each_other():
    base = Transcript(context="c").agent("A")
    left = base.world("x")
    right = base.world("y")          # base was already extended: this append copies, then extends
    longer = left.agent("B")
    assert base.values == ("A",)
    assert left.values == ("A", "x") and right.values == ("A", "y")
    assert longer.values == ("A", "x", "B") and left.values == ("A", "x")
    assert left.prefix(1) == base and hash(left.prefix(1)) == hash(base)


def test_transcript_stays_immutable_and_picklable():
    import pickle

    h = Transcript.from_pairs([("A", 1), ("x", 0)], context="c")
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        h.context = "other"
    assert dataclasses.replace(h, context="d") == Transcript(h.slots, "d")
    assert pickle.loads(pickle.dumps(h)) == h
    assert repr(h).startswith("Transcript(slots=(Slot(value='A'")
    assert h[-1].value == "x" and h.prefix(-1).values == ("A",)
    with pytest.raises(IndexError):
        h[2]


@dataclasses.dataclass(frozen=True)
class Tagged(Transcript):
    tag: str = ""


def test_a_dataclass_subclass_keeps_working():
    """Colleagues extend Transcript with frozen dataclass fields (neural's Dialogue does)."""
    import pickle

    t = Tagged(Transcript().agent("A").slots, "c", tag="x")
    assert t.values == ("A",) and t.tag == "x" and t.context == "c"
    assert t.world("y").values == ("A", "y") and t.values == ("A",)
    assert pickle.loads(pickle.dumps(t)) == t and hash(t) == hash(Tagged(t.slots, "c", tag="x"))
    with pytest.raises(InvalidArgument, match="Slot objects"):
        Tagged(("A",), "c")


def test_building_by_append_is_linear_in_the_number_of_slots():
    """Counts work, not time: each append copies nothing once the store is shared."""
    h = Transcript()
    for i in range(5000):
        h = h.world(str(i % 3))
    assert len(h) == 5000 and h._store is h.prefix(10)._store  # one store, views of it


def test_a_long_transcript_has_a_short_repr():
    from bayes_agent import Transcript

    h = Transcript.from_pairs([("A", 1), ("B", 0)] * 50_000, context="c")
    text = repr(h)
    assert len(text) < 1000 and "99995 more slots" in text and "len=100000" in text
    short = Transcript(context="c").agent("A")
    assert repr(short) == ("Transcript(slots=(Slot(value='A', gate=<Gate.AGENT: 1>, channel=<Channel.ACTION: "
                           "'action'>, speaker=None),), context='c')")
