"""A differentiable mixture of programs in torch: the exact bridge between Bayes and gradients.

The weights are w = softmax(η) over the engine's programs; L_p is the likelihood of a history
under program p. The negative log evidence NLL(η) = −log Σ_p w_p L_p has the gradient

    ∂NLL/∂η_q = w_q − w_q L_q / Σ_p w_p L_p,

so **posterior = prior − ∇_η NLL** (DESIGN.md, "The exact bridge"). Which slots enter L is the
engine's intervention rule (:func:`bayes_agent.mixture.is_evidence`), applied here as a mask over
the per-slot log-factors, just as the neural masks set ``-100`` (paper §5.1, Eq. 3–4): with the
mask the gradient gives the interventional posterior w_t (§3.3), without it the observational
w_t^obs (§3.2). The log-factors log ν_p(z_i | h_<i, c) come from the engine's own programs
(:meth:`bayes_agent.mixture.Mixture.factor`, the term the engine's likelihood multiplies), so
there is one likelihood; the torch mixture only adds the logs and applies the mask.

A mirror step η ← η + log ν_p(z_i | h_<i, c) for each evidence slot reproduces the sequential
Bayes update (§5.1, Eq. 1–2): softmax of the sum is the renormalised product.
"""

from __future__ import annotations

import math

import torch

from bayes_agent.errors import InvalidArgument, ZeroEvidence
from bayes_agent.mixture import Mixture, is_evidence
from bayes_agent.transcript import Mode, Transcript

__all__ = ["TorchMixture", "evidence_mask"]

DTYPE = torch.float64


def evidence_mask(history: Transcript, mode: Mode | str) -> torch.Tensor:
    """One boolean per slot: does its factor enter L^mode? (the engine's rule, as a torch mask)."""
    mode = Mode.of(mode)
    return torch.tensor([is_evidence(s, mode) for s in history.slots], dtype=torch.bool)


class TorchMixture:
    """The engine's programs with learnable float64 logits η (initially log w_0).

    ``logits`` may be given to start elsewhere; only softmax(η) matters, so any shift of η
    describes the same prior.
    """

    def __init__(self, mixture: Mixture, logits: torch.Tensor | None = None) -> None:
        if not isinstance(mixture, Mixture):
            raise InvalidArgument(f"TorchMixture wraps a bayes_agent Mixture, got {type(mixture).__name__}")
        self.mixture = mixture
        self.names: tuple[str, ...] = mixture.names
        if logits is None:
            logits = torch.tensor([_log(mixture.prior[n]) for n in self.names], dtype=DTYPE)
        logits = torch.as_tensor(logits, dtype=DTYPE)
        if logits.shape != (len(self.names),):
            raise InvalidArgument(f"logits must have shape ({len(self.names)},), got {tuple(logits.shape)}")
        self.logits = logits.detach().clone().requires_grad_(True)

    # -- the likelihood: the engine's log-factors, masked by the gates ------------------------
    def log_factors(self, history: Transcript, slots: torch.Tensor | None = None) -> torch.Tensor:
        """log ν_p(z_i | h_<i, c), shape (programs, slots), from the engine's own
        :meth:`~bayes_agent.mixture.Mixture.factor`; only the slots flagged in ``slots`` (all when
        None) are scored, the others hold 0 (a program need not have a kernel it is never asked for)."""
        n = len(history)
        wanted = [True] * n if slots is None else [bool(x) for x in slots]
        out = torch.zeros((len(self.names), n), dtype=DTYPE)
        for i in (i for i in range(n) if wanted[i]):
            for j, p in enumerate(self.mixture.programs):
                q = float(self.mixture.factor(p, history, i))
                out[j, i] = math.log(q) if q > 0 else -math.inf
        return out

    def mask(self, history: Transcript, mode: Mode | str) -> torch.Tensor:
        """Which slots' factors count (see :func:`evidence_mask`); the one place gates are read."""
        return evidence_mask(history, mode)

    def log_likelihood(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> torch.Tensor:
        """log L^mode(p) = Σ_{evidence slots} log ν_p, a (programs,) tensor (§3.2/§3.3)."""
        keep = self.mask(history, mode)
        factors = self.log_factors(history, keep)
        zero = torch.zeros((), dtype=DTYPE)
        # where, not multiply: a masked factor may be log 0 = -inf, and 0 · -inf is NaN
        return torch.where(keep[None, :], factors, zero).sum(dim=1)

    def prior(self) -> torch.Tensor:
        """w = softmax(η), detached."""
        return torch.softmax(self.logits.detach(), dim=0)

    def nll(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> torch.Tensor:
        """NLL(η) = −log Σ_p softmax(η)_p L_p: the mixture's loss on the history, with a graph to η."""
        joint = torch.log_softmax(self.logits, dim=0) + self.log_likelihood(history, mode)
        value = -torch.logsumexp(joint, dim=0)
        if not torch.isfinite(value):
            raise ZeroEvidence(
                f"every program gives this history probability zero under the "
                f"{Mode.of(mode).name.lower()} likelihood, so NLL is infinite and the posterior undefined"
            )
        return value

    def gradient(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> tuple[torch.Tensor, torch.Tensor]:
        """(NLL, ∇_η NLL), both detached."""
        value = self.nll(history, mode)
        (grad,) = torch.autograd.grad(value, self.logits)
        return value.detach(), grad

    def posterior(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> torch.Tensor:
        """The exact bridge: posterior = softmax(η) − ∇_η NLL (interventional by default)."""
        _, grad = self.gradient(history, mode)
        return self.prior() - grad

    def log_posterior(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> torch.Tensor:
        """log w_t from the same joint the NLL sums (relative precision for tiny weights)."""
        joint = torch.log_softmax(self.logits.detach(), dim=0) + self.log_likelihood(history, mode)
        total = torch.logsumexp(joint, dim=0)
        if not torch.isfinite(total):
            raise ZeroEvidence("every program gives this history probability zero; the posterior is undefined")
        return joint - total

    def mirror_trace(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> list[torch.Tensor]:
        """Sequential Bayes as mirror steps: η ← η + log ν(z_i) on each evidence slot; the
        logits after each slot (prior not included). softmax of each is the sequential posterior."""
        keep = self.mask(history, mode)
        factors = self.log_factors(history, keep)
        eta = self.logits.detach().clone()
        out = []
        for i in range(len(history)):
            if keep[i]:
                eta = eta + factors[:, i]
                if not torch.isfinite(torch.logsumexp(eta, dim=0)):
                    raise ZeroEvidence.at_slot(i, history.slots[i].value)
            out.append(eta)
        return out

    def mirror_posterior(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> torch.Tensor:
        """softmax(η + Σ masked log ν) reached slot by slot (equals :meth:`posterior`)."""
        trace = self.mirror_trace(history, mode)
        return torch.softmax(trace[-1] if trace else self.logits.detach(), dim=0)

    def as_dict(self, weights: torch.Tensor) -> dict[str, float]:
        """A (programs,) tensor as ``{program name: float}``."""
        return dict(zip(self.names, (float(x) for x in weights)))

    def __repr__(self) -> str:
        return f"TorchMixture({list(self.names)})"



def _log(x: object) -> float:
    q = float(x)  # type: ignore[arg-type]
    return math.log(q) if q > 0 else -math.inf
