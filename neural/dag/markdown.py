"""The study's report.md, written from metrics.json alone."""

from __future__ import annotations

from bayes_agent.dag.evaluation import studies_markdown
from bayes_agent.dag.world import SPLITS

from .agreement import COMPARED, METHODS
from .explanations import CONFOUND

__all__ = ["IN_DISTRIBUTION_NOTE", "report_markdown"]

#: what the named variant's report says first: its held-out splits are not held out for it
IN_DISTRIBUTION_NOTE = (
    "**Named variant, shuffled identities: the target split is in-distribution by construction.** "
    "Node identities are reshuffled every episode and one head serves every node, so every target "
    "(graph, goal) pair is a relabelling of a training pair; this run does not test generalisation "
    "to an unseen dependency.")



def _cell(d: dict, signed: bool = False) -> str:
    ci = "n/a" if d["ci95"] is None else f"{d['ci95']:.3f}"
    return f"{d['mean']:+.3f} ± {ci}" if signed else f"{d['mean']:.3f} ± {ci}"


def report_markdown(m: dict) -> str:
    s = m["settings"]
    lines = [f"# Passive learning of active causal strategies ({m['config']} config)", "",
             f"{m['n_hypotheses']} hypotheses; split sizes {m['split_sizes']}; world {s['world']}; "
             f"{s['seeds']} seeds, {s['n_expert']} expert episodes per seed, {s['n_eval']} evaluation "
             f"episodes per split ({s['n_info_gain']} for the information-gain experimenter); "
             f"checkpoint chosen on validation at steps {m['chosen_step']}; {m['seconds']} s.", "",
             *([IN_DISTRIBUTION_NOTE, ""] if s["bc"]["shuffle_identities"] else []),
             *_acceptance_lines(m),
             "Mean exploitation reward ± 95% CI over seeds:", "",
             "| agent | " + " | ".join(SPLITS) + " |", "|---|" + "---|" * len(SPLITS)]
    for meth in METHODS:
        lines.append(f"| {meth} | " + " | ".join(_cell(m[sp]["reward"][meth]) for sp in SPLITS) + " |")
    lines += ["", "Share of exploitation choices that are the true best action:", "",
              "| agent | " + " | ".join(SPLITS) + " |", "|---|" + "---|" * len(SPLITS)]
    for meth in METHODS:
        lines.append(f"| {meth} | " + " | ".join(_cell(m[sp]["best_action_rate"][meth]) for sp in SPLITS) + " |")
    lines += ["", "BC agent minus each agent, paired by seed (verdict: above / below / tied when the "
              "interval covers 0):", "", "| BC agent minus | " + " | ".join(SPLITS) + " |",
              "|---|" + "---|" * len(SPLITS)]
    for other in COMPARED:
        lines.append(f"| {other} | " + " | ".join(
            f"{_cell(m[sp]['bc_minus'][other], True)} ({m[sp]['bc_minus'][other]['verdict']})"
            for sp in SPLITS) + " |")
    for split in ("target", "validation"):
        ag = m[split]["agreement"]
        lines += ["", f"Strategy agreement on the {split} split: on the exploitation trials where the "
                  "experimenter and a strategy choose differently, how often the BC agent chose as each:", "",
                  "| strategy | trials (mean per seed) | BC = experimenter | BC = strategy |", "|---|---|---|---|"]
        for strat, row in ag.items():
            if strat == "all_trials":
                continue
            lines.append(f"| {strat} | {row['trials']['mean']:.1f} | {_cell(row['matches_experimenter'])} "
                         f"| {_cell(row['matches_strategy'])} |")
        lines.append("| (all trials) BC = | " + ", ".join(
            f"{k} {v['mean']:.3f}" for k, v in ag["all_trials"].items()) + " | | |")
    ex = m["experimenting"]
    lines += ["", "Experimenting behaviour (share of do(+v) on an untried node per experimentation trial; "
              "episodes that tried each node once):", "", "| who | per trial | each node once |", "|---|---|---|"]
    for who, row in ex.items():
        lines.append(f"| {who} | " + ", ".join(f"{r['mean']:.3f}" for r in row["fresh_positive"]) +
                     f" | {_cell(row['each_node_once'])} |")
    if "explanations" in m:
        e = m["explanations"]
        lines += ["", f"Explanations (confounded training: expert episodes where `{CONFOUND}` agrees with the "
                  f"expert, {e['counts']['n_confounded']} of {e['counts']['n_expert']} per seed; deconfounded "
                  f"test: {e['counts']['n_deconfounded']} of {e['counts']['n_test']} train-split episodes where "
                  "they disagree; experimenter there "
                  f"{_cell(e['experimenter_deconfounded_reward'])}):", "",
                  "| metric | without explanations | with explanations | with - without (paired) |",
                  "|---|---|---|---|"]
        for k in e["with_minus_without"]:
            d = e["with_minus_without"][k]
            lines.append(f"| {k} | {_cell(e['without_' + k])} | {_cell(e['with_' + k])} | "
                         f"{_cell(d, True)} ({d['verdict']}) |")
    lines += studies_markdown(m)
    lines += ["", "BC agent during training (active evaluation on train and validation only):", "",
              "| step | train | validation | validation: share of choices on C |", "|---|---|---|---|"]
    curve = m["bc_training_curve"]
    for k in sorted(curve["train"], key=int):
        pick = _cell(curve["c_pick"][k]) if "c_pick" in curve else "n/a"
        lines.append(f"| {k} | {_cell(curve['train'][k])} | {_cell(curve['validation'][k])} | {pick} |")
    lines += ["", "![comparison](causal_strategies.png)", "", "![curve](bc_training_curve.png)", "",
              "![experimenting](experimenting.png)", ""]
    return "\n".join(lines)



def _acceptance_lines(m: dict) -> list[str]:
    a = m.get("acceptance")
    if a is None:
        return []
    failed = ([] if a["reward"] else ["reward"]) + [f"margin over {h}" for h, ok in a["bc_minus"].items() if not ok] + \
        [f"agreement against {h}" for h, ok in a["agreement"].items() if not ok]
    return [f"Issue 20's checks on `{a['split']}`: " + ("all met." if a["all"] else "not met: " + ", ".join(failed) + "."), ""]
