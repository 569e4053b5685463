"""Fire engines do not cause fires: P(fire | engine) vs P(fire | do(engine)) (paper §2.1).

Run:  python examples/fire_engine.py
"""

from fractions import Fraction

from bayes_agent import SCM, FireEngineParameters, Variable, bernoulli, derive_fire_engine, fire_engine_model

# 1. The stated model, and the derivation the engine performs on it.
model = fire_engine_model()
print(model.describe())
d = derive_fire_engine()
print("P(fire | engine sent)     =", d.observational)      # 19/20: records select on the report
print("P(fire | do(engine sent)) =", d.interventional)     # 1/1000: the prior, untouched

# 2. Surgery semantics: after do(engine), the engine is certain and fire keeps its prior.
after = model.do(engine=True)
print("P(engine) after do:", after.distribution("engine"))
print("P(fire) after do:  ", after.distribution("fire"))

# 3. A report is still evidence after we intervene on the engine.
print("P(fire | do(engine), report) =",
      model.probability({"fire": True}, do={"engine": True}, given={"report": True}))

# 4. Change one parameter and the observational number moves; the causal one does not.
noisier = FireEngineParameters(p_report_given_no_fire=Fraction(1, 2000))
print("with false alarms 1/2000: P(fire | engine) =", derive_fire_engine(noisier).observational,
      " P(fire | do(engine)) =", derive_fire_engine(noisier).interventional)

# 5. The same engine on a model you write yourself.
mine = SCM([
    Variable("fire", (False, True), cpt=bernoulli("1/1000")),
    Variable("engine", (False, True), parents=("fire",),
             cpt={True: bernoulli("19/20"), False: bernoulli("1/19980")}),
])
print("two-node version: P(fire | engine) =", mine.probability({"fire": True}, given={"engine": True}))
