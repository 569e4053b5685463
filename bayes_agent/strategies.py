"""Hypothesis strategies for mixtures and gated transcripts, for your own property tests.

This module imports ``hypothesis`` (a test-time dependency); ``import bayes_agent`` does not.

```python
>>> from hypothesis import given
>>> from bayes_agent.strategies import engine_cases
>>> @given(engine_cases())
... def test_agent_slot_is_inert(case):
...     mixture, h = case
...     assert mixture.posterior(h.agent("A")) == mixture.posterior(h)
>>> test_agent_slot_is_inert()

```

Generated probabilities are exact fractions with small denominators (zeros included unless
``allow_zero=False``), so exact answers stay cheap and every arithmetic sees the same numbers.
``engine_cases()`` only generates histories the mixture gives positive probability, so the
test above runs as shown; ``allow_impossible=True`` adds the zero-probability ones.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Hashable, Sequence

from hypothesis import strategies as st

from ._numbers import EXACT, FLOAT, SYMBOLIC
from .alphabets import ACTIONS, OBSERVATIONS
from .errors import InvalidArgument
from .mixture import Mixture
from .programs import MarkovProgram, TableProgram
from .transcript import Channel, Gate, Transcript

__all__ = [
    "ACTIONS",
    "OBSERVATIONS",
    "engine_cases",
    "gated_transcripts",
    "markov_programs",
    "mixtures",
    "possible_transcripts",
    "probability_rows",
    "table_programs",
]

# ACTIONS, OBSERVATIONS: the default alphabets, defined in bayes_agent.alphabets (no hypothesis there)


@st.composite
def probability_rows(
    draw: Any, symbols: Sequence[Hashable], *, allow_zero: bool = True, max_weight: int = 6
) -> dict[Hashable, Fraction]:
    """A distribution over ``symbols``: small integer weights divided by their (positive) sum."""
    lo = 0 if allow_zero else 1
    weights = draw(
        st.lists(st.integers(lo, max_weight), min_size=len(symbols), max_size=len(symbols))
        .filter(lambda ws: sum(ws) > 0)
    )
    total = sum(weights)
    return {s: Fraction(w, total) for s, w in zip(symbols, weights)}


@st.composite
def table_programs(
    draw: Any,
    name: str,
    actions: Sequence[Hashable] = ACTIONS,
    observations: Sequence[Hashable] = OBSERVATIONS,
    *,
    conditioned: bool | None = None,
    allow_zero: bool = True,
    action_subset: bool = False,
) -> TableProgram:
    """A :class:`TableProgram`; ``conditioned`` (drawn when None) makes the world kernel depend
    on the latest action (with a row for "no action yet", key ``None``). ``action_subset`` draws
    the action kernel over a non-empty part of ``actions`` (the world kernel keeps a row for each)."""
    if conditioned is None:
        conditioned = draw(st.booleans())
    rows = lambda syms: probability_rows(syms, allow_zero=allow_zero)  # noqa: E731
    written = draw(st.lists(st.sampled_from(list(actions)), min_size=1, unique=True)) if action_subset else actions
    action = draw(rows(written))
    if conditioned:
        given = {a: draw(rows(observations)) for a in (None, *actions)}
        return TableProgram(name, action=action, observation_given_action=given)
    return TableProgram(name, action=action, observation=draw(rows(observations)))


@st.composite
def markov_programs(
    draw: Any,
    name: str,
    actions: Sequence[Hashable] = ACTIONS,
    observations: Sequence[Hashable] = OBSERVATIONS,
    *,
    allow_zero: bool = True,
) -> MarkovProgram:
    """A history-dependent :class:`MarkovProgram` with a row for every possible previous value."""
    prevs = (None, *actions, *observations)
    rows = lambda syms: probability_rows(syms, allow_zero=allow_zero)  # noqa: E731
    return MarkovProgram(
        name,
        action={p: draw(rows(actions)) for p in prevs},
        observation={p: draw(rows(observations)) for p in prevs},
    )


@st.composite
def mixtures(
    draw: Any,
    arithmetic: str = EXACT,
    *,
    min_programs: int = 1,
    max_programs: int = 3,
    actions: Sequence[Hashable] = ACTIONS,
    observations: Sequence[Hashable] = OBSERVATIONS,
    kinds: Sequence[str] = ("table", "conditioned", "markov"),
    allow_zero: bool = True,
    shared_alphabet: bool = True,
) -> Mixture:
    """A :class:`Mixture` in ``arithmetic`` ("exact", "symbolic" or "float").

    ``kinds`` picks the program families: "table" (history-free), "conditioned" (world kernel
    given the latest action) and "markov" (rows chosen by the previous slot).
    ``shared_alphabet=False`` lets each table program write only part of ``actions``, so the
    programs' action alphabets differ (a program gives a symbol it lacks probability 0).
    """
    n = draw(st.integers(min_programs, max_programs))
    programs = []
    for i in range(n):
        kind = draw(st.sampled_from(list(kinds)))
        name = f"p{i}"
        if kind == "markov":
            programs.append(draw(markov_programs(name, actions, observations, allow_zero=allow_zero)))
        else:
            programs.append(draw(table_programs(name, actions, observations, conditioned=(kind == "conditioned"),
                                                allow_zero=allow_zero, action_subset=not shared_alphabet)))
    prior = draw(probability_rows([p.name for p in programs], allow_zero=allow_zero))
    if arithmetic not in (EXACT, SYMBOLIC, FLOAT):
        raise InvalidArgument(f"arithmetic must be exact, symbolic or float, got {arithmetic!r}")
    return Mixture(programs, prior, arithmetic=arithmetic)


@st.composite
def gated_transcripts(
    draw: Any,
    actions: Sequence[Hashable] = ACTIONS,
    observations: Sequence[Hashable] = OBSERVATIONS,
    *,
    min_slots: int = 0,
    max_slots: int = 8,
    demonstrations: bool = True,
    context: Any = "c",
) -> Transcript:
    """A :class:`Transcript` with random gates: agent slots carry actions; world slots carry
    observations or (when ``demonstrations``) world-written actions, i.e. teacher demonstrations."""
    n = draw(st.integers(min_slots, max_slots))
    h = Transcript(context=context)
    for _ in range(n):
        gate = draw(st.sampled_from([Gate.AGENT, Gate.WORLD]))
        if gate is Gate.AGENT:
            h = h.agent(draw(st.sampled_from(list(actions))))
        elif demonstrations and draw(st.integers(0, 3)) == 0:
            h = h.world(draw(st.sampled_from(list(actions))), channel=Channel.ACTION)
        else:
            h = h.world(draw(st.sampled_from(list(observations))))
    return h


@st.composite
def possible_transcripts(
    draw: Any,
    mixture: Mixture,
    *,
    min_slots: int = 0,
    max_slots: int = 8,
    demonstrations: bool = True,
    context: Any = "c",
) -> Transcript:
    """A gated transcript that ``mixture`` gives positive probability under both likelihoods.

    One program with positive prior weight writes it: every slot's value is drawn from the
    support of that program's kernel at that point, so L_obs (and hence L_do) of that program
    is positive and no posterior of the transcript is 0/0.
    """
    writers = [p for p in mixture.programs if mixture.prior[p.name] != 0]
    writer = draw(st.sampled_from(writers))
    n = draw(st.integers(min_slots, max_slots))
    h = Transcript(context=context)
    for _ in range(n):
        gate = draw(st.sampled_from([Gate.AGENT, Gate.WORLD]))
        channel = Channel.ACTION if gate is Gate.AGENT else Channel.OBSERVATION
        if gate is Gate.WORLD and demonstrations and draw(st.integers(0, 3)) == 0:
            channel = Channel.ACTION  # a teacher's demonstration
        row = writer.distribution(h, channel)
        value = draw(st.sampled_from([s for s, q in row.items() if q != 0]))
        h = h.append(value, gate, channel=channel)
    return h


def engine_cases(
    arithmetic: str = EXACT, *, max_slots: int = 8, allow_impossible: bool = False, **mixture_options: Any
) -> Any:
    """Pairs ``(mixture, transcript)`` over the same alphabets, ready for the engine.

    By default every transcript is possible (a program with prior weight could have written it,
    see :func:`possible_transcripts`), so a posterior never raises ``ZeroEvidence``; kernels and
    priors still contain zeros. ``allow_impossible=True`` draws the transcript independently of
    the mixture, zero-probability histories included, for tests of the error path.
    """
    actions = mixture_options.get("actions", ACTIONS)
    observations = mixture_options.get("observations", OBSERVATIONS)
    if allow_impossible:
        return st.tuples(
            mixtures(arithmetic, **mixture_options),
            gated_transcripts(actions, observations, max_slots=max_slots),
        )
    return mixtures(arithmetic, **mixture_options).flatmap(
        lambda m: st.tuples(st.just(m), possible_transcripts(m, max_slots=max_slots))
    )
