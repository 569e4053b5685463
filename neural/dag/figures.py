"""The study's figures: rewards per split, the validation curve during training, experimenting."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bayes_agent.dag.world import SPLITS

from .agreement import METHODS

__all__ = ["plot_ablation", "plot_comparison", "plot_curve", "plot_experimenting"]


def _axes(size: tuple[float, float], ncols: int = 1):
    """A new figure and its axes, drawn off screen (matplotlib imported only when plotting)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=size)


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _err(d: dict) -> float:
    return 0.0 if d["ci95"] is None else d["ci95"]


def plot_comparison(m: dict, path: Path) -> None:
    """Mean exploitation reward of every agent on every split, with 95% intervals over seeds."""
    fig, ax = _axes((12, 4.8))
    width = 0.8 / len(METHODS)
    for i, meth in enumerate(METHODS):
        xs = np.arange(len(SPLITS)) + (i - (len(METHODS) - 1) / 2) * width
        ax.bar(xs, [m[s]["reward"][meth]["mean"] for s in SPLITS], width,
               yerr=[_err(m[s]["reward"][meth]) for s in SPLITS], capsize=2, label=meth.replace("_", " "))
    ax.set_xticks(np.arange(len(SPLITS)))
    ax.set_xticklabels(["train", "validation\n(C → A held out)", "target\n(D → E held out)", "path\n(D on the path to E)"])
    ax.set_ylabel("mean exploitation reward\n(goal value after intervention)")
    ax.set_title(f"Passive BC agent vs exact experimenter and baselines "
                 f"(95% CI over {m['settings']['seeds']} seeds)")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _save(fig, path)


def plot_curve(m: dict, path: Path) -> None:
    """Active evaluations during passive training (train and validation only), with the
    validation share of choices on C where the run recorded it."""
    fig, ax = _axes((7, 4))
    for s in ("train", "validation"):
        curve = m["bc_training_curve"][s]
        steps = sorted(curve, key=int)
        mean = np.array([curve[k]["mean"] for k in steps])
        ci = np.array([_err(curve[k]) for k in steps])
        line, = ax.plot([int(k) for k in steps], mean, marker="o", label=f"BC agent, {s}")
        ax.fill_between([int(k) for k in steps], mean - ci, mean + ci, alpha=0.2, color=line.get_color())
        ax.axhline(m[s]["reward"]["experimenter"]["mean"], color=line.get_color(), linestyle="--",
                   linewidth=1, label=f"exact experimenter, {s}")
    pick = m["bc_training_curve"].get("c_pick")
    if pick:  # how often the agent acts on C for goal A on validation (C is best in every episode)
        steps = sorted(pick, key=int)
        ax.plot([int(k) for k in steps], [pick[k]["mean"] for k in steps], marker="s", color="grey",
                linestyle=":", label="validation: share of choices on C")
    ax.set_xlabel("behaviour-cloning step (passive training)")
    ax.set_ylabel("mean exploitation reward (active evaluation)")
    ax.set_title("Active evaluations during passive training\n(the held-out test splits are not looked at)")
    ax.legend(fontsize=7)
    _save(fig, path)


#: Fewest seeds for which the experimenting figure draws an interval: with two, Student's t
#: (one degree of freedom, t = 12.7) gives bars far wider than the [0, 1] range of a share.
MIN_SEEDS_FOR_INTERVAL = 3


def _share_bars(rows: list[dict]) -> np.ndarray | None:
    """(lower, upper) error-bar lengths of per-trial shares: the rows' 95% Student-t half-widths,
    clipped to [0, 1]; None when fewer than :data:`MIN_SEEDS_FOR_INTERVAL` seeds stand behind them."""
    if min(len(r["per_seed"]) for r in rows) < MIN_SEEDS_FOR_INTERVAL or any(r["ci95"] is None for r in rows):
        return None
    mean = np.array([r["mean"] for r in rows])
    half = np.array([r["ci95"] for r in rows])
    return np.vstack([np.minimum(half, mean), np.minimum(half, 1 - mean)])


def plot_experimenting(m: dict, path: Path) -> None:
    """Per experimentation trial, the share of do(+v) on an untried node (expert vs learner), with
    95% Student-t intervals over seeds (clipped to [0, 1]) where there are enough seeds to mean something."""
    fig, ax = _axes((6.5, 4))
    series = (("expert", "expert (exact experimenter)"), ("bc_agent_train", "BC agent, train split"),
              ("bc_agent_target", "BC agent, target split"))
    seeds = set()
    drawn = False
    for i, (who, label) in enumerate(series):
        rows = m["experimenting"][who]["fresh_positive"]
        seeds.update(len(r["per_seed"]) for r in rows)
        ts = np.arange(1, len(rows) + 1) + (i - 1) * 0.08   # side by side, so bars do not hide each other
        bars = _share_bars(rows)
        drawn |= bars is not None
        ax.errorbar(ts, [r["mean"] for r in rows], yerr=bars, marker="o", capsize=3,
                    label=f"{label} (each node once: {m['experimenting'][who]['each_node_once']['mean']:.2f})")
    n_trials = max(len(m["experimenting"][who]["fresh_positive"]) for who, _ in series)
    ax.set_xticks(np.arange(1, n_trials + 1))
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("experimentation trial")
    ax.set_ylabel("share of choices: do(+v) on a node\nnot tried before in the episode")
    n = "/".join(str(k) for k in sorted(seeds))
    if drawn and len(seeds) == 1:
        how = f"bars: 95% Student-t interval over {n} seeds, clipped to [0, 1]"
    elif drawn:  # series over different numbers of seeds: say which get bars
        how = (f"means over {n} seeds; bars (95% Student-t, clipped to [0, 1]) only on series with "
               f"≥ {MIN_SEEDS_FOR_INTERVAL} seeds")
    else:
        how = f"means over {n} seed(s); no interval (fewer than {MIN_SEEDS_FOR_INTERVAL} seeds)"
    ax.set_title(f"Experimenting behaviour: does it try each variable once?\n({how})", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    _save(fig, path)


def plot_ablation(summary: dict, path: Path) -> None:
    """The validation-only study: each arm's fresh validation score (95% intervals over seeds) at
    the default budget, and the long runs' validation reward and C share at every checkpoint,
    one colour per budget and identity fix."""
    fig, (left, right) = _axes((14, 4.8), ncols=2)
    arms = [a for a in summary["arms"] if a["steps"] == min(b["steps"] for b in summary["arms"])]
    xs = np.arange(len(arms))
    left.bar(xs, [a["score"]["mean"] for a in arms], yerr=[_err(a["score"]) for a in arms], capsize=3,
             color=["tab:blue" if a["data"] == "experimenter" else "tab:orange" for a in arms])
    left.set_xticks(xs)
    data = {"experimenter": "exp.", "oracle": "oracle"}
    left.set_xticklabels([f"{a['attention']}\n{a['identity_init']} ids"
                          + ("" if a.get("fix", "none") == "none" else f"\n{a['fix']}")
                          + f"\n{data.get(a['data'], a['data'])} {a['n_expert'] // 1000}k ({len(a['seeds'])})"
                          for a in arms], fontsize=6.5)
    left.set_ylabel("validation reward of the kept checkpoint\n(fresh episodes; goal A, C held out)")
    left.set_title("Ablation on validation (seeds per arm in brackets)")
    left.axhline(0, color="black", linewidth=0.5)
    default = min((c["steps"] for c in summary["curves"]), default=0)
    by_fix = {"none": "tab:red", "decay": "tab:blue", "frozen": "tab:green"}
    longest = max((c["steps"] for c in summary["curves"]), default=0)
    colours: dict[tuple, str] = {}
    for c in sorted(summary["curves"], key=lambda c: (c["steps"], c.get("fix", "none"))):
        if c["steps"] == default:
            continue
        group = (c["steps"], c.get("fix", "none"))
        first = group not in colours
        colour = colours.setdefault(group, by_fix.get(group[1], "black") if c["steps"] == longest else "tab:grey")
        steps = sorted(c["curve"]["validation"], key=int)
        name = f"{c['steps']} steps, identity fix: {group[1]}"
        right.plot([int(k) for k in steps], [c["curve"]["validation"][k] for k in steps], color=colour,
                   marker="o", markersize=2, linewidth=1, label=f"validation reward, {name}" if first else None)
        right.plot([int(k) for k in steps], [c["curve"]["c_pick"][k] for k in steps], color=colour,
                   linestyle=":", linewidth=1, label=f"share of choices on C, {name}" if first else None)
    right.set_xlabel("behaviour-cloning step")
    right.set_title("Long runs, one line per seed (relation, zero ids, exp. data)")
    right.set_ylim(0, 1.05)
    if colours:
        right.legend(fontsize=6, loc="lower right")
    _save(fig, path)
