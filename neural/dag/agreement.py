"""Per-seed analyses of the learner's behaviour and their summary over seeds: the experimenting
behaviour (does it try each variable once?), strategy agreement and the rewards, with 95%
Student-t intervals over seeds and differences paired by seed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bayes_agent.dag.evaluation import REFERENCE_AGENTS, paired_difference, seed_interval
from bayes_agent.dag.world import N_NODES, SPLITS, EpisodeBatch, HypothesisSpace, action_node

if TYPE_CHECKING:
    from .runs import ReportConfig

__all__ = ["COMPARED", "HEURISTICS", "METHODS", "acceptance", "aggregate", "experimenting"]

#: issue 20's checks on ``target``: the learner's mean reward, and its paired margin over each heuristic
ACCEPT_REWARD, ACCEPT_MARGIN = 0.85, 0.15

#: the learner's comparison set, in report order
METHODS: tuple[str, ...] = ("bc_agent", *REFERENCE_AGENTS)
#: what the BC agent is compared with, seed by seed, in the verdict
COMPARED: tuple[str, ...] = ("experimenter", "observation_only", "largest_change", "best_value",
                             "total_correlation", "partial_correlation", "random")
#: the strategies the issue asks the learner to beat (and to side against in agreement)
HEURISTICS: tuple[str, ...] = ("observation_only", "best_value", "largest_change", "total_correlation",
                               "partial_correlation")


def experimenting(batch: EpisodeBatch) -> dict[str, list[float]]:
    """Per experimentation trial: the share of choices that are a positive intervention on a node
    not tried before in the episode, and the share of episodes that tried every node once."""
    e = batch.config.n_explore
    acts = batch.actions[:, :e]
    fresh = []
    for t in range(e):
        nodes = action_node(acts[:, t])
        before = (action_node(acts[:, :t]) == nodes[:, None]).any(axis=1) if t else np.zeros(len(acts), bool)
        fresh.append(float(((acts[:, t] % 2 == 0) & ~before).mean()))
    every = float(np.mean([len({action_node(a) for a in row}) == min(e, N_NODES) for row in acts]))
    return {"fresh_positive": fresh, "each_node_once": every}



def aggregate(per_seed: list[dict], config: "ReportConfig", name: str, space: HypothesisSpace,
               jobs: int) -> dict:
    """Every seed's numbers summarised: intervals over seeds, paired differences, curves."""
    metrics: dict = {
        "config": name,
        "settings": {**config.settings(), "jobs": min(jobs, config.seeds)},  # every setting
        "n_hypotheses": len(space),
        "split_sizes": {s: int(len(space.split_members(s))) for s in SPLITS},
        "bc_final_loss": [r["final_loss"] for r in per_seed],
        "chosen_step": [r["chosen_step"] for r in per_seed],
    }
    for split in SPLITS:
        rw = {m: [r["rewards"][m][split] for r in per_seed] for m in METHODS}
        metrics[split] = {
            "reward": {m: seed_interval(v) for m, v in rw.items()},
            "best_action_rate": {m: seed_interval([r["best_rate"][m][split] for r in per_seed]) for m in METHODS},
            "bc_minus": {m: paired_difference(rw["bc_agent"], rw[m]) for m in COMPARED},
            "agreement": {s: {k: seed_interval([r["agreement"][split][s][k] for r in per_seed])
                              for k in per_seed[0]["agreement"][split][s]}
                          for s in per_seed[0]["agreement"][split]},
        }
    metrics["experimenting"] = {
        who: {"fresh_positive": [seed_interval([r[key][split]["fresh_positive"][t] if split else
                                                r[key]["fresh_positive"][t] for r in per_seed])
                                 for t in range(config.world.n_explore)],
              "each_node_once": seed_interval([r[key][split]["each_node_once"] if split else
                                               r[key]["each_node_once"] for r in per_seed])}
        for who, key, split in (("bc_agent_target", "experimenting", "target"),
                                ("bc_agent_train", "experimenting", "train"),
                                ("expert", "expert_experimenting", None))}
    metrics["bc_training_curve"] = {s: {k: seed_interval([r["curve"][s][k] for r in per_seed])
                                        for k in per_seed[0]["curve"][s]} for s in ("train", "validation")}
    if all("c_pick" in r["curve"] for r in per_seed):  # seeds saved before the C-pick rate lack it
        metrics["bc_training_curve"]["c_pick"] = {
            k: seed_interval([r["curve"]["c_pick"][k] for r in per_seed]) for k in per_seed[0]["curve"]["c_pick"]}
    metrics["acceptance"] = acceptance(metrics)
    if config.explanations:
        ex = [r["explanations"] for r in per_seed]
        metrics["explanations"] = {
            "counts": {k: [x[k] for x in ex] for k in ("n_confounded", "n_expert", "n_deconfounded", "n_test")},
            **{f"{arm}_{k}": seed_interval([x[arm][k] for x in ex])
               for arm in ("with", "without") for k in ex[0]["with"]},
            "with_minus_without": {k: paired_difference([x["with"][k] for x in ex], [x["without"][k] for x in ex])
                                   for k in ex[0]["with"]},
            "experimenter_deconfounded_reward": seed_interval([x["experimenter_deconfounded_reward"] for x in ex]),
        }
    return metrics



def acceptance(metrics: dict, split: str = "target") -> dict:
    """Issue 20's checks on a split, read off the summary: mean reward at least
    ``ACCEPT_REWARD``; against each heuristic a paired margin of at least ``ACCEPT_MARGIN`` with
    verdict ``above``; and in strategy agreement, choosing as the experimenter more often than as
    the strategy wherever the two disagree. Reported, never tuned toward."""
    m = metrics[split]
    margins = {h: m["bc_minus"][h]["mean"] >= ACCEPT_MARGIN and m["bc_minus"][h]["verdict"] == "above"
               for h in HEURISTICS}
    sides = {h: row["matches_experimenter"]["mean"] > row["matches_strategy"]["mean"]
             for h, row in m["agreement"].items() if h != "all_trials"}
    reward = m["reward"]["bc_agent"]["mean"] >= ACCEPT_REWARD
    return {"split": split, "reward": reward, "bc_minus": margins, "agreement": sides,
            "all": bool(reward and all(margins.values()) and all(sides.values()))}
