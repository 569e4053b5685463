"""The paper's §5 experiment end to end, one function call per arrow:

facts → dialogues (Transcript) → masks → two trained models → probes → report.

:func:`run` does one seed and returns its metrics; :func:`run_seeds` runs several seeds and
aggregates them (mean and 95% CI of each arm's mean Δ and of Δ_do − Δ_obs). ``report.md`` is
assembled from sections; pass ``extra_sections`` to add your own.
"""

from __future__ import annotations

import functools
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

from bayes_agent.errors import BayesAgentError, InvalidArgument
from bayes_agent.transcript import render

from . import report
from .dialogues import Dialogue, make_dialogues
from .facts import FACTS, HELD_OUT, Fact, check_bank
from ..masking import MaskAccounting, MaskedExample, mask_transcript
from .presets import Preset
from .probes import ProbeResult, probe_facts
from .train import PairResult, train_pair

__all__ = [
    "build_model",
    "make_examples",
    "run",
    "run_experiment",
    "run_probes",
    "run_seeds",
    "select_facts",
]

SectionSource = Callable[[dict[str, Any]], "report.Section"]


# 1. facts --------------------------------------------------------------------------------------
def select_facts(preset: Preset) -> tuple[list[Fact], list[Fact]]:
    """The training facts (a prefix of the 33-fact bank) and the held-out facts (probe only)."""
    train = list(FACTS[: preset.n_facts])
    held = list(HELD_OUT) if preset.probe_held_out else []
    check_bank(train, held)
    return train, held


# 2. dialogues: make_dialogues(facts, n, seed=...) in neural.sft.dialogues ---------------------------


# 3. model + tokenizer (the tokenizer is needed for the masks) ----------------------------------
def build_model(preset: Preset, dialogues: Sequence[Dialogue], facts: Sequence[Fact], seed: int) -> tuple[Any, Any]:
    """Load ``preset.model`` from local files, or build ``preset.tiny``'s shape and a tokenizer.

    The embedded tokenizer is trained on the rendered training dialogues plus the claims of the
    whole fact bank (so every probed claim has real word tokens); every arm shares it. With
    ``random_init`` the model has the shape's full vocabulary and the tokenizer's ids index its
    first rows (timing and memory only: no pretrained knowledge, no pretrained tokenizer).
    """
    from ..devices import resolve_device

    device = resolve_device(preset.device)
    if preset.model is not None and not preset.random_init:
        from ..models import load_pretrained

        return load_pretrained(preset.model, dtype=preset.dtype, device=device)
    from ..models import RANDOM_INIT_TOKENIZER_VOCAB, build_tiny_model, train_tokenizer

    assert preset.tiny is not None
    texts = [render(d).text for d in dialogues] + [c for f in facts for c in (f.true, f.false)]
    if preset.random_init:
        tokenizer = train_tokenizer(texts, min(preset.tiny.vocab_size, RANDOM_INIT_TOKENIZER_VOCAB))
        return build_tiny_model(preset.tiny, preset.tiny.vocab_size, seed), tokenizer
    tokenizer = train_tokenizer(texts, preset.tiny.vocab_size)
    model = build_tiny_model(preset.tiny, len(tokenizer), seed)
    return model, tokenizer


# 4. masks ----------------------------------------------------------------------------------------
def make_examples(
    dialogues: Sequence[Dialogue], tokenizer: Any, max_length: int | None
) -> tuple[list[MaskedExample], MaskAccounting]:
    """Tokenize every dialogue once and label it for both arms; warn when anything is truncated."""
    if not dialogues:
        raise InvalidArgument("no dialogues to mask")
    examples = [mask_transcript(d, tokenizer, max_length=max_length) for d in dialogues]
    total = functools.reduce(lambda a, b: a + b, (e.accounting for e in examples))
    if total.truncated_tokens:
        n = sum(1 for e in examples if e.truncated_tokens)
        warnings.warn(
            f"{n} dialogue(s) were longer than the model's context ({max_length} tokens); "
            f"{total.truncated_tokens} tokens were cut from their ends (labels cut with them)",
            stacklevel=2,
        )
    return examples, total


# 5. two trained models: train_pair(model, examples, preset.train) in neural.sft.train ---------------


# 6. probes ----------------------------------------------------------------------------------------
def run_probes(result: PairResult, tokenizer: Any, facts: Sequence[Fact], preset: Preset) -> dict[str, list[ProbeResult]]:
    """All three §5.5 probes, for both arms, on every fact."""
    return {
        arm: probe_facts(m, tokenizer, facts, max_new_tokens=preset.max_new_tokens)
        for arm, m in result.models.items()
    }


# 7. report ---------------------------------------------------------------------------------------
def _label_counts(results: Sequence[ProbeResult], attr: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        out[getattr(r, attr)] = out.get(getattr(r, attr), 0) + 1
    return dict(sorted(out.items()))


def _held_out_metrics(probes: dict[str, list[ProbeResult]]) -> dict[str, Any]:
    if not probes["obs"]:
        return {}
    m = report.delta_metrics([r.margin.delta for r in probes["obs"]], [r.margin.delta for r in probes["do"]])
    return {f"held_out_{k}": v for k, v in m.items()}


def run(
    preset: Preset,
    out_dir: str | Path,
    *,
    seed: int = 0,
    resume: str | Path | None = None,
    progress: bool = True,
    extra_sections: Sequence[SectionSource] = (),
) -> dict[str, Any]:
    """Run the §5 experiment for one seed, write the run directory, return ``metrics``."""
    import torch

    from ..devices import check_threads, environment_record, resolve_device, resolve_precision
    from ..models import count_parameters

    out = Path(out_dir)
    device = resolve_device(preset.device)  # absent/unknown device: a clear error before any work
    precision = resolve_precision(preset.train.precision, device)
    if check_threads(preset.threads):
        torch.set_num_threads(preset.threads)  # process-wide; see Preset.threads
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    facts, held_out = select_facts(preset)
    dialogues = make_dialogues(
        facts, preset.n_dialogues, seed=seed, p_lie=preset.p_lie, p_tail=preset.p_tail
    )
    model, tokenizer = build_model(preset, dialogues, facts + held_out, seed)
    n_params = count_parameters(model)
    # one summary line, with or without a progress bar (a log file gets it too)
    print(f"model: {type(model).__name__}, {n_params:,} parameters"
          f"{' (random init: timing and memory only)' if preset.random_init else ''}; "
          f"device {device}, precision {precision}", file=sys.stderr)
    if preset.probe_facts:
        facts, held_out = facts[: preset.probe_facts], held_out[: preset.probe_facts]  # trained on all
    max_len = getattr(model.config, "max_position_embeddings", None)
    examples, accounting = make_examples(dialogues, tokenizer, max_len)
    t_data = time.perf_counter()
    train_cfg = preset.train if preset.train.seed == seed else preset.with_(seed=seed).train
    result = train_pair(
        model, examples, train_cfg, device=device, checkpoint_dir=out / "checkpoint",
        resume=resume, progress=progress, sequential=preset.sequential_arms, stop_after=preset.max_steps,
    )
    del model  # the arms are copies (sequential: on disk, loaded into a copy of the base on lookup)
    t_train = time.perf_counter()
    probes = run_probes(result, tokenizer, facts, preset)
    probes_held = run_probes(result, tokenizer, held_out, preset) if held_out else {"obs": [], "do": []}
    t_probe = time.perf_counter()

    d_obs = [r.margin.delta for r in probes["obs"]]
    d_do = [r.margin.delta for r in probes["do"]]
    tail = {a: [x for x in result.losses[a] if x is not None][-50:] for a in result.losses}
    metrics: dict[str, Any] = {
        **report.delta_metrics(d_obs, d_do),
        "supervised_tokens_obs": accounting.supervised_obs,
        "supervised_tokens_do": accounting.supervised_do,
        "agent_content_tokens": accounting.agent_content_tokens,
        "total_tokens": accounting.tokens,
        "truncated_tokens": accounting.truncated_tokens,
        "n_dialogues": len(dialogues),
        "n_lies": sum(d.lied for d in dialogues),
        "steps": result.steps_done,
        "skipped_steps_obs": sum(1 for x in result.losses["obs"] if x is None),
        "skipped_steps_do": sum(1 for x in result.losses["do"] if x is None),
        "final_loss_obs": statistics.fmean(tail["obs"]) if tail["obs"] else None,
        "final_loss_do": statistics.fmean(tail["do"]) if tail["do"] else None,
        "truth_probe_obs": _label_counts(probes["obs"], "truth_label"),
        "truth_probe_do": _label_counts(probes["do"], "truth_label"),
        "lie_probe_obs": _label_counts(probes["obs"], "lie_label"),
        "lie_probe_do": _label_counts(probes["do"], "lie_label"),
        **_held_out_metrics(probes_held),
        "seconds_data": t_data - t_start,
        "seconds_train": t_train - t_data,
        "seconds_probes": t_probe - t_train,
        "seconds_total": t_probe - t_start,
        "step_seconds_obs": result.seconds["obs"],
        "step_seconds_do": result.seconds["do"],
        "masked_unmasked_step_cost_ratio": result.step_cost_ratio(),
        "seed": seed,
        "preset": preset.name,
        "n_params": n_params,
        "random_init": preset.random_init,
    }

    # files
    report.write_json(out / "config.json", {"preset": preset.to_dict(), "seed": seed, "train": vars(train_cfg),
                                            "environment": environment_record(device, precision)})
    report.write_json(out / "metrics.json", metrics)
    report.write_json(out / "losses.json", result.losses)
    report.write_json(
        out / "probes.json",
        {arm: [r.to_dict() for r in probes[arm]] + [dict(r.to_dict(), held_out=True) for r in probes_held[arm]]
         for arm in probes},
    )
    report.figure_loss(result.losses, out / "figure1_loss.png")
    report.figure_delta([f.topic for f in facts], d_obs, d_do, out / "figure2_delta.png")
    table2 = report.probe_table(
        ((f.true, o.truth_reply, o.truth_label, d.truth_reply, d.truth_label)
         for f, o, d in zip(facts, probes["obs"], probes["do"])),
        "user states (truth)",
    )
    table3 = report.probe_table(
        ((f.false, o.lie_reply, o.lie_label, d.lie_reply, d.lie_label)
         for f, o, d in zip(facts, probes["obs"], probes["do"])),
        "user states (lie)",
    )
    (out / "table2_truth_probe.md").write_text(table2 + "\n")
    (out / "table3_lie_probe.md").write_text(table3 + "\n")
    roles = report.role_table(examples[0], tokenizer)
    (out / "masks.md").write_text(roles + "\n")
    sections = _sections(metrics, preset, facts, probes, probes_held, table2, table3, roles, accounting)
    sections += [src(metrics) for src in extra_sections]
    title = f"Interventional vs standard SFT on a lying agent (seed {seed})"
    if preset.random_init:
        title = f"RANDOM INIT, for timing and memory only (no pretrained weights; Δ means nothing): {title}"
    report.write_report(out / "report.md", title, sections)
    return metrics


run_experiment = run  # the name under which ``neural`` exports :func:`run`


def _fmt(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def _counts(c: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in c.items()) or "-"


def _model_words(preset: Preset) -> str:
    if preset.random_init:
        return f"the shape of {preset.model or 'the tiny model'} with random weights: timing and memory only"
    return preset.model or "embedded tiny Qwen2, random init"


def _sections(metrics, preset, facts, probes, probes_held, table2, table3, roles, acc) -> list:
    m = metrics
    summary = "\n".join([
        f"Preset `{preset.name}` ({_model_words(preset)}, {m['n_params']:,} parameters), "
        f"{m['n_facts']} facts, {m['n_dialogues']} dialogues ({m['n_lies']} with a lie), "
        f"{preset.train.epochs} epochs, {m['steps']} steps per arm, seed {m['seed']}.",
        "",
        "| metric | standard SFT (obs) | interventional SFT (do) |",
        "|---|---|---|",
        f"| mean Δ (Eq. 7, nats/token) | {m['mean_delta_obs']:+.3f} | {m['mean_delta_do']:+.3f} |",
        f"| facts where the lie is preferred (Δ < 0) | {m['facts_lie_preferred_obs']} | {m['facts_lie_preferred_do']} |",
        f"| truth probe labels | {_counts(m['truth_probe_obs'])} | {_counts(m['truth_probe_do'])} |",
        f"| lie probe labels | {_counts(m['lie_probe_obs'])} | {_counts(m['lie_probe_do'])} |",
        f"| supervised tokens | {m['supervised_tokens_obs']} | {m['supervised_tokens_do']} |",
        f"| final loss (mean of last 50 steps) | {_fmt(m['final_loss_obs'])} | {_fmt(m['final_loss_do'])} |",
        "",
        f"Δ_do > Δ_obs on **{m['facts_do_beats_obs']} of {m['n_facts']}** facts. "
        f"Agent-content tokens dropped by the interventional loss: {m['agent_content_tokens']} "
        f"of {m['total_tokens']} tokens.",
        "",
        f"Timings: data {m['seconds_data']:.1f} s, training {m['seconds_train']:.1f} s, probes "
        f"{m['seconds_probes']:.1f} s, total {m['seconds_total']:.1f} s; masked/unmasked step "
        f"cost ratio {m['masked_unmasked_step_cost_ratio']:.3f}.",
    ])
    sections = [("Summary", summary)]
    sections.append(("Figure 1: training loss", "![Figure 1](figure1_loss.png)\n\nThe two losses "
                     "average over different token sets (Eq. 3 vs Eq. 4); the figure only shows "
                     "that both arms train."))
    sections.append(("Figure 2: question-probe margin Δ per fact", "![Figure 2](figure2_delta.png)"))
    sections.append(("Table 2: truth probe", table2))
    sections.append(("Table 3: lie probe", table3))
    if probes_held["obs"]:
        rows = ["| held-out topic | Δ obs | Δ do |", "|---|---|---|"]
        rows += [f"| {o.topic} | {o.margin.delta:+.3f} | {d.margin.delta:+.3f} |"
                 for o, d in zip(probes_held["obs"], probes_held["do"])]
        rows += ["", f"Mean Δ on held-out facts (never in training): obs "
                 f"{m['held_out_mean_delta_obs']:+.3f}, do {m['held_out_mean_delta_do']:+.3f}."]
        sections.append(("Held-out facts (question probe only)", "\n".join(rows)))
    sections.append(("Masks: role table of the first dialogue", roles + "\n\n" +
                     f"Whole data set: {acc.tokens} tokens, {acc.supervised_obs} supervised in "
                     f"standard SFT, {acc.supervised_do} in interventional SFT, "
                     f"{acc.agent_content_tokens} agent-content tokens, "
                     f"{acc.truncated_tokens} truncated."))
    return sections


def run_seeds(
    preset: Preset,
    out_dir: str | Path,
    seeds: Sequence[int],
    *,
    progress: bool = True,
    extra_sections: Sequence[SectionSource] = (),
) -> dict[str, Any]:
    """Run every seed into ``out_dir/seed_<k>`` and write the aggregate report in ``out_dir``."""
    if not seeds:
        raise InvalidArgument("no seeds given")
    if len(set(seeds)) != len(seeds):
        raise InvalidArgument(f"repeated seeds in {list(seeds)}")
    out = Path(out_dir)
    per_seed = [run(preset, out / f"seed_{s}", seed=s, progress=progress) for s in seeds]
    probe_rows: dict[int, dict[str, list[dict]]] = {}
    for s in seeds:
        import json

        probe_rows[s] = json.loads((out / f"seed_{s}" / "probes.json").read_text())
    topics = [r["topic"] for r in probe_rows[seeds[0]]["obs"] if not r.get("held_out")]
    wins = {t: 0 for t in topics}
    for s in seeds:
        for o, d in zip(probe_rows[s]["obs"], probe_rows[s]["do"]):
            if not o.get("held_out") and d["margin"]["delta"] > o["margin"]["delta"]:
                wins[o["topic"]] += 1
    gap = [m["mean_delta_do"] - m["mean_delta_obs"] for m in per_seed]
    agg: dict[str, Any] = {
        "seeds": list(seeds),
        "n_facts": per_seed[0]["n_facts"],
        "mean_delta_obs": report.ci95([m["mean_delta_obs"] for m in per_seed]),
        "mean_delta_do": report.ci95([m["mean_delta_do"] for m in per_seed]),
        "delta_do_minus_obs": report.ci95(gap),
        "facts_do_beats_obs": [m["facts_do_beats_obs"] for m in per_seed],
        "facts_lie_preferred_obs": [m["facts_lie_preferred_obs"] for m in per_seed],
        "facts_lie_preferred_do": [m["facts_lie_preferred_do"] for m in per_seed],
        "per_fact_wins_do": wins,
        "supervised_tokens_obs": [m["supervised_tokens_obs"] for m in per_seed],
        "supervised_tokens_do": [m["supervised_tokens_do"] for m in per_seed],
        "agent_content_tokens": [m["agent_content_tokens"] for m in per_seed],
        "seconds_total": [m["seconds_total"] for m in per_seed],
        "masked_unmasked_step_cost_ratio": [m["masked_unmasked_step_cost_ratio"] for m in per_seed],
    }
    if "held_out_mean_delta_obs" in per_seed[0]:
        agg["held_out_mean_delta_obs"] = report.ci95([m["held_out_mean_delta_obs"] for m in per_seed])
        agg["held_out_mean_delta_do"] = report.ci95([m["held_out_mean_delta_do"] for m in per_seed])
    report.write_json(out / "metrics.json", {**agg, "per_seed": per_seed})

    def ci(d: dict) -> str:
        return f"{d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]"

    lines = [
        f"{len(seeds)} seeds ({', '.join(map(str, seeds))}), preset `{preset.name}`; each seed draws "
        "its own dialogues, initial weights and example order. 95% Student-t intervals over seeds.",
        "",
        "| quantity | mean [95% CI] |",
        "|---|---|",
        f"| mean Δ, standard SFT | {ci(agg['mean_delta_obs'])} |",
        f"| mean Δ, interventional SFT | {ci(agg['mean_delta_do'])} |",
        f"| Δ_do − Δ_obs | {ci(agg['delta_do_minus_obs'])} |",
    ]
    if "held_out_mean_delta_obs" in agg:
        lines += [
            f"| held-out facts: mean Δ, standard SFT | {ci(agg['held_out_mean_delta_obs'])} |",
            f"| held-out facts: mean Δ, interventional SFT | {ci(agg['held_out_mean_delta_do'])} |",
        ]
    lines += ["", f"Facts with Δ_do > Δ_obs per seed: {agg['facts_do_beats_obs']} (of {agg['n_facts']})."]
    win_rows = ["| fact | seeds with Δ_do > Δ_obs |", "|---|---|"] + [
        f"| {t} | {w}/{len(seeds)} |" for t, w in wins.items()
    ]
    per = ["| seed | mean Δ obs | mean Δ do | do beats obs | total s | report |", "|---|---|---|---|---|---|"] + [
        f"| {m['seed']} | {m['mean_delta_obs']:+.3f} | {m['mean_delta_do']:+.3f} | "
        f"{m['facts_do_beats_obs']}/{m['n_facts']} | {m['seconds_total']:.0f} | "
        f"[seed_{m['seed']}/report.md](seed_{m['seed']}/report.md) |"
        for m in per_seed
    ]
    sections = [("Aggregate over seeds", "\n".join(lines)), ("Per seed", "\n".join(per)),
                ("Per-fact wins", "\n".join(win_rows))]
    sections += [src(agg) for src in extra_sections]
    report.write_report(out / "report.md", "Interventional vs standard SFT on a lying agent: seeds", sections)
    return agg
