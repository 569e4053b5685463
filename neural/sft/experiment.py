"""The paper's §5 experiment end to end, one function call per arrow:

facts → dialogues (Transcript) → masks → base → arms (standard, interventional, assistant-only)
→ probes → report.

:func:`run` does one seed and returns its metrics; :func:`run_seeds` runs several seeds and
aggregates them (Student-t 95% CIs from :mod:`neural.sft.stats`, paired where arms share seeds).
Every probe also runs on the base, so each arm is reported as a shift from where it started.
``report.md`` is assembled from sections; pass ``extra_sections`` to add your own.
"""

from __future__ import annotations

import functools
import json
import statistics
import sys
import time
import warnings
from collections import ChainMap
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

from bayes_agent.errors import InvalidArgument
from bayes_agent.transcript import render

from . import report
from .dialogues import Dialogue, make_dialogues
from .facts import FACTS, HELD_OUT, Fact, check_bank
from ..masking import MaskAccounting, MaskedExample, mask_transcript
from .presets import Preset
from .probes import ProbeResult, probe_facts
from .stats import ci95, paired_ci95
from .train import PairResult, train_pair

__all__ = [
    "ARM_NAMES",
    "SUFFIX",
    "build_base_model",
    "build_model",
    "make_examples",
    "run",
    "run_experiment",
    "run_probes",
    "run_seeds",
    "select_facts",
    "train_arms",
]

SectionSource = Callable[[dict[str, Any]], "report.Section"]

SUFFIX = {"obs": "obs", "do": "do", "ao": "assistant_only"}
"""How each arm is named in ``metrics.json`` keys (``mean_delta_obs``, ``mean_delta_assistant_only``)."""

ARM_NAMES = {"base": "base", "obs": "standard SFT", "do": "interventional SFT", "ao": "assistant-only SFT"}


# 1. facts --------------------------------------------------------------------------------------
def select_facts(preset: Preset, bank: tuple[Sequence[Fact], Sequence[Fact]] | None = None) -> tuple[list[Fact], list[Fact]]:
    """The training facts and the held-out facts (in the base's corpus, in no SFT dialogue).

    Without ``bank`` these are prefixes of the built-in banks; with ``bank`` (from
    :func:`neural.sft.facts.load_facts`) the researcher's own facts are used whole.
    """
    if bank is not None:
        train, held = list(bank[0]), list(bank[1]) if preset.probe_held_out else []
    else:
        train = list(FACTS[: preset.n_facts])
        held = list(HELD_OUT[: preset.n_held_out]) if preset.probe_held_out else []
    check_bank(train, held)
    return train, held


# 2. dialogues: make_dialogues(facts, n, seed=...) in neural.sft.dialogues ---------------------------


# 3. the base: a pretrained model, or the embedded tiny Qwen2 pretrained on the fact corpus ------
def build_base_model(
    preset: Preset,
    dialogues: Sequence[Dialogue],
    facts: Sequence[Fact],
    seed: int,
    *,
    cache_dir: str | Path | None = None,
    rebuild: bool = False,
    progress: bool = False,
) -> Any:
    """The model every arm fine-tunes from, with its tokenizer and how it was made.

    ``preset.model``: loaded from local files (the pretrained model is the base). ``preset.base``:
    the tiny model pretrained on the corpus of ``facts`` (training and held-out) with ``seed`` as
    the base's seed, cached per seed. Neither
    (the ``--from-scratch`` ablation): random weights and a tokenizer trained on the dialogues plus
    the claims, as before the base existed. ``random_init``: ``preset.tiny``'s shape (the paper
    preset: Qwen2.5-0.5B's) with random weights and a tokenizer whose ids index its first rows,
    for timing and memory only.
    """
    from ..devices import resolve_device

    from .base import BaseModel, build_base

    device = resolve_device(preset.device)
    if preset.model is not None and not preset.random_init:
        from ..models import load_pretrained

        model, tokenizer = load_pretrained(preset.model, dtype=preset.dtype, device=device)
        return BaseModel(model, tokenizer, {"kind": "pretrained", "model": preset.model, "cached": True})
    from ..models import RANDOM_INIT_TOKENIZER_VOCAB, build_tiny_model, train_tokenizer

    assert preset.tiny is not None
    if preset.base is not None:  # one base per seed: the base's seed is the run's (cached per seed)
        b = build_base(preset.tiny, replace(preset.base, seed=seed), facts, cache_dir=cache_dir, rebuild=rebuild,
                       progress=progress)
        b.info["kind"] = "pretrained tiny base"
        return b
    texts = [render(d).text for d in dialogues] + [c for f in facts for c in (f.true, f.false)]
    if preset.random_init:
        tokenizer = train_tokenizer(texts, min(preset.tiny.vocab_size, RANDOM_INIT_TOKENIZER_VOCAB))
        return BaseModel(build_tiny_model(preset.tiny, preset.tiny.vocab_size, seed), tokenizer,
                         {"kind": "random init of the model's shape (timing and memory only)", "cached": False})
    tokenizer = train_tokenizer(texts, preset.tiny.vocab_size)
    model = build_tiny_model(preset.tiny, len(tokenizer), seed)
    return BaseModel(model, tokenizer, {"kind": "random init (from scratch)", "cached": False})


def build_model(preset: Preset, dialogues: Sequence[Dialogue], facts: Sequence[Fact], seed: int, **kw: Any) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of :func:`build_base_model` (for callers that need only those)."""
    b = build_base_model(preset, dialogues, facts, seed, **kw)
    return b.model, b.tokenizer


# 4. masks ----------------------------------------------------------------------------------------
def make_examples(
    dialogues: Sequence[Dialogue], tokenizer: Any, max_length: int | None
) -> tuple[list[MaskedExample], MaskAccounting]:
    """Tokenize every dialogue once and label it for every arm; warn when anything is truncated."""
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


# 5. the arms: train_pair(model, examples, cfg, arms=...) in neural.sft.train --------------------
def train_arms(preset: Preset, model: Any, examples: Sequence[MaskedExample], cfg: Any, out: Path, *,
               resume: str | Path | None, progress: bool) -> PairResult:
    """Every arm from the same base in the same order; with ``preset.ablate_order`` each arm gets
    its own independently shuffled order instead (the public notebook's defect, on purpose)."""
    if not preset.ablate_order:
        return train_pair(model, examples, cfg, arms=preset.arms, device=preset.device,
                          sequential=preset.sequential_arms, stop_after=preset.max_steps,
                          checkpoint_dir=out / "checkpoint", resume=resume, progress=progress)
    if resume is not None:
        raise InvalidArgument("--resume does not combine with --ablate-order")
    parts = {arm: train_pair(model, examples, replace(cfg, seed=cfg.seed + 7919 * (k + 1)), arms=(arm,),
                             device=preset.device, sequential=preset.sequential_arms, stop_after=preset.max_steps,
                             checkpoint_dir=out / f"checkpoint_{arm}", progress=progress)
             for k, arm in enumerate(preset.arms)}
    first = parts[preset.arms[0]]
    return PairResult(
        {a: r.models[a] for a, r in parts.items()}, {a: r.losses[a] for a, r in parts.items()},
        {a: r.seconds[a] for a, r in parts.items()}, first.order, first.steps_done,
        extra={"orders": {a: r.order for a, r in parts.items()}},
    )


# 6. probes ----------------------------------------------------------------------------------------
def run_probes(models: dict[str, Any], tokenizer: Any, facts: Sequence[Fact], preset: Preset) -> dict[str, list[ProbeResult]]:
    """All three §5.5 probes, for every model (base and arms), on every fact."""
    return {
        name: probe_facts(m, tokenizer, facts, max_new_tokens=preset.max_new_tokens,
                          skip_first_token=preset.ablate_first_token)
        for name, m in models.items()
    }


# 7. report ---------------------------------------------------------------------------------------
def _label_counts(results: Sequence[ProbeResult], attr: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        out[getattr(r, attr)] = out.get(getattr(r, attr), 0) + 1
    return dict(sorted(out.items()))


def _deltas(results: Sequence[ProbeResult]) -> list[float]:
    return [r.margin.delta for r in results]


def _memorised(results: Sequence[ProbeResult]) -> list[float]:
    return [r.memorised_margin.delta for r in results if r.memorised_margin is not None]


def _mean(xs: Sequence[float]) -> float | None:
    return statistics.fmean(xs) if xs else None


def probe_metrics(probes: dict[str, list[ProbeResult]], held: dict[str, list[ProbeResult]], arms: Sequence[str]) -> dict[str, Any]:
    """The metrics.json keys of the probes: every arm, the base, shifts from the base, held-out."""
    d = {name: _deltas(r) for name, r in probes.items()}
    h = {name: _deltas(r) for name, r in held.items()}
    mem = {name: _memorised(r) for name, r in probes.items()}
    m: dict[str, Any] = {"n_facts": len(d["base"])}
    if "obs" in d and "do" in d:
        m.update(report.delta_metrics(d["obs"], d["do"]))
    m.update({
        "base_mean_delta": _mean(d["base"]),
        "base_facts_truth_preferred": sum(1 for x in d["base"] if x > 0),
        "base_facts_lie_preferred": sum(1 for x in d["base"] if x < 0),
        "memorised_base_mean_delta": _mean(mem["base"]),
        "truth_probe_base": _label_counts(probes["base"], "truth_label"),
        "lie_probe_base": _label_counts(probes["base"], "lie_label"),
        "held_out_n_facts": len(h.get("base", [])),
        "held_out_base_mean_delta": _mean(h.get("base", [])),
        "held_out_facts_truth_preferred_base": sum(1 for x in h.get("base", []) if x > 0) if h.get("base") else None,
    })
    if "obs" in h and "do" in h and h["obs"]:
        m.update({f"held_out_{k}": v for k, v in report.delta_metrics(h["obs"], h["do"]).items()})
    for arm, sfx in SUFFIX.items():
        ran = arm in arms
        mean = _mean(d[arm]) if ran else None
        m[f"mean_delta_{sfx}"] = mean
        m[f"facts_lie_preferred_{sfx}"] = sum(1 for x in d[arm] if x < 0) if ran else None
        m[f"shift_{sfx}"] = mean - m["base_mean_delta"] if ran else None
        m[f"memorised_mean_delta_{sfx}"] = _mean(mem[arm]) if ran else None
        m[f"truth_probe_{sfx}"] = _label_counts(probes[arm], "truth_label") if ran else None
        m[f"lie_probe_{sfx}"] = _label_counts(probes[arm], "lie_label") if ran else None
        hm = _mean(h[arm]) if ran and h.get(arm) else None
        m[f"held_out_mean_delta_{sfx}"] = hm
        m[f"held_out_shift_{sfx}"] = hm - m["held_out_base_mean_delta"] if hm is not None else None
        m[f"held_out_facts_truth_preferred_{sfx}"] = sum(1 for x in h[arm] if x > 0) if ran and h.get(arm) else None
    return m


def run(
    preset: Preset,
    out_dir: str | Path,
    *,
    seed: int = 0,
    resume: str | Path | None = None,
    progress: bool = True,
    extra_sections: Sequence[SectionSource] = (),
    bank: tuple[Sequence[Fact], Sequence[Fact]] | None = None,
    base_cache: str | Path | None = None,
    rebuild_base: bool = False,
) -> dict[str, Any]:
    """Run the §5 experiment for one seed, write the run directory, return ``metrics``."""
    import torch

    from ..devices import check_threads, environment_record, resolve_device, resolve_precision
    from ..models import count_parameters
    from .corpus import base_corpus, whole_word_share
    from .probes import phrasings_in_corpus

    out = Path(out_dir)
    device = resolve_device(preset.device)  # absent/unknown device: a clear error before any work
    precision = resolve_precision(preset.train.precision, device)
    if check_threads(preset.threads):
        torch.set_num_threads(preset.threads)  # process-wide; see Preset.threads
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    facts, held_out = select_facts(preset, bank)
    dialogues = make_dialogues(
        facts, preset.n_dialogues, seed=seed, p_lie=preset.p_lie, p_tail=preset.p_tail
    )
    all_facts = facts + held_out
    base = build_base_model(preset, dialogues, all_facts, seed, cache_dir=base_cache,
                            rebuild=rebuild_base, progress=progress)
    model, tokenizer = base.model, base.tokenizer
    t_base = time.perf_counter()
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
    result = train_arms(preset, model, examples, train_cfg, out, resume=resume, progress=progress)
    t_train = time.perf_counter()
    # base first, then the arms; sequential arms stay on disk until each is probed
    models = ChainMap(result.models, {"base": model})
    probes = run_probes(models, tokenizer, facts, preset)
    probes_held = run_probes(models, tokenizer, held_out, preset) if held_out else {k: [] for k in models}
    t_probe = time.perf_counter()

    tail = {a: [x for x in result.losses[a] if x is not None][-50:] for a in result.losses}
    metrics: dict[str, Any] = {
        **probe_metrics(probes, probes_held, preset.arms),
        "whole_word_share": whole_word_share(tokenizer, facts + held_out)["share"],
        "probe_phrasings_in_base_corpus": phrasings_in_corpus(facts + held_out, base_corpus(
            all_facts, seed=seed, chit_chat=preset.base.chit_chat)) if preset.base is not None and not preset.model
        else None,
        "probe_phrasings_in_dialogues": phrasings_in_corpus(facts + held_out, [render(d).text for d in dialogues]),
        "base_kind": base.info.get("kind"),
        "base_cached": base.info.get("cached"),
        "base_key": base.info.get("key"),
        "base_pretrain_steps": base.info.get("steps"),
        "base_pretrain_seconds": base.info.get("seconds"),
        "arms": list(preset.arms),
        "ablate_order": preset.ablate_order,
        "ablate_first_token": preset.ablate_first_token,
        "p_lie": preset.p_lie,
        "supervised_tokens_obs": accounting.supervised_obs,
        "supervised_tokens_do": accounting.supervised_do,
        "agent_content_tokens": accounting.agent_content_tokens,
        "total_tokens": accounting.tokens,
        "truncated_tokens": accounting.truncated_tokens,
        "n_dialogues": len(dialogues),
        "n_lies": sum(d.lied for d in dialogues),
        "steps": result.steps_done,
        **{f"skipped_steps_{a}": sum(1 for x in result.losses[a] if x is None) for a in result.losses},
        **{f"final_loss_{a}": statistics.fmean(tail[a]) if tail[a] else None for a in result.losses},
        "seconds_base": t_base - t_start,
        "seconds_data": t_data - t_start,
        "seconds_train": t_train - t_data,
        "seconds_probes": t_probe - t_train,
        "seconds_total": t_probe - t_start,
        **{f"step_seconds_{a}": result.seconds[a] for a in result.seconds},
        "masked_unmasked_step_cost_ratio": result.step_cost_ratio(),
        "seed": seed,
        "preset": preset.name,
        "n_params": n_params,
        "random_init": preset.random_init,
    }

    # files
    report.write_json(out / "config.json", {"preset": preset.to_dict(), "seed": seed, "train": vars(train_cfg),
                                            "environment": environment_record(device, precision),
                                            "base": {k: v for k, v in base.info.items() if k != "losses"},
                                            "facts": [vars(f) for f in facts], "held_out": [vars(f) for f in held_out]})
    report.write_json(out / "losses.json", result.losses)
    report.write_json(
        out / "probes.json",
        {name: [r.to_dict() for r in probes[name]] + [dict(r.to_dict(), held_out=True) for r in probes_held[name]]
         for name in probes},
    )
    report.figure_loss(result.losses, out / "figure1_loss.png")
    report.figure_delta([f.topic for f in facts], {k: _deltas(v) for k, v in probes.items()}, out / "figure2_delta.png")
    names = list(models)
    table2 = report.probe_table(
        ((f.true, *[c for n in names for c in (probes[n][i].truth_reply, probes[n][i].truth_label)])
         for i, f in enumerate(facts)),
        "user states (truth)", [ARM_NAMES[n] for n in names],
    )
    table3 = report.probe_table(
        ((f.false, *[c for n in names for c in (probes[n][i].lie_reply, probes[n][i].lie_label)])
         for i, f in enumerate(facts)),
        "user states (lie)", [ARM_NAMES[n] for n in names],
    )
    (out / "table2_truth_probe.md").write_text(table2 + "\n")
    (out / "table3_lie_probe.md").write_text(table3 + "\n")
    roles = report.role_table(examples[0], tokenizer)
    (out / "masks.md").write_text(roles + "\n")
    sections = _sections(metrics, preset, base.info, facts, held_out, probes, probes_held, table2, table3, roles, accounting)
    sections += [src(metrics) for src in extra_sections]
    title = f"Interventional vs standard SFT on a lying agent (seed {seed})"
    if preset.random_init:
        title = f"RANDOM INIT, for timing and memory only (no pretrained weights; Δ means nothing): {title}"
    report.write_report(out / "report.md", title, sections)
    report.write_json(out / "metrics.json", metrics)  # last: its presence marks the seed finished
    return metrics


run_experiment = run  # the name under which ``neural`` exports :func:`run`


def _fmt(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def _counts(c: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in c.items()) or "-"


def _sections(metrics, preset, base_info, facts, held_out, probes, probes_held, table2, table3, roles, acc) -> list:
    m = metrics
    names = list(probes)
    sfx = {"base": None, **SUFFIX}

    def mean_of(n: str) -> float:
        return m["base_mean_delta"] if n == "base" else m[f"mean_delta_{sfx[n]}"]

    def row(label: str, cells: list[str]) -> str:
        return f"| {label} | " + " | ".join(cells) + " |"

    header = row("metric", [ARM_NAMES[n] for n in names])
    lie_pref = [str(m["base_facts_lie_preferred"] if n == "base" else m[f"facts_lie_preferred_{sfx[n]}"]) for n in names]
    truth = [_counts(m["truth_probe_base"] if n == "base" else m[f"truth_probe_{sfx[n]}"]) for n in names]
    lie = [_counts(m["lie_probe_base"] if n == "base" else m[f"lie_probe_{sfx[n]}"]) for n in names]
    loss = ["-" if n == "base" else _fmt(m.get(f"final_loss_{n}")) for n in names]
    lines = [
        f"Preset `{preset.name}` (base: {base_info.get('kind')}, {m['n_params']:,} parameters), {m['n_facts']} facts, "
        f"{m['n_dialogues']} dialogues ({m['n_lies']} with a lie, p_lie {preset.p_lie}), "
        f"{preset.train.epochs} fine-tuning epochs at lr {preset.train.lr:g}, {m['steps']} steps per arm, "
        f"seed {m['seed']}."
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
        row("final loss (mean of last 50 steps)", loss),
        "",
    ]
    if "facts_do_beats_obs" in m:
        lines.append(f"Δ_do > Δ_obs on **{m['facts_do_beats_obs']} of {m['n_facts']}** facts. ")
    lines += [
        f"Supervised tokens: standard {m['supervised_tokens_obs']}, interventional "
        f"{m['supervised_tokens_do']} (the {m['agent_content_tokens']} agent-content tokens of "
        f"{m['total_tokens']} are dropped).",
        "",
        f"Timings: base {m['seconds_base']:.1f} s ({'loaded from the cache' if base_info.get('cached') else 'built'}), "
        f"data {m['seconds_data'] - m['seconds_base']:.1f} s, fine-tuning {m['seconds_train']:.1f} s, probes "
        f"{m['seconds_probes']:.1f} s, total {m['seconds_total']:.1f} s; masked/unmasked step cost ratio "
        f"{_fmt(m['masked_unmasked_step_cost_ratio'])}.",
    ]
    sections = [("Summary", "\n".join(lines))]
    base_lines = [f"Kind: {base_info.get('kind')}."]
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
    sections.append(("Table 2: truth probe", table2))
    sections.append(("Table 3: lie probe", table3))
    if held_out:
        hnames = list(probes_held)
        rows = ["| held-out topic | " + " | ".join(f"Δ {ARM_NAMES[n]}" for n in hnames) + " |",
                "|---" * (len(hnames) + 1) + "|"]
        for i, f in enumerate(held_out):
            b = probes_held["base"][i].margin.delta
            cells = [f"{b:+.3f}"] + [f"{probes_held[n][i].margin.delta:+.3f} ({probes_held[n][i].margin.delta - b:+.3f})"
                                     for n in hnames[1:]]
            rows.append(f"| {f.topic} | " + " | ".join(cells) + " |")
        means = ", ".join(
            f"{ARM_NAMES[n]} {m[f'held_out_mean_delta_{SUFFIX[n]}']:+.3f} (shift {m[f'held_out_shift_{SUFFIX[n]}']:+.3f})"
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


def aggregate(per_seed: Sequence[dict[str, Any]], held: dict[int, dict[str, list[dict]]] | None = None) -> dict[str, Any]:
    """Across seeds: a Student-t CI of every arm's mean Δ, its shift from the base and the
    held-out means; paired CIs of Δ_do − Δ_obs (arms share seeds); label counts averaged."""
    arms = [a for a in SUFFIX if per_seed[0].get(f"mean_delta_{SUFFIX[a]}") is not None]
    agg: dict[str, Any] = {"seeds": [m["seed"] for m in per_seed], "n_facts": per_seed[0]["n_facts"], "arms": arms}

    def col(key: str) -> list[float]:
        return [m[key] for m in per_seed]

    for key in ["base_mean_delta"] + [f"{k}_{SUFFIX[a]}" for a in arms for k in ("mean_delta", "shift")]:
        agg[key] = ci95(col(key))
    if "obs" in arms and "do" in arms:
        agg["delta_do_minus_obs"] = paired_ci95(col("mean_delta_do"), col("mean_delta_obs"))
        agg["facts_do_beats_obs"] = col("facts_do_beats_obs")
    for a in arms:
        agg[f"facts_lie_preferred_{SUFFIX[a]}"] = col(f"facts_lie_preferred_{SUFFIX[a]}")
        for probe in ("truth_probe", "lie_probe"):
            labels = sorted({k for m in per_seed for k in m[f"{probe}_{SUFFIX[a]}"]})
            agg[f"{probe}_{SUFFIX[a]}_mean"] = {k: statistics.fmean(m[f"{probe}_{SUFFIX[a]}"].get(k, 0) for m in per_seed)
                                                for k in labels}
    agg["base_facts_truth_preferred"] = col("base_facts_truth_preferred")
    if per_seed[0].get("held_out_base_mean_delta") is not None:
        agg["held_out_base_mean_delta"] = ci95(col("held_out_base_mean_delta"))
        for a in arms:
            agg[f"held_out_mean_delta_{SUFFIX[a]}"] = ci95(col(f"held_out_mean_delta_{SUFFIX[a]}"))
            agg[f"held_out_shift_{SUFFIX[a]}"] = ci95(col(f"held_out_shift_{SUFFIX[a]}"))
        if held:  # per held-out fact: each arm's Δ across seeds
            seeds = list(held)
            topics = [r["topic"] for r in held[seeds[0]]["base"]]
            agg["held_out_per_fact"] = {
                t: {name: ci95([held[s][name][i]["margin"]["delta"] for s in seeds]) for name in ["base", *arms]}
                for i, t in enumerate(topics)
            }
    for key in ("supervised_tokens_obs", "supervised_tokens_do", "agent_content_tokens", "seconds_total",
                "masked_unmasked_step_cost_ratio", "whole_word_share"):
        agg[key] = col(key)
    return agg


def run_seeds(
    preset: Preset,
    out_dir: str | Path,
    seeds: Sequence[int],
    *,
    progress: bool = True,
    extra_sections: Sequence[SectionSource] = (),
    compare_to: str | Path | None = None,
    fresh: bool = False,
    **run_options: Any,
) -> dict[str, Any]:
    """Run every seed into ``out_dir/seed_<k>`` and write the aggregate report in ``out_dir``.

    Unless ``fresh``, a seed whose ``metrics.json`` already exists is not run again and a seed
    with a checkpoint resumes from it, so rerunning an interrupted command continues where it
    stopped; ``fresh`` runs every seed again. ``compare_to`` names another multi-seed run directory
    with the same seeds (e.g. the run without an ablation): the report then gives, paired by
    seed, how much this run changes Δ_obs, Δ_do and their gap.
    """
    if not seeds:
        raise InvalidArgument("no seeds given")
    if len(set(seeds)) != len(seeds):
        raise InvalidArgument(f"repeated seeds in {list(seeds)}")
    if compare_to is not None and not (Path(compare_to) / "metrics.json").is_file():
        raise InvalidArgument(f"--compare-to {compare_to}: no multi-seed metrics.json there")
    out = Path(out_dir)
    per_seed = []
    for s in seeds:
        seed_dir = out / f"seed_{s}"
        if not fresh and (seed_dir / "metrics.json").exists():
            per_seed.append(json.loads((seed_dir / "metrics.json").read_text()))
            continue
        ckpt = seed_dir / "checkpoint"
        resume = ckpt if not fresh and not preset.ablate_order and (ckpt / "state.json").exists() else None
        per_seed.append(run(preset, seed_dir, seed=s, resume=resume, progress=progress, **run_options))
    probe_rows = {s: json.loads((out / f"seed_{s}" / "probes.json").read_text()) for s in seeds}
    topics = [r["topic"] for r in probe_rows[seeds[0]]["base"] if not r.get("held_out")]
    held = {s: {n: [r for r in rows if r.get("held_out")] for n, rows in probe_rows[s].items()} for s in seeds}
    agg = aggregate(per_seed, held)
    if "obs" in agg["arms"] and "do" in agg["arms"]:
        wins = {t: 0 for t in topics}
        for s in seeds:
            for o, d in zip(probe_rows[s]["obs"], probe_rows[s]["do"]):
                if not o.get("held_out") and d["margin"]["delta"] > o["margin"]["delta"]:
                    wins[o["topic"]] += 1
        agg["per_fact_wins_do"] = wins
    if compare_to is not None:
        agg["compared_to"] = compare_runs(per_seed, compare_to)
    report.write_json(out / "metrics.json", {**agg, "per_seed": per_seed})
    sections = _seed_sections(agg, per_seed, preset)
    sections += [src(agg) for src in extra_sections]
    report.write_report(out / "report.md", "Interventional vs standard SFT on a lying agent: seeds", sections)
    return agg


def compare_runs(per_seed: Sequence[dict[str, Any]], other_dir: str | Path) -> dict[str, Any]:
    """Paired by seed: this run minus the run in ``other_dir`` for Δ_obs, Δ_do and Δ_do − Δ_obs."""
    path = Path(other_dir) / "metrics.json"
    try:
        other = {m["seed"]: m for m in json.loads(path.read_text())["per_seed"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(f"--compare-to {other_dir}: no multi-seed metrics.json there ({exc})") from None
    missing = [m["seed"] for m in per_seed if m["seed"] not in other]
    if missing:
        raise InvalidArgument(f"--compare-to {other_dir} lacks seed(s) {missing}")

    def gap(m: dict[str, Any]) -> float:
        return m["mean_delta_do"] - m["mean_delta_obs"]

    out: dict[str, Any] = {"dir": str(other_dir)}
    for name, f in (("mean_delta_obs", lambda m: m["mean_delta_obs"]), ("mean_delta_do", lambda m: m["mean_delta_do"]),
                    ("delta_do_minus_obs", gap)):
        out[name] = paired_ci95([f(m) for m in per_seed], [f(other[m["seed"]]) for m in per_seed])
        out[f"{name}_other"] = ci95([f(other[m["seed"]]) for m in per_seed])
    return out


def _seed_sections(agg: dict[str, Any], per_seed: Sequence[dict[str, Any]], preset: Preset) -> list:
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
        lines.append(f"| mean Δ, {ARM_NAMES[a]} | {_ci_text(agg[f'mean_delta_{SUFFIX[a]}'])} |")
        lines.append(f"| shift from the base, {ARM_NAMES[a]} | {_ci_text(agg[f'shift_{SUFFIX[a]}'])} |")
    if "delta_do_minus_obs" in agg:
        lines.append(f"| Δ_do − Δ_obs (paired) | {_ci_text(agg['delta_do_minus_obs'])} |")
    if "held_out_base_mean_delta" in agg:
        lines.append(f"| held-out facts: mean Δ, base | {_ci_text(agg['held_out_base_mean_delta'])} |")
        for a in arms:
            lines.append(f"| held-out facts: shift from the base, {ARM_NAMES[a]} | "
                         f"{_ci_text(agg[f'held_out_shift_{SUFFIX[a]}'])} |")
    lines += ["", "| per seed | " + " | ".join(ARM_NAMES[a] for a in arms) + " |", "|---" * (len(arms) + 1) + "|"]
    lines.append("| facts with the lie preferred | " + " | ".join(str(agg[f"facts_lie_preferred_{SUFFIX[a]}"]) for a in arms) + " |")
    for probe in ("truth_probe", "lie_probe"):
        lines.append(f"| {probe.replace('_', ' ')} labels, mean over seeds | " + " | ".join(
            _counts({k: round(v, 1) for k, v in agg[f"{probe}_{SUFFIX[a]}_mean"].items()}) for a in arms) + " |")
    lines += ["", f"Base: truth preferred on {agg['base_facts_truth_preferred']} of {agg['n_facts']} facts per seed."]
    sections = [("Aggregate over seeds", "\n".join(lines))]
    per = ["| seed | base | " + " | ".join(f"Δ {ARM_NAMES[a]}" for a in arms) + " | total s | report |",
           "|---" * (len(arms) + 4) + "|"]
    per += [f"| {m['seed']} | {m['base_mean_delta']:+.3f} | "
            + " | ".join(f"{m[f'mean_delta_{SUFFIX[a]}']:+.3f}" for a in arms)
            + f" | {m['seconds_total']:.0f} | [seed_{m['seed']}/report.md](seed_{m['seed']}/report.md) |"
            for m in per_seed]
    sections.append(("Per seed", "\n".join(per)))
    if "held_out_per_fact" in agg:
        names = ["base", *arms]
        rows = ["| held-out fact | " + " | ".join(f"Δ {ARM_NAMES[n]}" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
        rows += [f"| {t} | " + " | ".join(_ci_text(v[n]) for n in names) + " |" for t, v in agg["held_out_per_fact"].items()]
        sections.append(("Held-out facts: per-fact Δ, mean [95% CI] over seeds", "\n".join(rows)))
    if "compared_to" in agg:
        c = agg["compared_to"]
        rows = [f"This run minus `{c['dir']}` (same seeds; paired 95% CIs):", "",
                "| quantity | other run | this run − other run |", "|---|---|---|"]
        rows += [f"| {label} | {_ci_text(c[k + '_other'])} | {_ci_text(c[k])} |" for label, k in (
            ("mean Δ, standard SFT", "mean_delta_obs"), ("mean Δ, interventional SFT", "mean_delta_do"),
            ("Δ_do − Δ_obs", "delta_do_minus_obs"))]
        sections.append(("Compared with another run", "\n".join(rows)))
    if "per_fact_wins_do" in agg:
        win_rows = ["| fact | seeds with Δ_do > Δ_obs |", "|---|---|"] + [
            f"| {t} | {w}/{len(seeds)} |" for t, w in agg["per_fact_wins_do"].items()]
        sections.append(("Per-fact wins", "\n".join(win_rows)))
    return sections
