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
from typing import Any, NamedTuple, Sequence

from bayes_agent.errors import InvalidArgument
from bayes_agent.transcript import Gate, Mode, Part, Rendering, Span, Transcript, render

__all__ = [
    "IGNORE_INDEX",
    "LabelMode",
    "MaskAccounting",
    "MaskedExample",
    "Origin",
    "labels_from_offsets",
    "labels_from_origins",
    "mask_rendering",
    "mask_transcript",
    "supervised",
    "token_origins",
    "trains_nothing",
]

IGNORE_INDEX = -100
"""The label the Hugging Face loss ignores: the ecosystem's contract for "no gradient here"."""


def trains_nothing(labels: Sequence[int]) -> bool:
    """True when no label after the first is supervised: a causal LM never predicts token 0 (the
    loss shifts labels by one), so such an example adds nothing to a token-mean loss."""
    tail = labels[1:]
    if hasattr(tail, "__array__"):  # a numpy array or tensor: one comparison, not one per token
        return bool((tail == IGNORE_INDEX).all())
    return all(x == IGNORE_INDEX for x in tail)


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


class Origin(NamedTuple):
    """Who wrote some characters of a token: their part and, for content, the slot's gate.

    A token carries the distinct origins of the characters it covers, in text order (two when
    it straddles a boundary, none when it covers no character: a special token the tokenizer
    inserted). Labels and accounting are decided from these, never from a display string.
    """

    part: Part
    gate: Gate | None = None

    def label(self) -> str:
        """A display name: ``context``, ``protocol``, ``agent`` or ``world``."""
        if self.part is not Part.CONTENT:
            return self.part.value
        return "agent" if self.gate is Gate.AGENT else "world"


def _display(origins: Sequence[Origin]) -> str:
    if not origins:
        return "special"
    names = list(dict.fromkeys(o.label() for o in origins))
    return names[0] if len(names) == 1 else "mixed:" + "+".join(names)


@dataclass(frozen=True)
class MaskedExample:
    """One tokenized transcript with the labels of every arm and each token's origins.

    ``origins[t]`` is token ``t``'s typed provenance (see :class:`Origin`); :attr:`roles` is a
    display of it ("agent", "mixed:protocol+agent", "special", ...), for tables only.
    """

    input_ids: list[int]
    labels: dict[LabelMode, list[int]]
    origins: list[tuple[Origin, ...]]
    offsets: list[tuple[int, int]]
    text: str
    truncated_tokens: int = 0
    accounting: MaskAccounting = field(init=False)

    def __post_init__(self) -> None:
        obs = self.labels[LabelMode.OBSERVATIONAL]
        do = self.labels[LabelMode.INTERVENTIONAL]
        n_obs = sum(1 for x in obs if x != IGNORE_INDEX)
        n_do = sum(1 for x in do if x != IGNORE_INDEX)
        agent_content = Origin(Part.CONTENT, Gate.AGENT)
        agent = sum(1 for o in self.origins if agent_content in o)
        object.__setattr__(
            self,
            "accounting",
            MaskAccounting(len(self.input_ids), n_obs, n_do, agent, self.truncated_tokens),
        )

    @property
    def roles(self) -> list[str]:
        """Per token, a display of its origins: "context", "protocol", "agent", "world",
        "mixed:<a>+<b>" or "special" (for reading; decisions use :attr:`origins`)."""
        return [_display(o) for o in self.origins]

    @property
    def labels_obs(self) -> list[int]:
        return self.labels[LabelMode.OBSERVATIONAL]

    @property
    def labels_do(self) -> list[int]:
        return self.labels[LabelMode.INTERVENTIONAL]


def token_origins(rendering: Rendering, offsets: Sequence[tuple[int, int]]) -> list[tuple[Origin, ...]]:
    """Each token's distinct origins, in text order, from one tokenization's offset mapping.

    A token touching a character no span covers gets no origin (it is treated as special).
    """
    n = len(rendering.text)
    owner: list[Origin | None] = [None] * n  # rendering spans tile the text
    for sp in rendering.spans:
        origin = Origin(sp.part, sp.gate if sp.part is Part.CONTENT else None)
        for c in range(sp.start, sp.end):
            owner[c] = origin
    out: list[tuple[Origin, ...]] = []
    for t, (start, end) in enumerate(offsets):
        if not (0 <= start <= end <= n):
            raise InvalidArgument(
                f"token {t} has offsets ({start}, {end}) outside the rendered text (length {n})"
            )
        chars = owner[start:end]
        out.append(() if not chars or None in chars else tuple(dict.fromkeys(chars)))  # type: ignore[arg-type]
    return out


def labels_from_origins(
    input_ids: Sequence[int],
    origins: Sequence[tuple[Origin, ...]],
    modes: Sequence[LabelMode | str] = tuple(LabelMode),
) -> dict[LabelMode, list[int]]:
    """Labels for each mode: a token is supervised when every origin it carries is (:func:`supervised`)."""
    modes = [LabelMode.of(m) for m in modes]
    labels = {m: [IGNORE_INDEX] * len(input_ids) for m in modes}
    for t, (tok, own) in enumerate(zip(input_ids, origins)):
        for m in modes:
            if own and all(supervised(o.part, o.gate, m) for o in own):
                labels[m][t] = int(tok)
    return labels


def labels_from_offsets(
    rendering: Rendering,
    input_ids: Sequence[int],
    offsets: Sequence[tuple[int, int]],
    modes: Sequence[LabelMode | str] = tuple(LabelMode),
) -> tuple[dict[LabelMode, list[int]], list[str]]:
    """Labels for each mode and a display role per token, from one tokenization's offset mapping
    (kept for callers of the earlier API; :func:`token_origins` gives the typed origins)."""
    if len(input_ids) != len(offsets):
        raise InvalidArgument(
            f"input_ids and offsets differ in length ({len(input_ids)} vs {len(offsets)})"
        )
    origins = token_origins(rendering, offsets)
    return labels_from_origins(input_ids, origins, modes), [_display(o) for o in origins]


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
    origins = token_origins(rendering, offsets)
    labels = labels_from_origins(ids, origins)
    dropped = 0
    if max_length is not None:
        if max_length < 1:
            raise InvalidArgument(f"max_length must be positive, got {max_length}")
        dropped = max(0, len(ids) - max_length)
        ids, offsets, origins = ids[:max_length], offsets[:max_length], origins[:max_length]
        labels = {m: v[:max_length] for m, v in labels.items()}
    return MaskedExample(ids, labels, origins, offsets, rendering.text, dropped)


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
