"""Two neural regimes for the one invariant suite (:mod:`bayes_agent.invariants`).

* :class:`TorchMixtureRegime` — the differentiable mixture of programs
  (:class:`neural.regimes.mixture_torch.TorchMixture`). A case is an engine :class:`~bayes_agent.Mixture`;
  the update is the exact bridge, posterior = prior − ∇_η NLL, and the sequential update is the
  mirror step η ← η + log ν.
* :class:`TransformerRegime` — a causal LM under masked SFT (paper §5.1-5.2, Eq. 3-4). A case is
  a model and its tokenizer (:func:`micro_transformer_case` builds a micro Qwen2 in float64); the
  state after a transcript is the loss *sum* and its gradient with respect to every parameter.

What "a slot" is for the transformer. The transcript is laid out word by word
(:func:`word_rendering`): the context, then each slot's value preceded by one space, the space
belonging to the slot's writer. There is no speaker prefix, so appending an agent slot appends
exactly that slot's agent-content tokens and nothing supervised; the labels come from the one
masking rule (:func:`neural.masking.mask_rendering`). With the chat layout (``"Agent: "``
prefixes, which are protocol and supervised) the same statement holds for agent content added to
an agent turn that is already open; :func:`neural.regimes.assertions.assert_agent_tokens_inert` checks
that form on any Hugging Face causal LM.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Hashable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from bayes_agent.errors import InvalidArgument
from bayes_agent.invariants import ALL_INVARIANTS, EngineRegime
from bayes_agent.mixture import Mixture
from bayes_agent.alphabets import ACTIONS, OBSERVATIONS
from bayes_agent.transcript import Channel, Gate, Mode, Part, Rendering, Span, Transcript

from ..masking import IGNORE_INDEX, LabelMode, MaskedExample, mask_rendering
from .mixture_torch import TorchMixture

__all__ = [
    "BridgeState",
    "LossState",
    "TorchMixtureRegime",
    "TransformerCase",
    "TransformerRegime",
    "micro_transformer_case",
    "neural_regimes",
    "word_rendering",
]


# ---------------------------------------------------------------------------------------------
# The torch mixture of programs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BridgeState:
    """A torch mixture's belief: the bridge posterior prior − ∇NLL, and log w from the same joint.

    Both must agree for two states to be the same: the bridge posterior to ``atol`` (it is a
    difference, so its error is absolute), the log weights to a relative 1e-12 (so that tiny
    weights are compared too)."""

    posterior: np.ndarray
    log_posterior: np.ndarray

    def __repr__(self) -> str:
        return f"BridgeState(posterior={self.posterior.tolist()})"


class TorchMixtureRegime:
    """The torch mixture as a :class:`~bayes_agent.invariants.Regime`; a case is an engine Mixture.

    ``mixture_type`` builds the torch mixture from a case (a subclass can change the mask, which
    is how the tests build a deliberately broken regime)."""

    supports = frozenset(ALL_INVARIANTS)

    def __init__(self, mixture_type: Callable[[Mixture], TorchMixture] = TorchMixture, *,
                 atol: float = 1e-12, name: str = "torch-mixture") -> None:
        self.mixture_type, self.atol, self.name = mixture_type, atol, name
        self._oracle = EngineRegime("exact")  # case surgery and the symbols, from the engine

    def _torch(self, case: Mixture) -> TorchMixture:
        return self.mixture_type(case)

    @staticmethod
    def _state(weights: torch.Tensor, log_weights: torch.Tensor) -> BridgeState:
        return BridgeState(weights.detach().numpy().copy(), log_weights.detach().numpy().copy())

    def prior(self, case: Mixture) -> BridgeState:
        tm = self._torch(case)
        return self._state(tm.prior(), torch.log_softmax(tm.logits.detach(), dim=0))

    def update(self, case: Mixture, transcript: Transcript, mode: Mode) -> BridgeState:
        tm = self._torch(case)
        return self._state(tm.posterior(transcript, mode), tm.log_posterior(transcript, mode))

    def sequential(self, case: Mixture, transcript: Transcript, mode: Mode) -> BridgeState:
        tm = self._torch(case)
        trace = tm.mirror_trace(transcript, mode)
        eta = trace[-1] if trace else tm.logits.detach()
        return self._state(torch.softmax(eta, dim=0), torch.log_softmax(eta, dim=0))

    def same(self, a: BridgeState, b: BridgeState) -> bool:
        zero_a, zero_b = np.isneginf(a.log_posterior), np.isneginf(b.log_posterior)
        if not np.array_equal(zero_a, zero_b):
            return False
        pa, pb = np.exp(a.log_posterior), np.exp(b.log_posterior)
        return bool(np.allclose(pa, pb, rtol=1e-12, atol=1e-300)
                    and np.allclose(a.posterior, b.posterior, rtol=0.0, atol=self.atol))

    def log_likelihood(self, case: Mixture, transcript: Transcript, mode: Mode) -> np.ndarray:
        return self._torch(case).log_likelihood(transcript, mode).numpy()

    def action_log_likelihood(self, case: Mixture, transcript: Transcript) -> np.ndarray:
        tm = self._torch(case)
        agent = torch.tensor([s.gate is Gate.AGENT for s in transcript.slots], dtype=torch.bool)
        zero = torch.zeros((), dtype=torch.float64)
        return torch.where(agent[None, :], tm.log_factors(transcript, agent), zero).sum(dim=1).numpy()

    def compose(self, log_a: np.ndarray, log_b: np.ndarray) -> np.ndarray:
        return log_a + log_b

    def close(self, log_a: np.ndarray, log_b: np.ndarray) -> bool:
        return EngineRegime("float").close(log_a, log_b)  # the float engine's tolerance

    def replace_action_channels(self, case: Mixture, seed: int) -> Mixture:
        return self._oracle.replace_action_channels(case, seed)

    def symbols(self, case: Mixture, channel: Channel) -> Sequence[Hashable]:
        return self._oracle.symbols(case, channel)

    def discriminates(self, case: Mixture, transcript: Transcript, value: Hashable, channel: Channel) -> bool:
        return self._oracle.discriminates(case, transcript, value, channel)

    def history_free(self, case: Mixture) -> bool:
        return self._oracle.history_free(case)


# ---------------------------------------------------------------------------------------------
# A transformer under masked SFT
# ---------------------------------------------------------------------------------------------


def word_rendering(transcript: Transcript) -> Rendering:
    """The context, then ``" " + value`` for each slot; the space is part of the slot's content.

    Every slot is one whitespace-led word, so a byte-level tokenizer splits before it and the
    tokens of a prefix of the transcript are a prefix of its tokens."""
    pieces, spans, pos = [], [], 0
    if transcript.context is not None and str(transcript.context) != "":
        text = str(transcript.context)
        pieces.append(text)
        spans.append(Span(0, len(text), Part.CONTEXT))
        pos = len(text)
    for i, slot in enumerate(transcript.slots):
        if not isinstance(slot.value, str) or not slot.value or any(c.isspace() for c in slot.value):
            raise InvalidArgument(f"slot {i}: the word layout needs a non-empty word without spaces, got {slot.value!r}")
        text = " " + slot.value
        pieces.append(text)
        spans.append(Span(pos, pos + len(text), Part.CONTENT, i, slot.gate))
        pos += len(text)
    return Rendering("".join(pieces), tuple(spans))


@dataclass(frozen=True, eq=False)
class TransformerCase:
    """A causal LM, its (fast) tokenizer, the slot alphabets, and an optional logit bias that the
    model adds at agent positions only (what "replacing the action channel" means here)."""

    model: Any
    tokenizer: Any
    actions: tuple[str, ...] = ACTIONS
    observations: tuple[str, ...] = OBSERVATIONS
    agent_logit_bias: torch.Tensor | None = None


def micro_transformer_case(seed: int = 0, *, actions: Sequence[str] = ACTIONS,
                           observations: Sequence[str] = OBSERVATIONS) -> TransformerCase:
    """A micro Qwen2-architecture model in float64 with a tokenizer trained on the slot words."""
    from ..models import TinyModelConfig, build_tiny_model, train_tokenizer

    words = [*actions, *observations]
    texts = ["c " + " ".join(words[k:] + words[:k]) for k in range(len(words))]
    tokenizer = train_tokenizer(texts, 300)
    config = TinyModelConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    model = build_tiny_model(config, len(tokenizer), seed).to(torch.float64)
    return TransformerCase(model, tokenizer, tuple(actions), tuple(observations))


@dataclass(frozen=True, eq=False)
class LossState:
    """A transformer's update on a transcript: the loss sum (Eq. 3/4 without the 1/T) and its
    gradient, flattened over every parameter."""

    loss: float
    grad: np.ndarray

    def __repr__(self) -> str:
        return f"LossState(loss={self.loss!r}, |grad|={float(np.linalg.norm(self.grad))!r})"


class TransformerRegime:
    """A causal LM under masked SFT as a :class:`~bayes_agent.invariants.Regime`.

    The prior state is "no update": loss 0 and a zero gradient. Two states are the same when
    their losses agree to ``rtol`` and their gradients agree to ``rtol`` times the larger
    gradient's largest entry (plus ``atol``). The model runs in float64, but the Qwen2 code casts
    RMSNorm (forward and backward) and the rotary angles to float32, so gradients summed over
    separate passes (the sequential update) carry float32 rounding, about 1e-7 relative."""

    supports = frozenset(ALL_INVARIANTS)

    def __init__(self, *, rtol: float = 1e-6, atol: float = 1e-12, name: str = "transformer-masked-sft") -> None:
        self.rtol, self.atol, self.name = rtol, atol, name

    # -- tokens and labels (the one masking rule) ---------------------------------------------
    def example(self, case: TransformerCase, transcript: Transcript) -> MaskedExample | None:
        """The masked example of the word layout; ``None`` when there is no text at all."""
        rendering = word_rendering(transcript)
        return mask_rendering(rendering, case.tokenizer) if rendering.text else None

    def labels(self, case: TransformerCase, transcript: Transcript, mode: Mode | LabelMode | str) -> tuple[list[int], list[int]]:
        """(input_ids, labels) for ``mode``: "obs" (Eq. 3), "do" (Eq. 4) or "assistant_only"
        (the agent-content tokens alone)."""
        ex = self.example(case, transcript)
        if ex is None:
            return [], []
        return list(ex.input_ids), list(ex.labels[LabelMode.of(mode)])

    # -- the loss ------------------------------------------------------------------------------
    def _loss(self, case: TransformerCase, transcript: Transcript, ids: list[int], labels: list[int]) -> torch.Tensor:
        params = [p for p in case.model.parameters()]
        dtype = params[0].dtype
        if len(ids) < 2:
            return sum((p.sum() * 0 for p in params), torch.zeros((), dtype=dtype))
        x = torch.tensor([ids])
        logits = case.model(input_ids=x).logits[0]
        if case.agent_logit_bias is not None:
            _, agent = self.labels(case, transcript, LabelMode.ASSISTANT_ONLY)
            # position t predicts token t + 1: bias the logits whose target is an agent token
            at_agent = torch.tensor([lab != IGNORE_INDEX for lab in agent[1:]] + [False], dtype=dtype)
            logits = logits + at_agent[:, None] * case.agent_logit_bias.to(dtype)[None, :]
        target = torch.tensor(labels[1:])
        return F.cross_entropy(logits[:-1], target, ignore_index=IGNORE_INDEX, reduction="sum")

    def loss_and_grad(self, case: TransformerCase, transcript: Transcript, ids: list[int], labels: list[int]) -> LossState:
        """The summed masked loss and its gradient (the parameters' ``.grad`` are not touched)."""
        params = [p for p in case.model.parameters() if p.requires_grad]
        loss = self._loss(case, transcript, ids, labels)
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        flat = torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads)])
        return LossState(float(loss.detach()), flat.detach().to(torch.float64).numpy().copy())

    # -- the Regime protocol -------------------------------------------------------------------
    def prior(self, case: TransformerCase) -> LossState:
        n = sum(p.numel() for p in case.model.parameters() if p.requires_grad)
        return LossState(0.0, np.zeros(n))

    def update(self, case: TransformerCase, transcript: Transcript, mode: Mode) -> LossState:
        ids, labels = self.labels(case, transcript, mode)
        return self.loss_and_grad(case, transcript, ids, labels)

    def sequential(self, case: TransformerCase, transcript: Transcript, mode: Mode) -> LossState:
        """Slot by slot: each slot's own tokens scored on the prefix that ends with it, summed."""
        total = self.prior(case)
        done = len(self.labels(case, transcript.prefix(0), mode)[0])
        for i in range(len(transcript)):
            prefix = transcript.prefix(i + 1)
            ids, labels = self.labels(case, prefix, mode)
            fresh = [lab if t >= done else IGNORE_INDEX for t, lab in enumerate(labels)]
            step = self.loss_and_grad(case, prefix, ids, fresh)
            total = LossState(total.loss + step.loss, total.grad + step.grad)
            done = len(ids)
        return total

    def same(self, a: LossState, b: LossState) -> bool:
        scale = max(float(np.abs(a.grad).max(initial=0.0)), float(np.abs(b.grad).max(initial=0.0)))
        return bool(np.isclose(a.loss, b.loss, rtol=self.rtol, atol=self.atol)
                    and np.abs(a.grad - b.grad).max(initial=0.0) <= self.rtol * scale + self.atol)

    def log_likelihood(self, case: TransformerCase, transcript: Transcript, mode: Mode | LabelMode | str) -> float:
        """−(loss sum) under the mode's labels: log L_obs (Eq. 3) or log L_do (Eq. 4), unnormalised."""
        ids, labels = self.labels(case, transcript, mode)
        with torch.no_grad():
            return -float(self._loss(case, transcript, ids, labels))

    def action_log_likelihood(self, case: TransformerCase, transcript: Transcript) -> float:
        """−(loss sum) over the agent-content tokens alone."""
        return self.log_likelihood(case, transcript, LabelMode.ASSISTANT_ONLY)

    def compose(self, log_a: float, log_b: float) -> float:
        return log_a + log_b

    def close(self, log_a: float, log_b: float) -> bool:
        return bool(np.isclose(log_a, log_b, rtol=self.rtol, atol=1e-9))

    def replace_action_channels(self, case: TransformerCase, seed: int) -> TransformerCase:
        """The same model with a seeded random bias added to its logits at agent positions."""
        g = torch.Generator().manual_seed(seed)
        vocab = case.model.get_output_embeddings().weight.shape[0]
        return replace(case, agent_logit_bias=3.0 * torch.randn(vocab, generator=g, dtype=torch.float64))

    def symbols(self, case: TransformerCase, channel: Channel) -> Sequence[Hashable]:
        return case.actions if channel is Channel.ACTION else case.observations

    def discriminates(self, case: TransformerCase, transcript: Transcript, value: Hashable, channel: Channel) -> bool:
        """A supervised token always moves a network's loss (its probability is below one)."""
        return True

    def history_free(self, case: TransformerCase) -> bool:
        return False


def neural_regimes() -> list[Any]:
    """The two neural regimes, each a :class:`~bayes_agent.invariants.Regime`."""
    return [TorchMixtureRegime(), TransformerRegime()]
