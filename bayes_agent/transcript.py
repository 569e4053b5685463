"""Gates, slots and transcripts: who wrote what (paper §3.1).

The gate γ is the single source of truth for provenance. The engine drops action factors
because of it, the neural masks set ``-100`` because of it, the simulator records it. Nothing
else in the project re-derives provenance from strings such as ``"Agent:"``.

```python
>>> h = Transcript(context="c").agent("A").world("B")
>>> h.gates
(<Gate.AGENT: 1>, <Gate.WORLD: 0>)
>>> [s.channel.value for s in h]
['action', 'observation']
>>> h.world("A", channel=Channel.ACTION).slots[-1]   # a teacher demonstration: evidence
Slot(value='A', gate=<Gate.WORLD: 0>, channel=<Channel.ACTION: 'action'>, speaker=None)

```
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any, Hashable, Iterable, Iterator, Mapping, Sequence, overload

from ._checks import expect, expect_history, expect_index, integer_or_none
from .errors import InvalidArgument

__all__ = [
    "Channel",
    "Gate",
    "Mode",
    "Part",
    "Rendering",
    "Slot",
    "Span",
    "Transcript",
    "render",
]


class Gate(IntEnum):
    """γ_i: who wrote slot i. AGENT (1) is an intervention, WORLD (0) is evidence."""

    WORLD = 0
    AGENT = 1

    @classmethod
    def of(cls, value: Any) -> "Gate":
        """Validate and convert 0/1/bool/Gate into a Gate; anything else is an error."""
        if isinstance(value, Gate):
            return value
        if isinstance(value, bool) or (getattr(getattr(value, "dtype", None), "kind", None) == "b"
                                       and getattr(value, "ndim", None) == 0):
            return cls(int(bool(value)))  # True / False, numpy's scalar ones too
        if integer_or_none(value) in (0, 1):  # an int or a numpy integer
            return cls(int(value))
        if isinstance(value, str) and value.strip().lower() in _GATE_NAMES:
            return _GATE_NAMES[value.strip().lower()]
        raise InvalidArgument(
            f"a gate must be 0 (world wrote it: evidence) or 1 (agent wrote it: intervention), "
            f"got {value!r}"
        )

    @classmethod
    def _missing_(cls, value: Any) -> "Gate":
        return cls.of(value)  # Gate("agent") works; anything else is a named InvalidArgument


_GATE_NAMES = {"0": Gate.WORLD, "1": Gate.AGENT, "world": Gate.WORLD, "agent": Gate.AGENT}


class Channel(Enum):
    """Which of a program's two kernels scores a slot's value (§3.1).

    The channel says what a symbol *looks like*; the gate says who *wrote* it. They usually agree
    (agent → action, world → observation), but a teacher's demonstration is an action-like symbol
    written by the world: channel ACTION, gate WORLD, and therefore evidence (§3.3).
    """

    ACTION = "action"
    OBSERVATION = "observation"

    @classmethod
    def default_for(cls, gate: Gate) -> "Channel":
        return cls.ACTION if gate is Gate.AGENT else cls.OBSERVATION

    @classmethod
    def _missing_(cls, value: Any) -> "Channel":
        raise InvalidArgument(f"channel must be 'action' or 'observation', got {value!r}")


class Mode(str, Enum):
    """Which likelihood to use: the bystander's L_obs (§3.2) or the first person's L_do (§3.3)."""

    OBSERVATIONAL = "obs"
    INTERVENTIONAL = "do"

    @classmethod
    def of(cls, value: Any) -> "Mode":
        if isinstance(value, Mode):
            return value
        key = str(value).strip().lower()
        if key in ("obs", "observational", "standard"):
            return cls.OBSERVATIONAL
        if key in ("do", "interventional", "int"):
            return cls.INTERVENTIONAL
        raise InvalidArgument(
            f"mode must be 'obs' (observational) or 'do' (interventional), got {value!r}"
        )

    @classmethod
    def _missing_(cls, value: Any) -> "Mode":
        return cls.of(value)


@dataclass(frozen=True)
class Slot:
    """One slot z_i of a history: its value, its gate γ_i, the channel scoring it, a display name."""

    value: Hashable
    gate: Gate
    channel: Channel = None  # type: ignore[assignment]  # filled from the gate when omitted
    speaker: str | None = None

    def __post_init__(self) -> None:
        gate = Gate.of(self.gate)
        object.__setattr__(self, "gate", gate)
        channel = self.channel
        if channel is None:
            channel = Channel.default_for(gate)
        elif not isinstance(channel, Channel):
            try:
                channel = Channel(channel)
            except ValueError:
                raise InvalidArgument(
                    f"channel must be 'action' or 'observation', got {self.channel!r}"
                ) from None
        object.__setattr__(self, "channel", channel)
        if self.speaker is not None:
            expect(self.speaker, str, "a slot's speaker", " (a display name such as 'User')")
        try:
            hash(self.value)
        except TypeError:
            raise InvalidArgument(
                f"a slot value must be hashable (a symbol or a string), got {type(self.value).__name__}"
            ) from None

    @property
    def is_agent(self) -> bool:
        return self.gate is Gate.AGENT


@functools.lru_cache(maxsize=4096, typed=True)
def _interned(value: Hashable, gate: Any, channel: Any, speaker: Any) -> Slot:
    return Slot(value, gate, channel, speaker)


def shared_slot(value: Hashable, gate: Any, channel: Channel | str | None = None,
              speaker: str | None = None) -> Slot:
    """``Slot(value, gate, channel, speaker)``, shared: slots are immutable, so the builders hand
    out one object per distinct slot (a bounded cache; equal values of the same type share it)
    instead of allocating one per position of a long transcript."""
    try:
        return _interned(value, gate, channel, speaker)
    except TypeError:  # an unhashable value: Slot names the problem
        return Slot(value, gate, channel, speaker)


class _SlotStore:
    """The ``slots`` field of :class:`Transcript`: a data descriptor over a shared, append-only list.

    Setting it (the dataclass ``__init__`` does) validates the slots and starts a store; reading
    it makes the tuple of this transcript's first ``len`` slots once and keeps it.
    """

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return ()  # the field's default, as dataclasses asks the class for it
        d = obj.__dict__
        if d["_tuple"] is None:
            d["_tuple"] = tuple(d["_store"][: d["_n"]])
        return d["_tuple"]

    def __set__(self, obj: Any, value: Iterable[Slot]) -> None:
        try:
            slots = tuple(value)
        except TypeError:
            raise InvalidArgument(
                f"a transcript's slots must be an iterable of Slot objects, got {type(value).__name__} "
                f"(Transcript() for an empty one; Transcript.from_pairs for (value, gate) pairs)"
            ) from None
        for s in slots:
            if not isinstance(s, Slot):
                raise InvalidArgument(f"a transcript holds Slot objects, got {type(s).__name__}")
        obj.__dict__.update(_store=list(slots), _n=len(slots), _tuple=slots)


#: A transcript longer than this many slots shows its first and last few in ``repr`` only.
REPR_SLOTS = 20


@dataclass(frozen=True, repr=False)
class Transcript:
    """A context c and a history h_t = (z_1, ..., z_t) of gated slots (§3.1). Immutable.

    Appending is amortised O(1): a transcript and the ones appended to it share one slot store,
    each seeing only its own first ``len`` slots, so building T slots by repeated ``append`` (or
    :meth:`prefix` views inside a likelihood) costs O(T), not O(T²). ``slots`` is the tuple of
    slots, made once per transcript on first use; inside a kernel, ``h[-1]`` and ``len(h)`` are O(1).
    The builders share one :class:`Slot` object per distinct slot, so a long history costs a
    pointer per slot.
    """

    slots: tuple[Slot, ...] = _SlotStore()  # type: ignore[assignment]
    context: Any = None

    @classmethod
    def _view(cls, store: list, n: int, context: Any) -> "Transcript":
        """The first ``n`` slots of ``store`` as a transcript, without copying them."""
        out = object.__new__(Transcript)
        out.__dict__.update(_store=store, _n=n, _tuple=None, context=context)
        return out

    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("_store", "_n", "_tuple")}
        state["slots"] = self.slots  # only this transcript's slots, not the shared store
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        vars(Transcript)["slots"].__set__(self, state.pop("slots"))
        self.__dict__.update(state)

    # construction -----------------------------------------------------------------------------
    @classmethod
    def from_pairs(
        cls, pairs: Iterable[tuple[Hashable, Any]], context: Any = None
    ) -> "Transcript":
        """Build from ``(value, gate)`` pairs, e.g. ``[("A", 1), ("B", 0)]``."""
        if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Iterable):
            raise InvalidArgument(f"pairs must be an iterable of (value, gate) pairs, got {type(pairs).__name__}")
        slots: list[Slot] = []
        for k, pair in enumerate(pairs):
            try:
                value, gate = pair
            except (TypeError, ValueError):
                raise InvalidArgument(
                    f"pair {k} must be (value, gate), got {pair!r}"
                ) from None
            slots.append(shared_slot(value, gate))
        return cls(tuple(slots), context)

    @classmethod
    def from_values(
        cls, values: Sequence[Hashable], gates: Sequence[Any], context: Any = None
    ) -> "Transcript":
        """Build from parallel sequences of values and gates (lists, tuples, or 1-D numpy arrays)."""
        values, gates = (x.tolist() if getattr(x, "ndim", None) == 1 else x for x in (values, gates))
        expect(values, Sequence, "values", " (a list of slot values)")
        expect(gates, Sequence, "gates", " (a list of 0/1 gates)")
        if len(values) != len(gates):
            raise InvalidArgument(
                f"values and gates differ in length ({len(values)} vs {len(gates)})"
            )
        return cls.from_pairs(zip(values, gates), context)

    def append_slot(self, slot: Slot) -> "Transcript":
        """A new transcript with ``slot`` appended (amortised O(1): the store is shared)."""
        if not isinstance(slot, Slot):
            raise InvalidArgument(f"a transcript holds Slot objects, got {type(slot).__name__}")
        store, n = self.__dict__["_store"], self.__dict__["_n"]
        if len(store) != n:  # someone already appended to this prefix: branch off a copy
            store = store[:n]
        store.append(slot)
        return Transcript._view(store, n + 1, self.context)

    def append(
        self,
        value: Hashable,
        gate: Any,
        *,
        channel: Channel | str | None = None,
        speaker: str | None = None,
    ) -> "Transcript":
        """A new transcript with one more slot."""
        return self.append_slot(shared_slot(value, gate, channel, speaker))

    def agent(self, value: Hashable, *, speaker: str | None = None) -> "Transcript":
        """Append a slot the agent wrote (γ = 1, an intervention)."""
        return self.append(value, Gate.AGENT, speaker=speaker)

    def world(
        self, value: Hashable, *, channel: Channel | str | None = None, speaker: str | None = None
    ) -> "Transcript":
        """Append a slot the world wrote (γ = 0, evidence); ``channel=ACTION`` for a demonstration."""
        return self.append(value, Gate.WORLD, channel=channel, speaker=speaker)

    def with_context(self, context: Any) -> "Transcript":
        """Deprecated (unused in the project): the same slots under another context.

        Use ``Transcript(t.slots, context)``; this name stays, with a warning, for earlier callers.
        """
        import warnings

        warnings.warn("Transcript.with_context is deprecated; use Transcript(t.slots, context)",
                      DeprecationWarning, stacklevel=2)
        return Transcript._view(self._store, self._n, context)

    def __repr__(self) -> str:
        """Like the dataclass repr; past :data:`REPR_SLOTS` slots the middle is elided (a 10^5-slot
        transcript would otherwise print megabytes)."""
        n = self._n
        if n <= REPR_SLOTS:
            return f"Transcript(slots={self.slots!r}, context={self.context!r})"
        head = ", ".join(repr(self._store[i]) for i in range(3))
        tail = ", ".join(repr(self._store[i]) for i in range(n - 2, n))
        return f"Transcript(slots=({head}, ... {n - 5} more slots ..., {tail}), context={self.context!r}, len={n})"

    # views ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[Slot]:
        store = self._store
        return (store[i] for i in range(self._n))

    @overload
    def __getitem__(self, i: int) -> Slot: ...
    @overload
    def __getitem__(self, i: slice) -> "Transcript": ...
    def __getitem__(self, i: int | slice) -> "Slot | Transcript":
        if isinstance(i, slice):
            return Transcript(self.slots[i], self.context)
        if type(i) is not int:  # (the engine indexes with ints: no check on its hot path)
            i = expect_index(i, "a slot index")
        n = self._n
        if not -n <= i < n:
            raise IndexError(f"slot index {i} out of range for a transcript of {n} slots")
        return self._store[i + n if i < 0 else i]

    def prefix(self, i: int) -> "Transcript":
        """h_<i: the first ``i`` slots, with the same context. O(1): a view. As with ``h.slots[:i]``,
        a negative ``i`` counts from the end and an ``i`` past the end takes every slot."""
        i = expect_index(i, "prefix length")
        if not 0 <= i <= self._n:
            i = len(range(self._n)[:i])
        return Transcript._view(self._store, i, self.context)

    @property
    def gates(self) -> tuple[Gate, ...]:
        return tuple(s.gate for s in self)

    @property
    def values(self) -> tuple[Hashable, ...]:
        return tuple(s.value for s in self)

    def indices(self, gate: Any) -> tuple[int, ...]:
        """Positions of the slots with the given gate."""
        g = Gate.of(gate)
        return tuple(i for i, s in enumerate(self) if s.gate is g)

    def relabel(self, i: int, gate: Any) -> "Transcript":
        """The same transcript with slot ``i``'s provenance changed (value and channel kept)."""
        index = integer_or_none(i)
        if index is None or not -self._n <= index < self._n:
            raise InvalidArgument(f"relabel: slot index {i!r} is outside this transcript of {self._n} slots")
        i = index
        s = self.slots[i]
        slots = list(self.slots)
        slots[i] = Slot(s.value, Gate.of(gate), s.channel, s.speaker)
        return Transcript(tuple(slots), self.context)


# ---------------------------------------------------------------------------------------------
# Rendering to text with character spans (shared with ``neural``)
# ---------------------------------------------------------------------------------------------


class Part(Enum):
    """What a stretch of rendered text is: framing context, protocol scaffolding, or slot content."""

    CONTEXT = "context"
    PROTOCOL = "protocol"
    CONTENT = "content"

    @classmethod
    def _missing_(cls, value: Any) -> "Part":
        raise InvalidArgument(f"a part must be 'context', 'protocol' or 'content', got {value!r}")


@dataclass(frozen=True)
class Span:
    """Characters ``[start, end)`` of a rendering; ``slot``/``gate`` are set for slot spans."""

    start: int
    end: int
    part: Part
    slot: int | None = None
    gate: Gate | None = None


@dataclass(frozen=True)
class Rendering:
    """A transcript as one string plus the spans that say which characters came from where."""

    text: str
    spans: tuple[Span, ...]

    def part_at(self, pos: int) -> Span:
        """The span holding character ``pos``."""
        pos = expect_index(pos, "a character position")
        for sp in self.spans:
            if sp.start <= pos < sp.end:
                return sp
        raise InvalidArgument(f"character {pos} is outside the rendering (length {len(self.text)})")


def render(
    transcript: Transcript,
    *,
    speakers: dict[Gate, str] | None = None,
    turn_separator: str = "\n\n",
    end: str = "",
) -> Rendering:
    """Render ``context + "\\n\\n" + "User: ...\\n\\nAgent: ..."`` with a span for every piece.

    The speaker prefix of each slot (``"User: "``) and the separators belong to the protocol;
    the slot's value is its content and carries the slot's gate. Speakers default to
    ``User`` for world slots and ``Agent`` for agent slots; a slot's own ``speaker`` wins.
    """
    expect_history(transcript, "render's transcript")
    expect(turn_separator, str, "turn_separator")
    expect(end, str, "end")
    names = {Gate.WORLD: "User", Gate.AGENT: "Agent"}
    if speakers is not None:
        expect(speakers, Mapping, "speakers", " (a mapping from gate to a name, e.g. {1: 'Assistant'})")
        names.update({Gate.of(k): expect(v, str, f"the speaker for gate {k!r}") for k, v in speakers.items()})
    pieces: list[str] = []
    spans: list[Span] = []
    pos = 0

    def add(text: str, part: Part, slot: int | None = None, gate: Gate | None = None) -> None:
        nonlocal pos
        if not text:
            return
        pieces.append(text)
        spans.append(Span(pos, pos + len(text), part, slot, gate))
        pos += len(text)

    if transcript.context is not None and str(transcript.context) != "":
        add(str(transcript.context), Part.CONTEXT)
    for i, s in enumerate(transcript.slots):
        if not isinstance(s.value, str):
            raise InvalidArgument(
                f"slot {i} holds {type(s.value).__name__}; only string values can be rendered"
            )
        lead = turn_separator if pos > 0 else ""
        speaker = s.speaker if s.speaker is not None else names[s.gate]
        add(f"{lead}{speaker}: ", Part.PROTOCOL, i, s.gate)
        add(s.value, Part.CONTENT, i, s.gate)
    add(end, Part.PROTOCOL)
    return Rendering("".join(pieces), tuple(spans))
