"""The §5 report as markdown sections: one run's summary, tables and held-out facts, and the
aggregate over seeds. Each function returns ``(title, body)`` pairs for :func:`report.write_report`;
numbers come from ``metrics.json``-shaped dicts (keys spelled by :func:`metrics.metric_key`).
"""

from __future__ import annotations

from typing import Any, Sequence

from .arms import arm as arm_record
from .metrics import metric_key
from .presets import Preset

__all__ = ["REPLY_REASONS", "counted", "reply_notes", "run_sections", "seed_sections"]

REPLY_REASONS = {
    "base": "Its corpus answers a user's bare statement of a fact with an affirmation that restates it, "
            "and a false claim with a correction; but the probes frame the claim in wording it never read "
            "(\"I read this somewhere: ...\"), and where it does not restate it falls back on the closing "
            "lines of its corpus dialogues (acknowledgements, \"I stand corrected.\"), which state neither "
            "claim.",
    "obs": "It was trained on every non-context token, its own turns included: answers that were lies in "
           "60% of the dialogues, and an acknowledgement after every user statement. So it can state a "
           "trained lie, or acknowledge without a claim.",
    "do": "It never received a gradient on an agent token: what it says in the agent slot comes from the "
          "base and from the user turns it was trained on, which always state the truth.",
    "ao": "It was trained on the agent's tokens only, and in the training dialogues the agent's turn after "
          "a user's statement is always an acknowledgement from a pool of six (\"Thanks, I will remember "
          "that.\", \"Understood.\", ...). Both greedy probes end on exactly that shape (the user states a "
          "claim, the agent replies), so its replies there are often acknowledgements, which state neither claim: `other`.",
}
"""Why each model's greedy replies look the way they do (the report's explanation, per arm)."""


def reply_notes(probes: dict[str, Sequence[Any]]) -> str:
    """For each model: its most frequent truth- and lie-probe reply, its label counts, and why."""
    from collections import Counter

    lines = ["A reply is labelled by the claim it states; a reply that states neither claim (an "
             "acknowledgement, an opener alone) is `other`, whatever it sounds like.", ""]
    for name, results in probes.items():
        if not results:
            continue
        parts = []
        for probe, reply, label in (("truth", "truth_reply", "truth_label"), ("lie", "lie_reply", "lie_label")):
            text, n = Counter(getattr(r, reply) for r in results).most_common(1)[0]
            counts = Counter(getattr(r, label) for r in results)
            parts.append(f"{probe} probe: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                         + f"; most frequent reply \"{text}\" ({n} of {len(results)})")
        lines.append(f"* **{arm_record(name).display}**: " + "; ".join(parts) + ". " + REPLY_REASONS.get(name, ""))
    return "\n".join(lines)


def _fmt(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def _setting(value: Any) -> str:
    """A setting's value in a table cell (JSON for lists and tables)."""
    import json

    return f"`{value if isinstance(value, str) else json.dumps(value, default=str)}`"


def counted(n: int, noun: str) -> str:
    """``1 fact``, ``2 facts``: a count with its noun in the right number."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _training_text(m: dict[str, Any], preset: Preset) -> str:
    """The facts and the fine-tuning a run did: training facts and probed facts apart, and epochs
    as run (one example per step) when ``--max-steps`` stopped the arms early."""
    n_train = m.get("n_train_facts", m["n_facts"])  # a run saved before n_train_facts: as it was
    probed = "" if n_train == m["n_facts"] else f" ({m['n_facts']} probed)"
    planned = preset.train.epochs * m["n_dialogues"]
    if m["steps"] < planned:
        epochs = (f"{m['steps'] / m['n_dialogues']:.2g} of {counted(preset.train.epochs, 'fine-tuning epoch')} "
                  f"(stopped by --max-steps)")
    else:
        epochs = counted(preset.train.epochs, "fine-tuning epoch")
    return (f"{counted(n_train, 'training fact')}{probed}, {counted(m['n_dialogues'], 'dialogue')} "
            f"({m['n_lies']} with a lie, p_lie {preset.p_lie}), {epochs} at lr {preset.train.lr:g}, "
            f"{counted(m['steps'], 'step')} per arm"
            + (f", LoRA adapters of rank {preset.train.lora_rank} (alpha {preset.train.lora_alpha or 2 * preset.train.lora_rank:g}) "
               f"instead of full fine-tuning" if preset.train.lora_rank else ""))


def _base_source(base_info: dict[str, Any]) -> str:
    """Where the base came from, for the timings line: a --model path, the cache, or built now."""
    if base_info.get("model"):
        return f"loaded from {base_info['model']}"
    return "loaded from the cache" if base_info.get("cached") else "built"


def _counts(c: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in c.items()) or "-"


def run_sections(metrics: dict[str, Any], preset: Preset, base_info: dict[str, Any], held_out: Sequence[Any],
                 probes: dict[str, Any], probes_held: dict[str, Any], table2: str, table3: str, roles: str,
                 acc: Any) -> list[tuple[str, str]]:
    """The sections of one run's ``report.md``: summary, base, figures, tables, held-out facts, masks."""
    m = metrics
    names = list(probes)

    def mean_of(n: str) -> float:
        return m[metric_key(n, 'mean_delta')]

    def row(label: str, cells: list[str]) -> str:
        return f"| {label} | " + " | ".join(cells) + " |"

    header = row("metric", [arm_record(n).display for n in names])
    lie_pref = [str(m[metric_key(n, 'facts_lie_preferred')]) for n in names]
    truth = [_counts(m[metric_key(n, 'truth_probe')]) for n in names]
    lie = [_counts(m[metric_key(n, 'lie_probe')]) for n in names]
    loss = ["-" if n == "base" else _fmt(m.get(f"final_loss_{n}")) for n in names]
    lines = [
        f"Preset `{preset.name}` (base: {base_info.get('kind')}, {m['n_params']:,} parameters), "
        f"{_training_text(m, preset)}, seed {m['seed']}."
        + (" **Ablation: each arm has its own example order.**" if preset.ablate_order else "")
        + (" **Ablation: Δ scored without the first completion token.**" if preset.ablate_first_token else ""),
        "",
        "| " + header[2:],
        "|---" * (len(names) + 1) + "|",
        row("mean Δ (Eq. 7, nats/token)", [f"{mean_of(n):+.3f}" for n in names]),
        row("shift from the base", ["-" if n == "base" else f"{mean_of(n) - m['base_mean_delta']:+.3f}" for n in names]),
        row("facts where the lie is preferred (Δ < 0)", lie_pref),
        row("truth probe labels", truth),
        row("lie probe labels", lie),
        row(f"final loss (mean of last {counted(min(50, m['steps']), 'step')})", loss),
        "",
    ]
    if "facts_do_beats_obs" in m:
        lines.append(f"Δ_do > Δ_obs on **{m['facts_do_beats_obs']} of {counted(m['n_facts'], 'probed fact')}**. ")
    lines += [
        f"Supervised tokens: standard {m['supervised_tokens_obs']}, interventional "
        f"{m['supervised_tokens_do']} (the {m['agent_content_tokens']} agent-content tokens of "
        f"{m['total_tokens']} are dropped).",
        "",
        f"Timings: base {m['seconds_base']:.1f} s ({_base_source(base_info)}), "
        f"data {m['seconds_data'] - m['seconds_base']:.1f} s, fine-tuning {m['seconds_train']:.1f} s, probes "
        f"{m['seconds_probes']:.1f} s, total {m['seconds_total']:.1f} s; masked/unmasked step cost ratio "
        f"{_fmt(m['masked_unmasked_step_cost_ratio'])}.",
    ]
    sections = [("Summary", "\n".join(lines))]
    base_lines = [f"Kind: {base_info.get('kind')}."]
    if base_info.get("model"):  # --model: name what was loaded
        base_lines.append(f"Loaded from `{base_info['model']}`"
                          + (f" ({base_info['architecture']})." if base_info.get("architecture") else "."))
    if base_info.get("documents"):
        base_lines.append(
            f"Pretrained on {base_info['documents']} generated documents ({base_info['tokens']} tokens: "
            f"every training and held-out fact in prose, Q/A and truthful dialogues; users' false "
            f"claims corrected by the agent; false claims only as named misconceptions), "
            f"{base_info['steps']} steps, final loss {base_info['final_loss']:.3f}, "
            f"{base_info['seconds']:.0f} s to build; cache key `{base_info['key']}`.")
    base_lines.append(f"Tokenizer: {m['whole_word_share']:.1%} of the distinct claim words are one token.")
    sections.append(("The base model", " ".join(base_lines)))
    sections.append(("Figure 1: training loss", "![Figure 1](figure1_loss.png)\n\nThe losses "
                     "average over different token sets (Eq. 3, Eq. 4, agent tokens only); the figure "
                     "only shows that every arm trains."))
    sections.append(("Figure 2: question-probe margin Δ per fact", "![Figure 2](figure2_delta.png)"))
    sections.append(("What the replies look like, and why", reply_notes(probes)))
    sections.append(("Table 2: truth probe", table2))
    sections.append(("Table 3: lie probe", table3))
    if held_out:
        hnames = list(probes_held)
        rows = ["| held-out topic | " + " | ".join(f"Δ {arm_record(n).display}" for n in hnames) + " |",
                "|---" * (len(hnames) + 1) + "|"]
        for i, f in enumerate(held_out):
            b = probes_held["base"][i].margin.delta
            cells = [f"{b:+.3f}"] + [f"{probes_held[n][i].margin.delta:+.3f} ({probes_held[n][i].margin.delta - b:+.3f})"
                                     for n in hnames[1:]]
            rows.append(f"| {f.topic} | " + " | ".join(cells) + " |")
        means = ", ".join(
            f"{arm_record(n).display} {m[metric_key(n, 'held_out_mean_delta')]:+.3f} (shift {m[metric_key(n, 'held_out_shift')]:+.3f})"
            for n in hnames[1:])
        rows += ["", f"In parentheses: the shift from the base. Mean Δ on held-out facts (in the base's "
                 f"corpus, in no fine-tuning dialogue): base {m['held_out_base_mean_delta']:+.3f}; {means}."]
        sections.append(("Held-out facts (question probe)", "\n".join(rows)))
    sections.append(("Masks: role table of the first dialogue", roles + "\n\n" +
                     f"Whole data set: {acc.tokens} tokens, {acc.supervised_obs} supervised in "
                     f"standard SFT, {acc.supervised_do} in interventional SFT, "
                     f"{acc.agent_content_tokens} agent-content tokens, "
                     f"{acc.truncated_tokens} truncated."))
    return sections


def _ci_text(d: dict) -> str:
    return f"{d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]"


def seed_sections(agg: dict[str, Any], per_seed: Sequence[dict[str, Any]], preset: Preset) -> list[tuple[str, str]]:
    """The sections of a multi-seed ``report.md``: the aggregate, per seed, held-out facts, comparisons."""
    arms = agg["arms"]
    seeds = agg["seeds"]
    lines = [
        f"{len(seeds)} seeds ({', '.join(map(str, seeds))}), preset `{preset.name}`; each seed draws its own "
        "dialogues and example order, every arm starts from the same base. 95% Student-t intervals "
        "over seeds (scipy.stats); differences between arms are paired by seed.",
        "",
        "| quantity | mean [95% CI] |",
        "|---|---|",
        f"| mean Δ, base | {_ci_text(agg['base_mean_delta'])} |",
    ]
    for a in arms:
        lines.append(f"| mean Δ, {arm_record(a).display} | {_ci_text(agg[metric_key(a, 'mean_delta')])} |")
        lines.append(f"| shift from the base, {arm_record(a).display} | {_ci_text(agg[metric_key(a, 'shift')])} |")
    if "delta_do_minus_obs" in agg:
        lines.append(f"| Δ_do − Δ_obs (paired) | {_ci_text(agg['delta_do_minus_obs'])} |")
    if "held_out_base_mean_delta" in agg:
        lines.append(f"| held-out facts: mean Δ, base | {_ci_text(agg['held_out_base_mean_delta'])} |")
        for a in arms:
            lines.append(f"| held-out facts: shift from the base, {arm_record(a).display} | "
                         f"{_ci_text(agg[metric_key(a, 'held_out_shift')])} |")
    lines += ["", "| per seed | " + " | ".join(arm_record(a).display for a in arms) + " |", "|---" * (len(arms) + 1) + "|"]
    lines.append("| facts with the lie preferred | " + " | ".join(str(agg[metric_key(a, 'facts_lie_preferred')]) for a in arms) + " |")
    for probe in ("truth_probe", "lie_probe"):
        lines.append(f"| {probe.replace('_', ' ')} labels, mean over seeds | " + " | ".join(
            _counts({k: round(v, 1) for k, v in agg[metric_key(a, probe) + '_mean'].items()}) for a in arms) + " |")
    lines += ["", f"Base: truth preferred on {agg['base_facts_truth_preferred']} of "
                  f"{counted(agg['n_facts'], 'probed fact')} per seed."]
    sections = [("Aggregate over seeds", "\n".join(lines))]
    per = ["| seed | base | " + " | ".join(f"Δ {arm_record(a).display}" for a in arms) + " | total s | report |",
           "|---" * (len(arms) + 4) + "|"]
    per += [f"| {m['seed']} | {m['base_mean_delta']:+.3f} | "
            + " | ".join(f"{m[metric_key(a, 'mean_delta')]:+.3f}" for a in arms)
            + f" | {m['seconds_total']:.0f} | [seed_{m['seed']}/report.md](seed_{m['seed']}/report.md) |"
            for m in per_seed]
    sections.append(("Per seed", "\n".join(per)))
    if "held_out_per_fact" in agg:
        names = ["base", *arms]
        rows = ["| held-out fact | " + " | ".join(f"Δ {arm_record(n).display}" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
        rows += [f"| {t} | " + " | ".join(_ci_text(v[n]) for n in names) + " |" for t, v in agg["held_out_per_fact"].items()]
        sections.append(("Held-out facts: per-fact Δ, mean [95% CI] over seeds", "\n".join(rows)))
    if "compared_to" in agg:
        c = agg["compared_to"]
        rows = [f"This run minus `{c['dir']}` (same seeds; paired 95% CIs):", "",
                "| quantity | other run | this run − other run |", "|---|---|---|"]
        rows += [f"| {label} | {_ci_text(c[k + '_other'])} | {_ci_text(c[k])} |" for label, k in (
            ("mean Δ, standard SFT", "mean_delta_obs"), ("mean Δ, interventional SFT", "mean_delta_do"),
            ("Δ_do − Δ_obs", "delta_do_minus_obs"))]
        differ = c.get("settings_differ")
        if differ is None:
            rows += ["", "The other run's settings are not recorded (no config.json in its seed folders), so "
                     "whether it differs from this run in more than one setting is unknown."]
        elif differ:
            rows += ["", "The two runs probed the same facts; these settings differ (the comparison measures their "
                     "joint effect):", "", "| setting | other run | this run |", "|---|---|---|"]
            rows += [f"| {d['setting']} | {_setting(d['other'])} | {_setting(d['this'])} |" for d in differ]
        else:
            rows += ["", "The two runs have the same settings and probed the same facts."]
        sections.append(("Compared with another run", "\n".join(rows)))
    if "per_fact_wins_do" in agg:
        win_rows = ["| fact | seeds with Δ_do > Δ_obs |", "|---|---|"] + [
            f"| {t} | {w}/{len(seeds)} |" for t, w in agg["per_fact_wins_do"].items()]
        sections.append(("Per-fact wins", "\n".join(win_rows)))
    return sections

