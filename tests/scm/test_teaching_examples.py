"""The teaching examples: the fire engine of §2.1 and shorts / ice cream / sun across climates."""

from __future__ import annotations

import math
from fractions import Fraction as F

import pytest
import sympy

from bayes_agent import (CLIMATES, FireEngineParameters, IceCreamMechanisms, climate_row, climate_table,
                         derive_fire_engine, fire_engine_model, ice_cream_model, passive_vs_experiment,
                         pooled_ice_cream_model, row_from_model)

# ---------------------------------------------------------------------------------------------
# fire engine


def test_fire_engine_derives_the_papers_numbers_exactly():
    d = derive_fire_engine()
    assert d.observational == F(19, 20)
    assert d.interventional == F(1, 1000)
    assert type(d.observational) is F and type(d.interventional) is F


def test_fire_engine_numbers_come_from_the_engine_not_from_the_parameters():
    m = fire_engine_model()
    assert m.probability({"fire": True}, given={"engine": True}) == F(19, 20)
    assert m.probability({"fire": True}, do={"engine": True}) == F(1, 1000)
    # the intervention really is surgery: engine is certain, report keeps its marginal
    assert m.distribution("engine", do={"engine": True})[True] == 1
    assert m.distribution("report", do={"engine": True}) == m.distribution("report")


def test_fire_engine_hand_steps_agree_with_the_engine():
    d = derive_fire_engine()
    values = {q: v for q, _, v in d.steps}
    assert values["P(fire, engine)"] == d.p_fire_and_engine
    assert values["P(no fire, engine)"] == d.p_no_fire_and_engine
    assert values["P(engine)"] == d.p_engine
    assert values["P(fire | engine)"] == d.observational
    assert values["P(fire | do(engine))"] == d.interventional
    assert values["P(fire | do(engine), report)"] == d.p_fire_given_do_engine_and_report == F(19, 20)
    # the numbers shown in each formula are the model's own CPT entries
    assert "(1/19000)" in dict((q, f) for q, f, _ in d.steps)["P(no fire, engine)"]


def test_fire_engine_changing_a_parameter_moves_only_the_observational_number():
    d = derive_fire_engine(FireEngineParameters(p_report_given_no_fire=F(1, 2000)))
    assert d.observational == F(2, 3)
    assert d.interventional == F(1, 1000)
    d2 = derive_fire_engine(FireEngineParameters(p_fire=F(1, 100)))
    assert d2.interventional == F(1, 100)
    assert d2.observational != F(19, 20)


def test_fire_engine_symbolic_prior_gives_a_closed_form():
    f = sympy.Symbol("f", positive=True)
    m = fire_engine_model(FireEngineParameters(p_fire=f))
    closed = m.probability({"fire": True}, given={"engine": True})
    assert sympy.simplify(closed - 18981 * f / (18980 * f + 1)) == 0
    assert closed.subs(f, sympy.Rational(1, 1000)) == sympy.Rational(19, 20)
    assert m.probability({"fire": True}, do={"engine": True}) == f


def test_fire_engine_json_has_exact_strings_and_floats():
    data = derive_fire_engine().as_json()
    assert data["p_fire_given_engine"] == {"exact": "19/20", "float": 0.95}
    assert data["p_fire_given_do_engine"] == {"exact": "1/1000", "float": 0.001}


# ---------------------------------------------------------------------------------------------
# ice cream


def test_the_observational_contrast_moves_with_the_climate():
    rows = climate_table(CLIMATES)
    contrasts = [r.observational_contrast for r in rows]
    assert len(set(contrasts)) == len(contrasts)
    assert all(c > 0 for c in contrasts)      # shorts look like they cause ice cream...
    by_hand = F(4, 5) * F(13, 20) / 2 + F(1, 10) * F(1, 20) / 2
    assert rows[2].p_ice_given_shorts == by_hand / (F(4, 5) / 2 + F(1, 10) / 2)


def test_the_causal_effect_and_mechanisms_are_invariant_exactly():
    for row in climate_table([F(1, 10), F(1, 3), F(1, 2), F(7, 10), F(99, 100)]):
        assert row.causal_effect == F(-1, 20)   # ...but putting shorts on slightly lowers it
        assert row.mechanism_sun == F(13, 20)
        assert row.mechanism_no_sun == F(1, 20)


def test_p_ice_do_shorts_alone_still_moves_with_the_sun():
    rows = climate_table(CLIMATES)
    for row in rows:
        assert row.p_ice_do_shorts == row.p_sun * F(13, 20) + (1 - row.p_sun) * F(1, 20)
    assert len({r.p_ice_do_shorts for r in rows}) == len(rows)


def test_with_no_direct_effect_the_causal_effect_is_zero_and_contrast_still_positive():
    mech = IceCreamMechanisms(direct_effect=0)
    row = climate_row(F(1, 2), mech)
    assert row.causal_effect == 0
    assert row.observational_contrast > 0


def test_intervening_on_shorts_does_not_move_the_sun():
    m = ice_cream_model(F(1, 10))
    assert m.probability({"sun": True}, do={"shorts": True}) == F(1, 10)
    assert m.probability({"sun": True}, given={"shorts": True}) == F(8, 17)


def test_closed_forms_in_p_sun():
    s = sympy.Symbol("s", positive=True)
    row = climate_row(s)
    assert row.causal_effect == sympy.Rational(-1, 20)
    assert sympy.simplify(row.p_ice_do_shorts - (3 * s / 5 + sympy.Rational(1, 20))) == 0
    assert s in row.observational_contrast.free_symbols
    for p in (F(1, 10), F(1, 2), F(9, 10)):
        exact = climate_row(p).observational_contrast
        assert row.observational_contrast.subs(s, sympy.Rational(p.numerator, p.denominator)) == \
            sympy.Rational(exact.numerator, exact.denominator)


def test_pooled_data_behave_like_the_average_climate():
    pool = pooled_ice_cream_model({k: CLIMATES[k] for k in ("rainy", "sunny")})
    row = row_from_model(pool)
    assert row.p_sun == F(2, 5)
    assert row.observational_contrast == climate_row(F(2, 5)).observational_contrast
    assert row.causal_effect == F(-1, 20)
    # the pool's passive limit is neither the target climate's contrast nor the causal effect
    assert row.observational_contrast != climate_row(CLIMATES["desert"]).observational_contrast


def test_passive_estimates_converge_to_the_pool_and_the_experiment_to_the_causal_effect():
    res = passive_vs_experiment({k: CLIMATES[k] for k in ("rainy", "sunny")}, CLIMATES["desert"],
                                n_max=40_000, seeds=(0, 1))
    assert res["n"][0] == 10 and res["n"][-1] == 40_000
    pool, causal = float(res["pool_observational_contrast"]), float(res["causal_effect"])
    for curve in res["passive"]:
        assert abs(curve[-1] - pool) < 0.03
        assert abs(curve[-1] - causal) > 0.3
    for curve in res["experiment"]:
        assert abs(curve[-1] - causal) < 0.03
    again = passive_vs_experiment({k: CLIMATES[k] for k in ("rainy", "sunny")}, CLIMATES["desert"],
                                  n_max=40_000, seeds=(0, 1))
    assert again["passive"] == res["passive"]     # seeded, deterministic


def test_float_climate_agrees_with_exact():
    exact = climate_row(F(3, 10))
    approx = climate_row(0.3)
    assert math.isclose(approx.observational_contrast, float(exact.observational_contrast), rel_tol=1e-12)
    assert math.isclose(approx.causal_effect, -0.05, rel_tol=1e-12)


@pytest.mark.parametrize("name", ["climates", "more_data"])
def test_figures_are_written(tmp_path, name):
    from bayes_agent.scm.ice_cream import plot_climates, plot_more_data

    path = tmp_path / f"{name}.png"
    if name == "climates":
        plot_climates(path, points=9)
    else:
        plot_more_data(path, passive_vs_experiment({"a": F(1, 10), "b": F(7, 10)}, F(9, 10),
                                                   n_max=2_000, seeds=(0,)))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
