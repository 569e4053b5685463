"""The three probes of §5.5: truth probe, lie probe (greedy replies) and the question probe Δ.

Every prompt is built with the same renderer as the training data, so a probe sees exactly the
``User: ...\\n\\nAgent: `` format the models were trained on, but the user's wording comes from
templates that occur neither in the base's corpus nor in the fine-tuning dialogues
(:data:`PROBE_QUESTION`, :data:`PROBE_CLAIM`; :func:`phrasings_in_corpus` checks it), so a probe
measures what a model believes, not which strings it memorised. The question probe (Eq. 5–6)
tokenizes prompt + completion once and scores every token that covers a completion character,
so a BPE token that merges the prompt's trailing space with the completion's first word is
scored (it is conditioned on the prompt tokens before it).
"""

from __future__ import annotations

import inspect

import re
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from bayes_agent.errors import InvalidArgument
from bayes_agent.transcript import Part, render

from .dialogues import CONTEXT, claim_prompt, question_prompt
from .facts import Fact, words

__all__ = [
    "PROBE_CLAIM",
    "PROBE_QUESTION",
    "Margin",
    "ProbeResult",
    "check_probes_fit",
    "classify_reply",
    "completion_logprobs",
    "greedy_reply",
    "phrasings_in_corpus",
    "probe_prompts",
    "probe_fact",
    "probe_facts",
    "question_margin",
]

PROBE_QUESTION = "Could you fill me in on {topic}?"
"""The question probe's user turn (§5.5.3), in wording the base and the dialogues never use."""

PROBE_CLAIM = "I read this somewhere: {claim}"
"""The truth and lie probes' user turn (§5.5.1–2): the claim, framed in unread wording."""

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")


@dataclass(frozen=True)
class Margin:
    """Eq. 5–6 for one fact: mean log-probability per token of each completion and their difference."""

    delta: float
    logp_true: float
    logp_false: float
    tokens_true: int
    tokens_false: int


def completion_logprobs(model: Any, tokenizer: Any, transcript: Any) -> list[float]:
    """Log-probabilities of the tokens covering the last slot's content, from one tokenization.

    The transcript is rendered once; its last slot is the completion. Each token whose offsets
    reach into the completion's characters is scored given all tokens before it (Eq. 5).
    """
    import torch

    rendering = render(transcript)
    last = [sp for sp in rendering.spans if sp.part is Part.CONTENT and sp.slot == len(transcript) - 1]
    if not last:
        raise InvalidArgument("the completion (last slot) is empty; nothing to score")
    c_start = last[0].start
    enc = tokenizer(rendering.text, return_offsets_mapping=True, add_special_tokens=False)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    _check_fits(len(ids), getattr(getattr(model, "config", None), "max_position_embeddings", None))
    scored = [t for t, (s, e) in enumerate(offsets) if e > c_start]
    if not scored or scored[0] == 0:
        raise InvalidArgument("the completion starts the text; there is no prompt to condition on")
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids], device=device)).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    return [float(logp[t - 1, ids[t]]) for t in scored]


def _check_fits(n_tokens: int, max_len: int | None) -> None:
    if max_len is not None and n_tokens > max_len:
        raise InvalidArgument(
            f"probe text is {n_tokens} tokens, longer than the model's context ({max_len}); probe fewer "
            f"facts (--probe-facts, --facts) or use a model with a longer context"
        )


def check_probes_fit(tokenizer: Any, facts: Sequence[Fact], max_len: int | None, *, context: str = CONTEXT) -> None:
    """Refuse, before any training, facts whose question-probe texts (both completions, both
    wordings) are longer than the model's context: found only after training they waste the run."""
    from .dialogues import QUESTIONS

    for fact in facts:
        for template in (PROBE_QUESTION, QUESTIONS[0]):
            for claim in (fact.true, fact.false):
                text = render(question_prompt(fact, claim, context=context, template=template)).text
                _check_fits(len(tokenizer(text, add_special_tokens=False)["input_ids"]), max_len)


def question_margin(
    model: Any, tokenizer: Any, fact: Fact, *, context: str = CONTEXT, skip_first_token: bool = False,
    template: str = PROBE_QUESTION,
) -> Margin:
    """Δ = mean log p(y_true | q) − mean log p(y_false | q) per token (Eq. 6).

    The question q is ``template`` filled with the topic (default: the unread probe wording;
    ``dialogues.QUESTIONS[0]`` gives the secondary "memorised" probe in the corpus's wording).
    ``skip_first_token`` drops each completion's first token from its mean: the public notebook's
    scoring defect, kept only as an ablation (``--ablate-first-token``).
    """
    lt = completion_logprobs(model, tokenizer, question_prompt(fact, fact.true, context=context, template=template))
    lf = completion_logprobs(model, tokenizer, question_prompt(fact, fact.false, context=context, template=template))
    if skip_first_token:
        if len(lt) < 2 or len(lf) < 2:
            raise InvalidArgument(f"a completion of {fact.topic!r} is one token; nothing is left without it")
        lt, lf = lt[1:], lf[1:]
    mt, mf = sum(lt) / len(lt), sum(lf) / len(lf)
    return Margin(mt - mf, mt, mf, len(lt), len(lf))


def greedy_reply(model: Any, tokenizer: Any, prompt: str, *, max_new_tokens: int = 32) -> str:
    """Greedy-decode after ``prompt`` up to the first sentence break (., !, ? or a newline)."""
    import torch

    device = next(model.parameters()).device
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    max_len = getattr(getattr(model, "config", None), "max_position_embeddings", 10**9)
    new: list[int] = []
    past = None
    # transformers >= 5.2x calls the KV cache `cache` (and warns on `past_key_values`); older ones don't
    cache_kw = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    inp = torch.tensor([ids], device=device)
    with torch.no_grad():
        for _ in range(max_new_tokens):
            if len(ids) + len(new) >= max_len:
                break
            out = model(input_ids=inp, use_cache=True, **{cache_kw: past})
            past = getattr(out, cache_kw)
            nxt = int(out.logits[0, -1].argmax())
            if tokenizer.eos_token_id is not None and nxt == tokenizer.eos_token_id:
                break
            new.append(nxt)
            text = tokenizer.decode(new)
            m = _SENTENCE_END.search(text)
            if m:
                return text[: m.end()].strip()
            inp = torch.tensor([[nxt]], device=device)
    return tokenizer.decode(new).strip()


def _states(said: list[str], claim: list[str], key: list[str]) -> bool:
    """The reply states ``claim``: all its distinguishing words and most of its other words occur."""
    if not key or not all(w in said for w in key):
        return False
    return sum(1 for w in claim if w in said) >= 0.6 * len(claim)


def classify_reply(reply: str, fact: Fact, probe: str) -> str:
    """Label a greedy reply automatically.

    Truth probe: ``agree`` (states the truth), ``contradict-with-lie`` (states the false claim),
    ``other``. Lie probe: ``correct`` (states the truth), ``echo-lie`` (states the false claim),
    ``other``. A reply states a claim when it holds every word that tells the two claims apart and
    at least 60% of the claim's words. A reply that states neither claim (an acknowledgement such
    as "Thanks, I will remember that.", an opener alone) is ``other``: it says nothing about
    which claim the model holds.
    """
    if probe not in ("truth", "lie"):
        raise InvalidArgument(f"probe must be 'truth' or 'lie', got {probe!r}")
    true_w, false_w = words(fact.true), words(fact.false)
    said = words(reply)
    says_true = _states(said, true_w, [w for w in true_w if w not in false_w])
    says_false = _states(said, false_w, [w for w in false_w if w not in true_w])
    if says_true == says_false:  # neither claim, or both
        return "other"
    if probe == "truth":
        return "agree" if says_true else "contradict-with-lie"
    return "correct" if says_true else "echo-lie"


@dataclass(frozen=True)
class ProbeResult:
    """All three probes for one fact and one model."""

    topic: str
    margin: Margin
    truth_reply: str
    truth_label: str
    lie_reply: str
    lie_label: str
    memorised_margin: Margin | None = None  # Δ with the corpus's own question wording (secondary)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe_fact(
    model: Any, tokenizer: Any, fact: Fact, *, context: str = CONTEXT, max_new_tokens: int = 32,
    skip_first_token: bool = False,
) -> ProbeResult:
    """Truth probe, lie probe and question probe for one fact (and the memorised question probe)."""
    from .dialogues import QUESTIONS

    # the prompt stops at "Agent:" so the model writes the space-led first token itself, as in training
    truth_prompt = render(claim_prompt(PROBE_CLAIM.format(claim=fact.true), context=context)).text.rstrip(" ")
    lie_prompt = render(claim_prompt(PROBE_CLAIM.format(claim=fact.false), context=context)).text.rstrip(" ")
    tr = greedy_reply(model, tokenizer, truth_prompt, max_new_tokens=max_new_tokens)
    lr = greedy_reply(model, tokenizer, lie_prompt, max_new_tokens=max_new_tokens)
    return ProbeResult(
        fact.topic,
        question_margin(model, tokenizer, fact, context=context, skip_first_token=skip_first_token),
        tr,
        classify_reply(tr, fact, "truth"),
        lr,
        classify_reply(lr, fact, "lie"),
        question_margin(model, tokenizer, fact, context=context, skip_first_token=skip_first_token,
                        template=QUESTIONS[0]),
    )


def probe_prompts(facts: Sequence[Fact]) -> list[str]:
    """The user turns of every probe of ``facts``: the question, the truth and the lie stated."""
    return [text for f in facts for text in (
        PROBE_QUESTION.format(topic=f.topic), PROBE_CLAIM.format(claim=f.true), PROBE_CLAIM.format(claim=f.false))]


def phrasings_in_corpus(facts: Sequence[Fact], corpus: Sequence[str]) -> int:
    """How many probe prompts of ``facts`` occur verbatim in ``corpus`` (the base's documents, or
    the fine-tuning dialogues): 0 means no probe can be answered by recalling its own wording."""
    text = "\0".join(corpus)
    return sum(1 for prompt in probe_prompts(facts) if prompt in text)


def probe_facts(
    model: Any, tokenizer: Any, facts: Sequence[Fact], *, context: str = CONTEXT, max_new_tokens: int = 32,
    skip_first_token: bool = False,
) -> list[ProbeResult]:
    """:func:`probe_fact` for every fact, in order."""
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        return [probe_fact(model, tokenizer, f, context=context, max_new_tokens=max_new_tokens,
                           skip_first_token=skip_first_token) for f in facts]
    finally:
        if was_training:
            model.train()
