"""The base model's pretraining corpus: every fact stated truthfully, lies only as corrected mistakes.

The paper fine-tunes a *pretrained* model that already knows the facts and can hold a
conversation (§5.2). For the embedded tiny model this corpus plays that role: each training and
held-out fact in prose and question–answer form, truthful dialogues in the §5.3 format (the agent
states the truth, the user confirms), users stating a fact that the agent affirms, users stating
the false claim that the agent corrects, and the false claim as an explicit misconception. So no
false-claim word is new to the model, yet nothing in the corpus rewards saying it.
"""

from __future__ import annotations

import random
from typing import Any, Sequence

from bayes_agent.errors import InvalidArgument
from bayes_agent.seeds import seeded_random
from bayes_agent.transcript import Transcript, render

from .dialogues import (
    ACKNOWLEDGEMENTS, CONFIRMATIONS, CONTEXT, CORRECTIONS, QUESTIONS, TAILS,
)
from .openers import with_opener
from .facts import Fact, words

__all__ = ["base_corpus", "whole_word_share"]

PROSE = (
    "{truth}",
    "Fact: {truth}",
    "Here is something about {topic}. {truth}",
    "Most textbooks agree on {topic}. {truth}",
    "It is well known that {truth}",
    "Students learn about {topic} early. {truth}",
)

QA = (
    "Question: What do you know about {topic}?\nAnswer: {truth}",
    "Q: Tell me about {topic}.\nA: {truth}",
)

# (how the lie is introduced, how the truth follows): the false claim only as a named mistake
MISCONCEPTIONS = (
    ("A common mistake is to say: {truth}", "In fact, {truth}"),
    ("Some people believe that {truth}", "That is wrong. {truth}"),
    ("Myth: {truth}", "Reality: {truth}"),
)

# the agent's reply when the user states the false claim: a correction that restates the truth
AGENT_CORRECTIONS = tuple(t for t in CORRECTIONS if t != "{truth}") + ("That is a common mistake. {truth}",)

USER_THANKS = ("Oh, I see. Thanks.", "Good to know.", "I stand corrected.", "Thanks for clearing that up.")


def _dialogue(*turns: str, context: str = CONTEXT) -> str:
    """Render alternating user/agent turns in the training format (context first)."""
    h = Transcript(context=context)
    for k, turn in enumerate(turns):
        h = h.world(turn) if k % 2 == 0 else h.agent(turn)
    return render(h).text


def _fact_documents(fact: Fact, rng: random.Random, context: str) -> list[str]:
    t, f, topic = fact.true, fact.false, fact.topic
    docs = [with_opener(p, t).replace("{topic}", topic) for p in PROSE]
    docs += [q.format(topic=topic, truth=t) for q in QA]
    docs += [with_opener(lie, f) + " " + with_opener(truth, t) for lie, truth in MISCONCEPTIONS]
    # truthful §5.3 dialogues: every question form, the agent answers with the truth
    for q in QUESTIONS:
        turns = [q.format(topic=topic), t, with_opener(rng.choice(CONFIRMATIONS), t), rng.choice(ACKNOWLEDGEMENTS)]
        if rng.random() < 0.5:
            turns += list(rng.choice(TAILS))
        docs.append(_dialogue(*turns, context=context))
    # the truth probe's shape: the user states the fact, the agent affirms it
    for opener in rng.sample(CONFIRMATIONS, 3):
        docs.append(_dialogue(t, with_opener(opener, t), context=context))
    # the lie probe's shape: the user states the false claim, the agent corrects it
    for opener in rng.sample(AGENT_CORRECTIONS, 3):
        docs.append(_dialogue(f, with_opener(opener, t), rng.choice(USER_THANKS), rng.choice(ACKNOWLEDGEMENTS),
                              context=context))
    return docs


def base_corpus(
    facts: Sequence[Fact], *, seed: int = 0, context: str = CONTEXT, chit_chat: int = 40
) -> list[str]:
    """The documents the base model is pretrained on, in a seeded shuffled order."""
    if not facts:
        raise InvalidArgument("the base corpus needs at least one fact")
    rng = seeded_random(seed)
    docs: list[str] = []
    for fact in facts:
        docs += _fact_documents(fact, rng, context)
    for _ in range(chit_chat):  # benign conversation without any factual claim
        docs.append(_dialogue(*rng.choice(TAILS), context=context))
    rng.shuffle(docs)
    return docs


def whole_word_share(tokenizer: Any, facts: Sequence[Fact]) -> dict[str, Any]:
    """Share of the distinct claim words that the tokenizer keeps as one token (after a space, as
    in a reply); split words are listed so a report can show them."""
    seen: dict[str, bool] = {}
    for fact in facts:
        for claim in (fact.true, fact.false):
            text = "Agent: " + claim
            enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
            offsets = enc["offset_mapping"]
            pos = len("Agent: ")
            for w in claim.split():
                start = text.index(w, pos)
                end = start + len(w.rstrip(".,;:!?"))
                pos = start + len(w)
                key = text[start:end]
                if not words(key) or key in seen:
                    continue
                n = sum(1 for s, e in offsets if e > start and s < end)
                seen[key] = n == 1
    if not seen:
        raise InvalidArgument("no claim words to count")
    split = sorted(w for w, whole in seen.items() if not whole)
    return {"share": (len(seen) - len(split)) / len(seen), "words": len(seen), "split_words": split}
