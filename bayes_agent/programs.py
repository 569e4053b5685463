"""Programs p: each supplies an action channel ν_p(a | h_<i, c) and a world channel ν_p(o | h_<i, a_i, c) (§3.1).

A program answers one question, :meth:`Program.distribution` ``(history, channel)``: the
distribution of the next slot's value given the slots before it (``history`` is h_<i with its
context c). For the world channel the imposed action a_i is already the latest action slot of
``history``. Which channel scores a slot is the slot's ``channel``; whether the score counts as
evidence is decided elsewhere, once, by the slot's gate (:func:`bayes_agent.mixture.is_evidence`).

Three kinds:

* :class:`TableProgram` — history-free kernels (the world kernel may depend on the latest action);
* :class:`MarkovProgram` — tables conditioned on the previous slot's value (history-dependent);
* :class:`HistoryProgram` — any history-dependent program, from two Python callables.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Hashable, Mapping

from ._checks import expect_history
from ._numbers import check_distribution, convert, convert_row, kind_of, parse_number
from .errors import FloatUnderflow, InvalidArgument
from .transcript import Channel, Transcript

__all__ = ["HistoryProgram", "MarkovProgram", "Program", "TableProgram", "latest_action"]

Row = Mapping[Hashable, Any]


def latest_action(history: Transcript) -> Hashable | None:
    """The value of the most recent action-channel slot of ``history`` (``None`` if there is none).

    This is the a_i that a world kernel ν_p(o_i | h_<i, a_i, c) conditions on; a world-written
    demonstration counts, since it is an action the world responds to.
    """
    expect_history(history, "latest_action's history")
    for i in range(len(history) - 1, -1, -1):
        if history[i].channel is Channel.ACTION:
            return history[i].value
    return None


def _reserved(what: str, meaning: str) -> InvalidArgument:
    """The refusal of None where a table would read it as its own marker (the row before any action,
    or the start row), so two different histories would be scored alike."""
    return InvalidArgument(f"{what}; None is reserved for {meaning}: use another symbol")


def _no_none_symbol(row: Row, where: str, meaning: str) -> Row:
    if isinstance(row, Mapping) and any(k is None for k in row):
        raise _reserved(f"{where} has the symbol None", meaning)
    return row


_NO_ACTION_YET = '"no action yet" (latest_action returns None before any action slot)'
_THE_START = '"the start" (a MarkovProgram\'s row keyed None scores the first slot)'


def _no_kernel(program: "Program", channel: Channel) -> InvalidArgument:
    """A program without a kernel on ``channel``; a world-written action-like symbol (a demonstration,
    §4) is scored by the action kernel, which ``.world(value, channel="action")`` selects."""
    hint = ""
    if channel is Channel.OBSERVATION and program.has_kernel(Channel.ACTION):
        hint = ('; it has an action kernel: for an action-like symbol the world writes, use '
                'Transcript.world(value, channel="action")')
    return InvalidArgument(f"program {program.name!r} has no {channel.value} kernel{hint}")


def _channel(channel: Any) -> Channel:
    if isinstance(channel, Channel):
        return channel
    try:
        return Channel(channel)
    except ValueError:
        raise InvalidArgument(f"channel must be 'action' or 'observation', got {channel!r}") from None


class Program(ABC):
    """A hypothesis p: a named generator of interaction streams with two channels (§3.1)."""

    name: str

    @abstractmethod
    def distribution(self, history: Transcript, channel: Channel) -> dict[Hashable, Any]:
        """ν_p(· | h_<i, c) on ``channel``, as a mapping from symbols to probabilities."""

    def prob(self, value: Hashable, history: Transcript, channel: Channel) -> Any:
        """ν_p(value | h_<i, c) on ``channel``; a value outside the program's alphabet is an error."""
        row = self.distribution(history, _channel(channel))
        try:
            return row[value]
        except KeyError:
            raise InvalidArgument(
                f"{value!r} is outside program {self.name!r}'s {_channel(channel).value} alphabet "
                "{" + ", ".join(sorted(map(repr, row))) + "}"
            ) from None
        except TypeError:
            raise InvalidArgument(f"slot value {value!r} is not hashable") from None

    def convert(self, kind: str) -> "Program":
        """The same program with its probabilities in arithmetic ``kind`` (exact/symbolic/float)."""
        return _Converted(self, kind)

    @property
    def scores_itself(self) -> bool:
        """Does this program score a value with its own :meth:`prob` (a density, say) instead of
        reading its row :meth:`distribution`? A mixture then asks its ``prob`` for every slot."""
        return type(self).prob is not Program.prob

    @property
    def history_free(self) -> bool:
        """True when no kernel looks at the history, so world-slot order cannot matter (invariant 6)."""
        return False

    def has_kernel(self, channel: Channel | str) -> bool:
        """Does this program define ν_p on ``channel``? (A table or a user subclass always does.)"""
        _channel(channel)
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"a program needs a non-empty string name, got {name!r}")
    return name


class KeyedTable(Program):
    """Kernels stored as rows indexed by (channel, key); subclasses say how a history gives the key."""

    rows: dict[tuple[Channel, Hashable], dict[Hashable, Any]]

    @abstractmethod
    def key(self, history: Transcript, channel: Channel) -> Hashable: ...

    def key_at(self, history: Transcript, i: int, channel: Channel) -> Hashable:
        """``key(history.prefix(i), channel)`` without copying the prefix."""
        return self.key(history.prefix(i), channel)

    def prob_at(self, history: Transcript, i: int) -> Any:
        """ν_p(z_i | h_<i, c) for slot ``i`` of ``history`` (no prefix copy: linear-time likelihoods)."""
        slot = history[i]
        row = self.rows.get((slot.channel, self.key_at(history, i, slot.channel)))
        if row is None or slot.value not in row:
            return self.prob(slot.value, history.prefix(i), slot.channel)  # raises the message
        return row[slot.value]

    def distribution(self, history: Transcript, channel: Channel) -> dict[Hashable, Any]:
        channel = _channel(channel)
        key = self.key(history, channel)
        try:
            return self.rows[(channel, key)]
        except KeyError:
            if not self.has_kernel(channel):
                raise _no_kernel(self, channel) from None
            raise InvalidArgument(
                f"program {self.name!r} has no {channel.value} row for condition {key!r}"
            ) from None

    def prob(self, value: Hashable, history: Transcript, channel: Channel) -> Any:
        return Program.prob(self, value, history, channel)

    def has_kernel(self, channel: Channel | str) -> bool:
        """Was any row given for ``channel``? (An observation-only table has no action kernel.)"""
        channel = _channel(channel)
        return any(ch is channel for ch, _ in self.rows)

    @property
    def scores_itself(self) -> bool:
        return False  # its prob reads its rows

    @property
    def kind(self) -> str:
        return kind_of(v for row in self.rows.values() for v in row.values())

    def alphabet(self, channel: Channel) -> tuple[Hashable, ...]:
        """Every symbol the program's ``channel`` kernel can score, in first-seen order."""
        channel = _channel(channel)
        seen: dict[Hashable, None] = {}
        for (ch, _), row in self.rows.items():
            if ch is channel:
                seen.update(dict.fromkeys(row))
        return tuple(seen)

    def convert(self, kind: str) -> "KeyedTable":
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.rows = {}
        for (channel, condition), row in self.rows.items():
            try:
                clone.rows[(channel, condition)] = convert_row(row, kind)
            except FloatUnderflow as e:  # say where: the message names only the number
                given = "" if condition is None else f" given {condition!r}"
                raise FloatUnderflow(f"program {self.name!r} {channel.value} kernel{given}: {e}") from None
        return clone




class TableProgram(KeyedTable):
    """History-free kernels: ν_p(a | c) and ν_p(o | c), or ν_p(o | a, c) given the latest action.

    ```python
    >>> p = TableProgram("p_B", action={"A": "1/5", "B": "4/5"})
    >>> p.prob("B", Transcript(), Channel.ACTION)
    Fraction(4, 5)

    ```
    """

    def __init__(
        self,
        name: str,
        action: Row | None = None,
        observation: Row | None = None,
        *,
        observation_given_action: Mapping[Hashable, Row] | None = None,
        normalize: bool = False,
    ) -> None:
        self.name = _check_name(name)
        if observation is not None and observation_given_action is not None:
            raise InvalidArgument(
                f"program {name!r}: give either observation or observation_given_action, not both"
            )
        if action is None and observation is None and observation_given_action is None:
            raise InvalidArgument(f"program {name!r} needs at least one kernel")
        rows: dict[tuple[Channel, Hashable], dict[Hashable, Any]] = {}
        if action is not None:
            rows[(Channel.ACTION, None)] = check_distribution(
                _no_none_symbol(action, f"program {name!r} action kernel", _NO_ACTION_YET),
                f"program {name!r} action kernel", normalize=normalize
            )
        if observation is not None:
            rows[(Channel.OBSERVATION, None)] = check_distribution(
                observation, f"program {name!r} observation kernel", normalize=normalize
            )
        self.conditioned = observation_given_action is not None
        if observation_given_action is not None:
            if not isinstance(observation_given_action, Mapping) or not observation_given_action:
                raise InvalidArgument(
                    f"program {name!r}: observation_given_action must map actions to rows"
                )
            for a, row in observation_given_action.items():
                rows[(Channel.OBSERVATION, a)] = check_distribution(
                    row, f"program {name!r} observation kernel given action {a!r}", normalize=normalize
                )
        self.rows = rows

    def key(self, history: Transcript, channel: Channel) -> Hashable:
        return self.key_at(history, len(history), channel)

    def key_at(self, history: Transcript, i: int, channel: Channel) -> Hashable:
        """The latest action before slot ``i`` (None before any); an action slot holding None is
        refused, since its row would be the one for "no action yet"."""
        if channel is Channel.OBSERVATION and self.conditioned:
            for j in range(i - 1, -1, -1):
                slot = history[j]
                if slot.channel is Channel.ACTION:
                    if slot.value is None:
                        raise _reserved(f"action slot {j + 1} (h[{j}]) holds None, read by the observation "
                                        f"kernel of program {self.name!r}", _NO_ACTION_YET)
                    return slot.value
        return None

    @property
    def history_free(self) -> bool:
        return not self.conditioned


class MarkovProgram(KeyedTable):
    """History-dependent tables: each channel's row is chosen by the previous slot's value.

    ``action[prev]`` and ``observation[prev]`` are rows; ``prev`` is ``None`` for the first slot,
    so None is refused as a symbol (a slot holding it would select the start row).
    """

    def __init__(
        self,
        name: str,
        action: Mapping[Hashable, Row] | None = None,
        observation: Mapping[Hashable, Row] | None = None,
        *,
        normalize: bool = False,
    ) -> None:
        self.name = _check_name(name)
        rows: dict[tuple[Channel, Hashable], dict[Hashable, Any]] = {}
        for channel, table in ((Channel.ACTION, action), (Channel.OBSERVATION, observation)):
            if table is None:
                continue
            if not isinstance(table, Mapping) or not table:
                raise InvalidArgument(
                    f"program {name!r}: the {channel.value} table must map previous values to rows"
                )
            for prev, row in table.items():
                where = f"program {name!r} {channel.value} row after {prev!r}"
                rows[(channel, prev)] = check_distribution(
                    _no_none_symbol(row, where, _THE_START), where, normalize=normalize
                )
        if not rows:
            raise InvalidArgument(f"program {name!r} needs at least one kernel")
        self.rows = rows

    def key(self, history: Transcript, channel: Channel) -> Hashable:
        return self.key_at(history, len(history), channel)

    def key_at(self, history: Transcript, i: int, channel: Channel) -> Hashable:
        """The previous slot's value (None for the first slot); a previous slot holding None is
        refused, since its row would be the start row."""
        if i == 0:
            return None
        if history[i - 1].value is None:
            raise _reserved(f"slot {i} (h[{i - 1}]) holds None, read by program {self.name!r} as the previous "
                            f"value", _THE_START)
        return history[i - 1].value


class HistoryProgram(Program):
    """Any history-dependent program: ``action(h)`` and ``observation(h)`` return rows.

    Every row returned is validated like a table row (non-negative, sums to one), on every call.
    """

    def __init__(
        self,
        name: str,
        action: Callable[[Transcript], Row] | None = None,
        observation: Callable[[Transcript], Row] | None = None,
        *,
        normalize: bool = False,
        kind: str | None = None,
    ) -> None:
        self.name = _check_name(name)
        for label, fn in (("action", action), ("observation", observation)):
            if fn is not None and not callable(fn):
                raise InvalidArgument(f"program {name!r}: {label} must be callable, got {fn!r}")
        if action is None and observation is None:
            raise InvalidArgument(f"program {name!r} needs at least one kernel")
        self._fns = {Channel.ACTION: action, Channel.OBSERVATION: observation}
        self.normalize = normalize
        self._kind = kind

    def distribution(self, history: Transcript, channel: Channel) -> dict[Hashable, Any]:
        channel = _channel(channel)
        fn = self._fns[channel]
        if fn is None:
            raise _no_kernel(self, channel)
        where = f"program {self.name!r} {channel.value} kernel after {len(history)} slots"
        row = fn(history)
        if channel is Channel.ACTION:  # as for table programs: an action None would read as "no action yet"
            _no_none_symbol(row, where, _NO_ACTION_YET)
        return check_distribution(
            row,
            where,
            normalize=self.normalize,
            kind=self._kind,
        )

    def has_kernel(self, channel: Channel | str) -> bool:
        """Was a kernel given for ``channel``? (A HistoryProgram may define only one.)"""
        return self._fns[_channel(channel)] is not None

    def convert(self, kind: str) -> "HistoryProgram":
        clone = HistoryProgram(self.name, self._fns[Channel.ACTION], self._fns[Channel.OBSERVATION],
                               normalize=self.normalize, kind=kind)
        return clone


class _Converted(Program):
    """A program seen through another arithmetic (used for user-defined Program subclasses)."""

    def __init__(self, inner: Program, kind: str) -> None:
        self.inner, self.kind, self.name = inner, kind, inner.name

    def distribution(self, history: Transcript, channel: Channel) -> dict[Hashable, Any]:
        return convert_row(self.inner.distribution(history, channel), self.kind)

    def prob(self, value: Hashable, history: Transcript, channel: Channel) -> Any:
        if self.inner.scores_itself:  # the wrapped program's own scoring, in this arithmetic
            return convert(parse_number(self.inner.prob(value, history, channel), f"program {self.name!r}'s prob"),
                           self.kind)
        return Program.prob(self, value, history, channel)

    @property
    def scores_itself(self) -> bool:
        return self.inner.scores_itself

    @property
    def history_free(self) -> bool:
        return self.inner.history_free

    def has_kernel(self, channel: Channel | str) -> bool:
        return self.inner.has_kernel(channel)

