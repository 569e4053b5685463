"""Label masks from gates: the neural regime's intervention rule (paper §5.1, Eq. 3–4).

The rule lives in :func:`supervised` and nowhere else. A transcript is rendered once to a string
with character spans (``bayes_agent.transcript.render`` or a chat template), tokenized once with
an offset mapping, and each token's label is decided from the characters it covers:

* context characters are never supervised (the world framed the dialogue; neither arm predicts it);
* protocol characters (role prefixes such as ``"User: "``, separators, end-of-turn markers) are
  supervised in both arms;
* content characters are supervised in the observational arm; in the interventional arm only
  when the world wrote them (γ = 0).

Boundary rule: a token is supervised in an arm only if *every* character it covers is supervised
in that arm, so a BPE token straddling ``"Agent: "`` and the agent's words is masked in the
interventional arm (it carries agent-written characters) and supervised in the observational
arm. A token that covers no characters (a special token the tokenizer inserted) is masked in
every arm, because nothing says who wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Sequence

from bayes_agent.errors import InvalidArgument
from bayes_agent.transcript import Gate, Mode, Part, Rendering, Span, Transcript, render

__all__ = [
    "IGNORE_INDEX",
    "LabelMode",
    "MaskAccounting",
    "MaskedExample",
    "labels_from_offsets",
    "mask_rendering",
    "mask_transcript",
    "supervised",
    "trains_nothing",
]

IGNORE_INDEX = -100
"""The label the Hugging Face loss ignores: the ecosystem's contract for "no gradient here"."""


def trains_nothing(labels: Sequence[int]) -> bool:
    """True when no label after the first is supervised: a causal LM never predicts token 0 (the
    loss shifts labels by one), so such an example adds nothing to a token-mean loss."""
    return all(x == IGNORE_INDEX for x in labels[1:])


class LabelMode(str, Enum):
    """Which tokens a loss supervises: Eq. 3 (observational), Eq. 4 (interventional), or the
    common assistant-only practice (agent content only), kept for comparison."""

    OBSERVATIONAL = "observational"
    INTERVENTIONAL = "interventional"
    ASSISTANT_ONLY = "assistant_only"

    @classmethod
    def of(cls, value: Any) -> "LabelMode":
        if isinstance(value, LabelMode):
            return value
        key = str(value.value if isinstance(value, Mode) else value).strip().lower()
        aliases = {
            "obs": cls.OBSERVATIONAL,
            "observational": cls.OBSERVATIONAL,
            "standard": cls.OBSERVATIONAL,
            "do": cls.INTERVENTIONAL,
            "interventional": cls.INTERVENTIONAL,
            "assistant_only": cls.ASSISTANT_ONLY,
            "assistant-only": cls.ASSISTANT_ONLY,
        }
        if key not in aliases:
            raise InvalidArgument(
                f"label mode must be 'observational', 'interventional' or 'assistant_only', got {value!r}"
            )
        return aliases[key]


def supervised(part: Part, gate: Gate | None, mode: LabelMode | str) -> bool:
    """Whether characters of this part, written under this gate, are supervised in ``mode``.

    This is the whole interventional-SFT rule: agent-written content gets no gradient (Eq. 4).
    """
    mode = LabelMode.of(mode)
    if part is Part.CONTEXT:
        return False
    if mode is LabelMode.ASSISTANT_ONLY:
        return part is Part.CONTENT and gate is Gate.AGENT
    if part is Part.PROTOCOL:
        return True
    if mode is LabelMode.OBSERVATIONAL:
        return True
    return gate is Gate.WORLD


@dataclass(frozen=True)
class MaskAccounting:
    """Token counts for one example or a whole data set (the paper's §5.3 sanity check)."""

    tokens: int
    supervised_obs: int
    supervised_do: int
    agent_content_tokens: int
    truncated_tokens: int = 0

    def __add__(self, other: "MaskAccounting") -> "MaskAccounting":
        return MaskAccounting(
            self.tokens + other.tokens,
            self.supervised_obs + other.supervised_obs,
            self.supervised_do + other.supervised_do,
            self.agent_content_tokens + other.agent_content_tokens,
            self.truncated_tokens + other.truncated_tokens,
        )


@dataclass(frozen=True)
class MaskedExample:
    """One tokenized transcript with the labels of every arm and each token's role."""

    input_ids: list[int]
    labels: dict[LabelMode, list[int]]
    roles: list[str]  # per token: "context", "protocol", "agent", "world", "mixed:<a>+<b>", "special"
    offsets: list[tuple[int, int]]
    text: str
    truncated_tokens: int = 0
    accounting: MaskAccounting = field(init=False)

    def __post_init__(self) -> None:
        obs = self.labels[LabelMode.OBSERVATIONAL]
        do = self.labels[LabelMode.INTERVENTIONAL]
        n_obs = sum(1 for x in obs if x != IGNORE_INDEX)
        n_do = sum(1 for x in do if x != IGNORE_INDEX)
        agent = sum(1 for r in self.roles if r == "agent" or r.startswith("mixed") and "agent" in r)
        object.__setattr__(
            self,
            "accounting",
            MaskAccounting(len(self.input_ids), n_obs, n_do, agent, self.truncated_tokens),
        )

    @property
    def labels_obs(self) -> list[int]:
        return self.labels[LabelMode.OBSERVATIONAL]

    @property
    def labels_do(self) -> list[int]:
        return self.labels[LabelMode.INTERVENTIONAL]


def _role_of(span: Span) -> str:
    if span.part is Part.CONTEXT:
        return "context"
    if span.part is Part.PROTOCOL:
        return "protocol"
    return "agent" if span.gate is Gate.AGENT else "world"


def labels_from_offsets(
    rendering: Rendering,
    input_ids: Sequence[int],
    offsets: Sequence[tuple[int, int]],
    modes: Sequence[LabelMode | str] = tuple(LabelMode),
) -> tuple[dict[LabelMode, list[int]], list[str]]:
    """Labels for each mode and a role per token, from one tokenization's offset mapping."""
    if len(input_ids) != len(offsets):
        raise InvalidArgument(
            f"input_ids and offsets differ in length ({len(input_ids)} vs {len(offsets)})"
        )
    modes = [LabelMode.of(m) for m in modes]
    n = len(rendering.text)
    # one span index per character; rendering spans tile the text
    owner: list[Span | None] = [None] * n
    for sp in rendering.spans:
        for c in range(sp.start, sp.end):
            owner[c] = sp
    labels = {m: [IGNORE_INDEX] * len(input_ids) for m in modes}
    roles: list[str] = []
    for t, ((start, end), tok) in enumerate(zip(offsets, input_ids)):
        if not (0 <= start <= end <= n):
            raise InvalidArgument(
                f"token {t} has offsets ({start}, {end}) outside the rendered text (length {n})"
            )
        spans = [owner[c] for c in range(start, end)]
        if not spans or any(s is None for s in spans):
            roles.append("special")
            continue
        distinct = list(dict.fromkeys(_role_of(s) for s in spans))  # type: ignore[arg-type]
        roles.append(distinct[0] if len(distinct) == 1 else "mixed:" + "+".join(distinct))
        for m in modes:
            if all(supervised(s.part, s.gate, m) for s in spans):  # type: ignore[union-attr]
                labels[m][t] = int(tok)
    return labels, roles


def _encode(tokenizer: Any, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    try:
        enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    except NotImplementedError:
        raise InvalidArgument(
            "the tokenizer cannot return an offset mapping; use a fast (Rust) tokenizer"
        ) from None
    return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]


def mask_rendering(
    rendering: Rendering, tokenizer: Any, *, max_length: int | None = None
) -> MaskedExample:
    """Tokenize a rendering once and label every token for every mode.

    When ``max_length`` is given the token sequence is cut at the end; labels are cut with it, so
    alignment is kept, and the number of dropped tokens is recorded on the example.
    """
    if not rendering.text:
        raise InvalidArgument("cannot mask an empty rendering (the transcript has no text)")
    ids, offsets = _encode(tokenizer, rendering.text)
    labels, roles = labels_from_offsets(rendering, ids, offsets)
    dropped = 0
    if max_length is not None:
        if max_length < 1:
            raise InvalidArgument(f"max_length must be positive, got {max_length}")
        dropped = max(0, len(ids) - max_length)
        ids, offsets, roles = ids[:max_length], offsets[:max_length], roles[:max_length]
        labels = {m: v[:max_length] for m, v in labels.items()}
    return MaskedExample(ids, labels, roles, offsets, rendering.text, dropped)


def mask_transcript(
    transcript: Transcript,
    tokenizer: Any,
    *,
    max_length: int | None = None,
    end: str = "",
    **render_options: Any,
) -> MaskedExample:
    """Render a transcript (``User:``/``Agent:`` format), tokenize once, label every token."""
    if len(transcript) == 0:
        raise InvalidArgument("cannot mask an empty dialogue (the transcript has no slots)")
    return mask_rendering(render(transcript, end=end, **render_options), tokenizer, max_length=max_length)
