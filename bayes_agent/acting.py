"""Prediction and action from a posterior (§3.4): the mixture's predictive and action
distributions, the threshold rule of §4.1, and posterior sampling.

:class:`Acting` holds these for :class:`~bayes_agent.mixture.Mixture` (which inherits them): each
mixes the programs' kernels with weights, either the posterior it computes from a history
(:meth:`Acting.act`, :meth:`Acting.predict`, :meth:`Acting.decide`, :meth:`Acting.sample_action`)
or weights already computed, a sequential updater's say (the ``*_from`` methods).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Hashable, Mapping

from ._checks import expect_history
from ._numbers import check_distribution, check_probability, convert, float_tolerance, is_symbolic
from ._sampling import draw
from .errors import InvalidArgument
from .seeds import seeded_random
from .transcript import Channel, Mode, Transcript

if TYPE_CHECKING:
    from .programs import Program

__all__ = ["Acting", "Decision"]


def _in_alphabet(dist: Mapping[Hashable, Any], symbol: Any, what: str) -> None:
    try:
        known = symbol in dist
    except TypeError:
        raise InvalidArgument(f"{what} {symbol!r} is not hashable; actions are hashable symbols") from None
    if not known:
        raise InvalidArgument(f"{what} {symbol!r} is not in the action alphabet "
                              f"{{{', '.join(sorted(map(repr, dist)))}}}")


@dataclass(frozen=True)
class Decision:
    """The threshold rule of §4.1: choose ``target`` when π(target | h, c) ≥ threshold."""

    action: Hashable
    probability: Any
    target: Hashable
    threshold: Any


class Acting:
    """Prediction and action for a mixture of programs (§3.4); mixed into
    :class:`~bayes_agent.mixture.Mixture`, whose ``programs``, ``names``, ``arithmetic`` and
    ``posterior`` these methods read."""

    def check_weights(self, weights: Any) -> dict[str, Any]:
        """Weights over exactly this mixture's programs, each ≥ 0, summing to one (within the
        float tolerance in float arithmetic), in the mixture's arithmetic; never rescaled."""
        if not isinstance(weights, Mapping):
            raise InvalidArgument(
                f"weights must be a mapping from program names to probabilities (a posterior), "
                f"got {type(weights).__name__}"
            )
        missing = [n for n in self.names if n not in weights]
        extra = [k for k in weights if k not in self.names]
        if missing or extra:
            raise InvalidArgument(
                f"the weights' keys must be the program names {list(self.names)}; "
                f"missing {missing}, unknown {sorted(map(repr, extra))}"
            )
        row = check_distribution(weights, "the weight vector", kind=self.arithmetic,
                                 tol=float_tolerance(list(weights.values())), rescale_hint=False)
        return {n: row[n] for n in self.names}

    def act_from(self, weights: Mapping[str, Any], history: Transcript) -> dict[Hashable, Any]:
        """π(a | h, c) = Σ_p w(p) ν_p(a | h, c) for weights already computed (a sequential
        updater's, say): :meth:`act` without recomputing the posterior. The weights are checked
        (:meth:`check_weights`)."""
        return self._mix(self.check_weights(weights), expect_history(history), Channel.ACTION)

    def predict_from(self, weights: Mapping[str, Any], history: Transcript) -> dict[Hashable, Any]:
        """Σ_p w(p) ν_p(o | h, c) for weights already computed; ``history`` ends with the action."""
        return self._mix(self.check_weights(weights), expect_history(history), Channel.OBSERVATION)

    def _mix(self, weights: Mapping[str, Any], history: Transcript, channel: Channel) -> dict[Hashable, Any]:
        out: dict[Hashable, Any] = {}
        for p in self.programs:
            w = weights[p.name]
            for sym, q in p.distribution(history, channel).items():
                out[sym] = out.get(sym, self._zero()) + w * q
        return {k: self._tidy(v) for k, v in out.items()}

    def predict(
        self, history: Transcript, action: Hashable, mode: Mode | str = Mode.INTERVENTIONAL
    ) -> dict[Hashable, Any]:
        """π(o | h, do(a), c) = Σ_p w_t(p) ν_p(o | h, a, c); ``mode="obs"`` gives P(o | h, a) instead.

        The action is appended as an agent slot and the posterior of the extended history is
        used, so the difference between the two modes is exactly the intervention rule.
        """
        extended = expect_history(history).agent(action)
        return self._mix(self.posterior(extended, mode), extended, Channel.OBSERVATION)

    def act(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> dict[Hashable, Any]:
        """π(a | h, c) = Σ_p w_t(p) ν_p(a | h, c), the agent's next-action distribution."""
        history = expect_history(history)
        return self._mix(self.posterior(history, mode), history, Channel.ACTION)

    def decide(
        self,
        history: Transcript,
        target: Hashable,
        *,
        threshold: Any = Fraction(1, 2),
        otherwise: Hashable | None = None,
        mode: Mode | str = Mode.INTERVENTIONAL,
    ) -> Decision:
        """§4.1: write ``target`` if π(target | h, c) ≥ threshold, else ``otherwise``.

        ``otherwise`` may be omitted when the action alphabet has exactly two symbols. The
        threshold is a number in [0, 1]. In float arithmetic a probability exactly at the
        threshold may round to either side of it; exact arithmetic decides ties exactly.
        """
        return self.decide_from(self.act(history, mode), target, threshold, otherwise)

    def decide_from(self, dist: Mapping[Hashable, Any], target: Hashable, threshold: Any = Fraction(1, 2),
                    otherwise: Hashable | None = None) -> Decision:
        """The threshold rule of :meth:`decide` applied to an action distribution already computed.

        ``target`` and ``otherwise`` must be two different symbols of the action alphabet; ``dist``
        must be a distribution (entries ≥ 0 summing to one, as :meth:`act` returns), never rescaled."""
        dist = check_distribution(dist, "decide_from's action distribution", kind=self.arithmetic,
                                  tol=float_tolerance(list(dist.values())) if isinstance(dist, Mapping) else None,
                                  rescale_hint=False)
        _in_alphabet(dist, target, "target")
        if otherwise is None:
            others = [a for a in dist if a != target]
            if len(others) != 1:
                raise InvalidArgument(
                    f"the action alphabet has {len(dist)} symbols; say which one to write "
                    f"below the threshold (otherwise=...)"
                )
            otherwise = others[0]
        _in_alphabet(dist, otherwise, "otherwise")
        if otherwise == target:
            raise InvalidArgument(f"otherwise={otherwise!r} equals the target; the threshold rule chooses "
                                  f"between two different actions")
        t = check_probability(threshold, "threshold")
        if is_symbolic(t) and t.free_symbols:
            raise InvalidArgument(f"the threshold {t} is symbolic; the threshold rule needs a number to pick an action")
        t = convert(t, self.arithmetic)
        prob = dist[target]
        try:
            choose = bool(prob >= t)
        except TypeError:
            raise InvalidArgument(
                f"π({target!r} | h) = {prob} is symbolic; the threshold rule needs numbers"
            ) from None
        return Decision(target if choose else otherwise, prob, target, t)

    def sample_program(
        self, history: Transcript, seed: int | random.Random, mode: Mode | str = Mode.INTERVENTIONAL
    ) -> Program:
        """p̄ ~ w_t(p), seeded (an ``int`` seed or a ``random.Random``)."""
        return self._draw_program(self.posterior(history, mode), seeded_random(seed))

    def sample_action(
        self, history: Transcript, seed: int | random.Random, mode: Mode | str = Mode.INTERVENTIONAL
    ) -> Hashable:
        """Posterior sampling (§3.4): p̄ ~ w_t, then a ~ ν_p̄(· | h, c). The action is not evidence."""
        rng = seeded_random(seed)
        return self._sample_from(self.posterior(history, mode), expect_history(history), rng)

    def sample_action_from(
        self, weights: Mapping[str, Any], history: Transcript, rng: int | random.Random
    ) -> Hashable:
        """Posterior sampling from weights already computed: p̄ ~ weights, then a ~ ν_p̄(· | h, c).

        The weights are checked (:meth:`check_weights`); ``rng`` is an ``int`` seed or a
        ``random.Random``, as for :meth:`sample_action`."""
        return self._sample_from(self.check_weights(weights), expect_history(history), seeded_random(rng, "rng"))

    def sample_program_from(self, weights: Mapping[str, Any], rng: int | random.Random) -> "Program":
        """p̄ ~ weights already computed (checked, :meth:`check_weights`); ``rng`` is an ``int``
        seed or a ``random.Random``, as for :meth:`sample_program`."""
        return self._draw_program(self.check_weights(weights), seeded_random(rng, "rng"))

    def _draw_program(self, weights: Mapping[str, Any], rng: random.Random) -> Program:
        return self.programs[self.names.index(draw(weights, rng, "a program", self.arithmetic))]

    def _sample_from(self, weights: Mapping[str, Any], history: Transcript, rng: random.Random) -> Hashable:
        program = self._draw_program(weights, rng)
        return draw(program.distribution(history, Channel.ACTION), rng, "an action", self.arithmetic)
