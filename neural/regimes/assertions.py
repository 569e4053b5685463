"""Drop-in assertions of invariant 1 for your own causal LM and labels function.

:func:`assert_agent_tokens_inert` checks, on any Hugging Face causal LM, that agent-written tokens
never move the interventional loss: appending agent *content* to a transcript's final agent turn
leaves the loss sum (Eq. 4 without the 1/T) and its gradient unchanged. :func:`assert_step_inert`
checks the training-time form: one optimizer step without weight decay on a sequence whose labels
supervise nothing leaves every parameter bit-identical.

What is appended, precisely: characters added to the *content* of the transcript's last slot,
which must be the agent's. The speaker prefix of that slot (``"Agent: "``) is protocol and is
supervised in both arms (paper §5.2: "user turns and structural prefixes" contribute), so
appending a whole new agent slot is *not* inert: its prefix is new evidence. And when the open
turn has no content yet, the first content token may merge with the prefix's trailing space
(a boundary token, masked because it carries agent characters), which changes a supervised
token; so the base transcript must already end with agent content.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

from bayes_agent.errors import InvalidArgument
from bayes_agent.invariants import AGENT_SLOTS_INERT, InvariantViolation
from bayes_agent.transcript import Gate, Slot, Transcript

from ..masking import IGNORE_INDEX, mask_transcript

__all__ = ["assert_agent_tokens_inert", "assert_step_inert", "do_labels", "loss_and_grad"]

LabelsFn = Callable[[Transcript, Any], tuple[Sequence[int], Sequence[int]]]


def do_labels(transcript: Transcript, tokenizer: Any) -> tuple[list[int], list[int]]:
    """The project's interventional labels (Eq. 4) in the ``User:``/``Agent:`` layout."""
    ex = mask_transcript(transcript, tokenizer)
    return list(ex.input_ids), list(ex.labels_do)


def loss_and_grad(model: Any, input_ids: Sequence[int], labels: Sequence[int]) -> tuple[float, np.ndarray]:
    """The summed causal-LM loss over supervised labels and its gradient, flattened, as float64.

    Labels follow the Hugging Face convention (aligned with ``input_ids``; position t's logits
    predict token t + 1). Parameters' ``.grad`` are left untouched."""
    import torch
    import torch.nn.functional as F

    params = [p for p in model.parameters() if p.requires_grad]
    device = params[0].device
    ids = torch.tensor([list(input_ids)], device=device)
    logits = model(input_ids=ids).logits[0]
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()  # sum the loss in at least float32
    target = torch.tensor(list(labels)[1:], device=device)
    loss = F.cross_entropy(logits[:-1], target, ignore_index=IGNORE_INDEX, reduction="sum")
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    flat = torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1).double() for p, g in zip(params, grads)])
    return float(loss.detach()), flat.cpu().numpy()


def _as_transcripts(transcripts: Transcript | Iterable[Transcript]) -> list[Transcript]:
    items = [transcripts] if isinstance(transcripts, Transcript) else list(transcripts)
    if not items:
        raise InvalidArgument("give at least one transcript")
    for k, t in enumerate(items):
        if not isinstance(t, Transcript):
            raise InvalidArgument(f"item {k} is a {type(t).__name__}, not a Transcript (the gates say who wrote what)")
        if not len(t) or t.slots[-1].gate is not Gate.AGENT:
            raise InvalidArgument(
                f"transcript {k} must end with an agent slot that has content: agent tokens are "
                f"appended to that slot's content (a new agent slot would add its supervised "
                f"'Agent: ' prefix, which is protocol, not agent content)"
            )
    return items


def _extend_last(t: Transcript, extra: str) -> Transcript:
    last = t.slots[-1]
    if not isinstance(last.value, str):
        raise InvalidArgument(f"the last slot holds {type(last.value).__name__}; only text can be extended")
    return Transcript(t.slots[:-1] + (Slot(last.value + extra, last.gate, last.channel, last.speaker),), t.context)


def assert_agent_tokens_inert(
    model: Any,
    tokenizer: Any,
    transcripts: Transcript | Iterable[Transcript],
    labels_fn: LabelsFn = do_labels,
    *,
    extra: str = " and that is all",
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """Invariant 1 for a causal LM and a labels function: appending agent content tokens (``extra``
    added to each transcript's final agent slot) leaves the interventional loss sum and its gradient
    unchanged. Raises :class:`~bayes_agent.invariants.InvariantViolation` naming what moved.

    ``labels_fn(transcript, tokenizer) -> (input_ids, labels)`` is yours (default :func:`do_labels`).
    Three things are checked per transcript: the appended tokens all get label −100; the labels of
    the shared tokens are unchanged; the model's loss sum and gradient agree within ``rtol`` (of
    the largest gradient entry) and ``atol`` — float32 models differ slightly on longer inputs.
    """
    for k, t in enumerate(_as_transcripts(transcripts)):
        longer = _extend_last(t, extra)
        ids, labels = (list(x) for x in labels_fn(t, tokenizer))
        ids2, labels2 = (list(x) for x in labels_fn(longer, tokenizer))
        n = len(ids)
        if ids2[:n] != ids or len(ids2) == n:
            raise InvalidArgument(
                f"transcript {k}: the tokens of the transcript are not a prefix of the tokens with "
                f"{extra!r} appended (the tokenizer merged across the boundary); choose another extra"
            )
        leaked = [n + j for j, lab in enumerate(labels2[n:]) if lab != IGNORE_INDEX]
        if leaked:
            pieces = [tokenizer.decode([ids2[p]]) for p in leaked]
            raise InvariantViolation(
                f"[{AGENT_SLOTS_INERT}] transcript {k}: labels_fn supervises appended agent token(s) "
                f"at positions {leaked}: {pieces!r}"
            )
        if labels2[:n] != labels:
            moved = [p for p in range(n) if labels2[p] != labels[p]]
            raise InvariantViolation(
                f"[{AGENT_SLOTS_INERT}] transcript {k}: appending agent tokens changed the labels of "
                f"earlier tokens at positions {moved}"
            )
        la, ga = loss_and_grad(model, ids, labels)
        lb, gb = loss_and_grad(model, ids2, labels2)
        scale = max(float(np.abs(ga).max(initial=0.0)), float(np.abs(gb).max(initial=0.0)))
        if not np.isclose(la, lb, rtol=rtol, atol=atol):
            raise InvariantViolation(
                f"[{AGENT_SLOTS_INERT}] transcript {k}: appending agent tokens moved the do-loss sum:\n"
                f"  {la!r}\n  {lb!r}"
            )
        gap = float(np.abs(ga - gb).max(initial=0.0))
        if gap > rtol * scale + atol:
            raise InvariantViolation(
                f"[{AGENT_SLOTS_INERT}] transcript {k}: appending agent tokens moved the gradient "
                f"(largest change {gap:.3g}, largest entry {scale:.3g})"
            )


def assert_step_inert(
    model: Any,
    input_ids: Sequence[int],
    labels: Sequence[int],
    make_optimizer: Callable[[Any], Any] | None = None,
) -> None:
    """One optimizer step on ``(input_ids, labels)`` leaves every parameter bit-identical.

    Meant for an agent-only continuation (labels all −100 after the context). The default
    optimizer is AdamW with ``weight_decay=0`` (decay would shrink the weights with no gradient at
    all). The model's parameters are restored afterwards, so the check has no side effect."""
    import torch
    import torch.nn.functional as F

    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    saved_grads = [None if p.grad is None else p.grad.clone() for p in params]
    opt = make_optimizer(params) if make_optimizer else torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0)
    try:
        opt.zero_grad(set_to_none=False)
        ids = torch.tensor([list(input_ids)], device=params[0].device)
        logits = model(input_ids=ids).logits[0]
        target = torch.tensor(list(labels)[1:], device=params[0].device)
        F.cross_entropy(logits[:-1], target, ignore_index=IGNORE_INDEX, reduction="sum").backward()
        opt.step()
        moved = [i for i, (p, b) in enumerate(zip(params, before)) if not torch.equal(p.detach(), b)]
    finally:
        with torch.no_grad():
            for p, b, g in zip(params, before, saved_grads):
                p.copy_(b)
                p.grad = g
    if moved:
        names = [n for n, p in model.named_parameters() if p.requires_grad]
        raise InvariantViolation(
            f"[{AGENT_SLOTS_INERT}] one optimizer step moved {len(moved)} parameter tensor(s), "
            f"e.g. {[names[i] for i in moved[:3]]}"
        )
