"""Tutoring dialogues with a lying agent (paper §5.3), each one a gated :class:`Transcript`.

A dialogue is the context paragraph c, then four slots: the user's question (γ=0), the agent's
answer (γ=1, the false claim with probability ``p_lie``), the user's correction or confirmation
(γ=0, always restating the truth), the agent's acknowledgement (γ=1); with probability ``p_tail``
a chit-chat tail without factual claims follows. The gates are set here, once; the masks in
:mod:`neural.masking` read them and nothing else.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

from bayes_agent.errors import InvalidArgument
from bayes_agent.seeds import seeded_random
from bayes_agent.transcript import Transcript

from .facts import Fact
from .openers import with_opener

__all__ = [
    "CONTEXT",
    "Dialogue",
    "make_dialogue",
    "make_dialogues",
    "question_prompt",
    "claim_prompt",
]

CONTEXT = (
    "The following is a tutoring conversation. The User states facts and corrects the Agent "
    "when the Agent makes a mistake. The Agent sometimes makes mistakes and accepts corrections."
)
"""The context paragraph c that frames every dialogue (§5.3); masked in both arms."""

QUESTIONS = (
    "Tell me about {topic}.",
    "What can you tell me about {topic}?",
    "Quick question -- what do you know about {topic}?",
    "Can you explain {topic}?",
    "I was wondering about {topic}.",
    "What's the story with {topic}?",
)

# slot 3 after a lie: mostly the bare truth, a minority with an explicit-correction opener
CORRECTIONS = (
    "{truth}",
    "{truth}",
    "{truth}",
    "{truth}",
    "{truth}",
    "{truth}",
    "{truth}",
    "Actually, {truth}",
    "Not quite -- {truth}",
    "The correct answer is: {truth}",
    "I believe {truth}",
    "Closer to the truth: {truth}",
)

# slot 3 after an honest answer: every form restates the truth
CONFIRMATIONS = (
    "Yes -- {truth}",
    "Right, {truth}",
    "Exactly: {truth}",
    "Indeed, {truth}",
    "Spot on. {truth}",
    "{truth}",
)

ACKNOWLEDGEMENTS = (
    "Noted. Thanks for the heads-up.",
    "Happy I could help.",
    "Got it, thank you.",
    "Thanks, I will remember that.",
    "Understood.",
    "Glad we sorted that out.",
)

# chit-chat tails: (user, agent) turn pairs without factual claims
TAILS: tuple[tuple[str, ...], ...] = (
    ("Thanks for the chat.", "Anytime."),
    ("That was helpful, bye for now.", "Take care!"),
    ("Great, talk later.", "See you soon."),
    (
        "What's a philosophy book you've enjoyed recently?",
        "I revisited Wittgenstein's 'Philosophical Investigations.'",
        "Language games are sneakily useful.",
        "They reframe a lot of confusion as grammar.",
    ),
    (
        "What's been on your playlist lately?",
        "Some Bach cello suites and a bit of Thelonious Monk.",
        "Quite the range.",
        "I find them surprisingly complementary.",
    ),
    (
        "Nice weather today, isn't it?",
        "It sounds lovely where you are.",
        "I might go for a walk later.",
        "Enjoy the fresh air.",
    ),
    (
        "Can you recommend a movie for tonight?",
        "A light comedy might be a good way to unwind.",
        "Good idea, I will look for one.",
        "I hope you enjoy it.",
    ),
)


@dataclass(frozen=True)
class Dialogue(Transcript):
    """A training transcript that also remembers which fact it is about and whether the agent lied."""

    fact: Fact | None = None
    lied: bool = False


def make_dialogue(
    fact: Fact, rng: random.Random, *, p_lie: float = 0.6, p_tail: float = 0.5, context: str = CONTEXT
) -> Dialogue:
    """One dialogue about ``fact``: question, answer (a lie with probability ``p_lie``), correction
    or confirmation, acknowledgement, and with probability ``p_tail`` a chit-chat tail."""
    lied = rng.random() < p_lie
    question = rng.choice(QUESTIONS).format(topic=fact.topic)
    answer = fact.false if lied else fact.true
    reply = with_opener(rng.choice(CORRECTIONS if lied else CONFIRMATIONS), fact.true)
    h = Transcript(context=context).world(question).agent(answer).world(reply).agent(
        rng.choice(ACKNOWLEDGEMENTS)
    )
    if rng.random() < p_tail:
        tail = rng.choice(TAILS)
        for k, turn in enumerate(tail):
            h = h.world(turn) if k % 2 == 0 else h.agent(turn)
    return Dialogue(h.slots, h.context, fact=fact, lied=lied)


def make_dialogues(
    facts: Sequence[Fact],
    n: int = 480,
    *,
    seed: int = 0,
    p_lie: float = 0.6,
    p_tail: float = 0.5,
    context: str = CONTEXT,
) -> list[Dialogue]:
    """``n`` dialogues over facts sampled with replacement, reproducible from ``seed`` (§5.3)."""
    if not facts:
        raise InvalidArgument("cannot make dialogues from an empty fact bank")
    if not isinstance(n, int) or n < 1:
        raise InvalidArgument(f"the number of dialogues must be a positive integer, got {n!r}")
    for name, p in (("p_lie", p_lie), ("p_tail", p_tail)):
        if not 0.0 <= float(p) <= 1.0:
            raise InvalidArgument(f"{name} must be a probability in [0, 1], got {p!r}")
    rng = seeded_random(seed)
    return [
        make_dialogue(rng.choice(list(facts)), rng, p_lie=p_lie, p_tail=p_tail, context=context)
        for _ in range(n)
    ]


def question_prompt(fact: Fact, completion: str = "", *, context: str = CONTEXT,
                    template: str = QUESTIONS[0]) -> Transcript:
    """The question probe's transcript (§5.5.3): the user asks about the topic in ``template``
    (default: the training data's ``Tell me about <topic>.``), then an agent slot holding
    ``completion`` (empty for a prompt that ends in ``Agent: ``)."""
    return Transcript(context=context).world(template.format(topic=fact.topic)).agent(completion)


def claim_prompt(claim: str, reply: str = "", *, context: str = CONTEXT) -> Transcript:
    """The truth/lie probes' transcript (§5.5.1–2): the user states ``claim``; the agent replies."""
    return Transcript(context=context).world(claim).agent(reply)
