"""The fire engine of §2.1: P(fire | engine sent) = 19/20 but P(fire | do(engine sent)) = 1/1000.

The causal story is a chain: a fire (rare) makes a report (smoke, flames, an alarm) likely, and
a report is what gets an engine sent. Reading the records, an engine is strong evidence of a fire;
forcing an engine out leaves the fire process untouched. Both numbers are *derived* by the SCM
engine from the mechanisms below, never typed in:

    P(fire)                     = 1/1000      fires are rare
    P(report | fire)            = 999/1000    almost every fire is reported
    P(report | no fire)         = 1/19000     false alarms are rarer still
    P(engine | report)          = 9/10        dispatch answers most reports
    P(engine | no report)       = 0           no report, no engine

```python
>>> d = derive_fire_engine()
>>> d.observational, d.interventional
(Fraction(19, 20), Fraction(1, 1000))

```
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

from .._numbers import check_probability, short
from ..errors import InvalidArgument
from .model import SCM, Variable, bernoulli

__all__ = ["FireEngineDerivation", "FireEngineParameters", "derive_fire_engine", "fire_engine_model"]

YES_NO = (False, True)


@dataclass(frozen=True)
class FireEngineParameters:
    """The five mechanism parameters of the fire-engine chain fire -> report -> engine."""

    p_fire: Any = Fraction(1, 1000)
    p_report_given_fire: Any = Fraction(999, 1000)
    p_report_given_no_fire: Any = Fraction(1, 19000)
    p_engine_given_report: Any = Fraction(9, 10)
    p_engine_given_no_report: Any = Fraction(0)


def fire_engine_model(params: FireEngineParameters | None = None) -> SCM:
    """The SCM fire -> report -> engine with the given (default: the stated) parameters."""
    p = params or FireEngineParameters()
    if not isinstance(p, FireEngineParameters):
        raise InvalidArgument(f"expected FireEngineParameters, got {type(p).__name__}")
    for name, value in asdict(p).items():
        check_probability(value, name)
    return SCM([
        Variable("fire", YES_NO, cpt=bernoulli(p.p_fire)),
        Variable("report", YES_NO, ("fire",), {
            True: bernoulli(p.p_report_given_fire),
            False: bernoulli(p.p_report_given_no_fire),
        }),
        Variable("engine", YES_NO, ("report",), {
            True: bernoulli(p.p_engine_given_report),
            False: bernoulli(p.p_engine_given_no_report),
        }),
    ])


@dataclass(frozen=True)
class FireEngineDerivation:
    """Every intermediate quantity of the derivation, exact, plus the text of each step."""

    parameters: FireEngineParameters
    p_fire_and_engine: Any
    p_no_fire_and_engine: Any
    p_engine: Any
    observational: Any          # P(fire | engine), Bayes' rule on the records
    interventional: Any         # P(fire | do(engine)), after surgery
    p_fire: Any                 # the prior P(fire), for comparison
    p_fire_given_do_engine_and_report: Any  # P(fire | do(engine), report): evidence still counts
    steps: tuple[tuple[str, str, Any], ...]  # (quantity, formula with the numbers, value)

    def as_json(self) -> dict:
        """Exact values as fraction strings beside floats (the project's JSON convention)."""
        def num(x: Any) -> dict:
            return {"exact": str(x), "float": float(x)}

        return {
            "structure": "fire -> report -> engine",
            "parameters": {k: num(v) for k, v in asdict(self.parameters).items()},
            "p_fire_and_engine": num(self.p_fire_and_engine),
            "p_no_fire_and_engine": num(self.p_no_fire_and_engine),
            "p_engine": num(self.p_engine),
            "p_fire_given_engine": num(self.observational),
            "p_fire_given_do_engine": num(self.interventional),
            "p_fire": num(self.p_fire),
            "p_fire_given_do_engine_and_report": num(self.p_fire_given_do_engine_and_report),
            "steps": [{"quantity": q, "formula": f, "value": num(v)} for q, f, v in self.steps],
        }


def derive_fire_engine(params: FireEngineParameters | None = None) -> FireEngineDerivation:
    """Derive P(fire | engine) and P(fire | do(engine)) from the mechanisms, step by step.

    The step texts are built from the model's own CPT entries; the final numbers come from the
    SCM engine's queries (the tests check that both routes agree).
    """
    p = params or FireEngineParameters()
    m = fire_engine_model(p)
    f = m.mechanism("fire", True)
    r1 = m.mechanism("report", True, {"fire": True})
    r0 = m.mechanism("report", True, {"fire": False})
    e1 = m.mechanism("engine", True, {"report": True})
    e0 = m.mechanism("engine", True, {"report": False})

    joint_fire = m.probability({"fire": True, "engine": True})
    joint_no_fire = m.probability({"fire": False, "engine": True})
    p_engine = m.probability({"engine": True})
    observational = m.probability({"fire": True}, given={"engine": True})
    interventional = m.probability({"fire": True}, do={"engine": True})
    after = m.probability({"fire": True}, do={"engine": True}, given={"report": True})

    steps = (
        ("P(fire, engine)",
         f"P(fire) [P(report|fire) P(engine|report) + P(no report|fire) P(engine|no report)]"
         f" = {_q(f)} * ({_q(r1)} * {_q(e1)} + {_q(1 - r1)} * {_q(e0)})",
         f * (r1 * e1 + (1 - r1) * e0)),
        ("P(no fire, engine)",
         f"P(no fire) [P(report|no fire) P(engine|report) + P(no report|no fire) P(engine|no report)]"
         f" = {_q(1 - f)} * ({_q(r0)} * {_q(e1)} + {_q(1 - r0)} * {_q(e0)})",
         (1 - f) * (r0 * e1 + (1 - r0) * e0)),
        ("P(engine)", f"P(fire, engine) + P(no fire, engine) = {short(joint_fire, 40)} + {short(joint_no_fire, 40)}",
         joint_fire + joint_no_fire),
        ("P(fire | engine)", f"P(fire, engine) / P(engine) = {_q(joint_fire)} / {_q(p_engine)}",
         joint_fire / p_engine),
        ("P(fire | do(engine))",
         "surgery: engine's mechanism P(engine | report) becomes a point mass at 'sent'; fire is "
         f"not a descendant of engine, so its factor P(fire) survives untouched = {short(f, 40)}",
         f),
        ("P(fire | do(engine), report)",
         "after the surgery a report is still world-written evidence: "
         f"P(fire) P(report|fire) / P(report) = {_q(f * r1)} / {_q(f * r1 + (1 - f) * r0)}",
         f * r1 / (f * r1 + (1 - f) * r0)),
    )
    return FireEngineDerivation(
        parameters=p,
        p_fire_and_engine=joint_fire,
        p_no_fire_and_engine=joint_no_fire,
        p_engine=p_engine,
        observational=observational,
        interventional=interventional,
        p_fire=f,
        p_fire_given_do_engine_and_report=after,
        steps=steps,
    )


def _q(x: Any) -> str:
    """A number as text (shortened past 40 characters), parenthesised when it is a fraction so that
    a / b reads unambiguously."""
    text = short(x, 40)
    return f"({text})" if "/" in text else text
