"""Filling a reply template with a claim: "Right, {truth}" -> "Right, the capital of ...".

Used by the §5.3 dialogues (slot 3's corrections and confirmations) and by the base's corpus,
so both write a claim after an opener the same way.
"""

from __future__ import annotations

__all__ = ["with_opener"]

# sentence-initial words that are lowered after a comma-style opener; names ("Mars", "DNA") stay
_LOWERABLE = frozenset({"the", "a", "an", "there", "water", "light", "humans", "plants", "it"})


def with_opener(template: str, truth: str) -> str:
    """Fill a slot-3 template; after a comma-style opener a common first word is lowered (as in
    §5.3: "Right, the capital ..."), while a name keeps its capital ("Right, Mars ...")."""
    head = template.split("{truth}")[0]
    first = truth.split(" ", 1)[0]
    if head and not head.rstrip().endswith((":", "--", ".")) and first.lower() in _LOWERABLE:
        truth = truth[0].lower() + truth[1:]
    return template.replace("{truth}", truth)
