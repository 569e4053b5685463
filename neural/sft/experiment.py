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

from . import markdown, report
from .aggregate import aggregate, check_compare_to, compare_runs, compare_settings
from .arms import ALL_ARMS, BASE, arm as arm_record
from .dialogues import Dialogue, make_dialogues
from .facts import FACTS, HELD_OUT, Fact, check_bank
from ..masking import MaskAccounting, MaskedExample, mask_transcript
from .presets import Preset
from .settings import SETTINGS_FILE, check_same_settings, run_settings, saved_settings
from .metrics import probe_metrics
from .probes import ProbeResult, check_probes_fit, probe_facts
from .stats import ci95, paired_ci95
from .checkpoints import STATE_FILE, read_state, steps_trained
from .train import PairResult, train_lockstep, train_sequential

__all__ = [
    "ARM_NAMES",
    "SUFFIX",
    "build_base_model",
    "build_model",
    "check_resumable",
    "comparable_config",
    "make_examples",
    "run",
    "run_experiment",
    "run_probes",
    "run_seeds",
    "select_facts",
    "train_arms",
]

SectionSource = Callable[[dict[str, Any]], "report.Section"]

SUFFIX = {a.name: a.suffix for a in ALL_ARMS}
"""How each arm is named in ``metrics.json`` keys (a view of the :class:`~neural.sft.arms.Arm` records)."""

ARM_NAMES = {a.name: a.display for a in (BASE, *ALL_ARMS)}
"""Each arm's (and the base's) name in reports (a view of the Arm records)."""


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
    the claims, as before the base existed. ``random_init`` (on any preset, before the other two):
    ``preset.tiny``'s shape (the paper preset: Qwen2.5-0.5B's; tiny and micro: their own) with
    random weights and a tokenizer whose ids index its first rows, for timing and memory only.
    """
    from ..devices import resolve_device

    from .base import BaseModel, build_base

    device = resolve_device(preset.device)
    if preset.model is not None and not preset.random_init:
        from ..models import load_pretrained

        model, tokenizer = load_pretrained(preset.model, dtype=preset.dtype, device=device)
        return BaseModel(model, tokenizer, {"kind": "pretrained", "model": preset.model, "cached": False,
                                            "architecture": type(model).__name__})
    from ..models import RANDOM_INIT_TOKENIZER_VOCAB, build_tiny_model, train_tokenizer

    assert preset.tiny is not None
    if preset.pretrains_base:  # one base per seed: the base's seed is the run's (cached per seed)
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
               resume: str | Path | None, progress: bool, settings: dict[str, Any] | None = None) -> PairResult:
    """Every arm from the same base in the same order; with ``preset.ablate_order`` each arm gets
    its own independently shuffled order instead (the public notebook's defect, on purpose).
    ``settings`` (:func:`~neural.sft.settings.run_settings`) are saved beside the checkpoints."""
    schedule = train_sequential if preset.sequential_arms else train_lockstep
    if settings is not None:  # before the first checkpoint: what --resume compares with
        for d in [out / "checkpoint"] if not preset.ablate_order else [out / f"checkpoint_{a}" for a in preset.arms]:
            d.mkdir(parents=True, exist_ok=True)
            report.write_json(d / SETTINGS_FILE, settings)
    if not preset.ablate_order:
        return schedule(model, examples, cfg, arms=preset.arms, device=preset.device, stop_after=preset.max_steps,
                        checkpoint_dir=out / "checkpoint", resume=resume, progress=progress)
    if resume is not None:
        raise InvalidArgument("--resume does not combine with --ablate-order")
    parts = {arm: schedule(model, examples, replace(cfg, seed=cfg.seed + 7919 * (k + 1)), arms=(arm,),
                           device=preset.device, stop_after=preset.max_steps,
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


# 7. report: the probe metrics (neural.sft.metrics), the markdown (neural.sft.markdown) ----------
def _deltas(results: Sequence[ProbeResult]) -> list[float]:
    return [r.margin.delta for r in results]


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
    settings_checked: bool = False,
) -> dict[str, Any]:
    """Run the §5 experiment for one seed, write the run directory, return ``metrics``.
    ``settings_checked``: the caller has already checked ``resume``'s settings against this run's
    (:func:`check_resumable`), so they are not read and checked again here."""
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
    settings = run_settings(preset, seed, all_facts, precision)
    if resume is not None and not settings_checked:
        check_same_settings(saved_settings(Path(resume) / SETTINGS_FILE), settings, f"the checkpoint {resume}",
                            auto_precision=resolve_precision("auto", device))
    base = build_base_model(preset, dialogues, all_facts, seed, cache_dir=base_cache,
                            rebuild=rebuild_base, progress=progress)
    model, tokenizer = base.model, base.tokenizer
    t_base = time.perf_counter()
    n_params = count_parameters(model)
    # one summary line, with or without a progress bar (a log file gets it too)
    print(f"model: {type(model).__name__}, {n_params:,} parameters"
          f"{' (random init: timing and memory only)' if preset.random_init else ''}; "
          f"device {device}, precision {precision}", file=sys.stderr)
    n_train_facts = len(facts)
    if preset.probe_facts:
        facts, held_out = facts[: preset.probe_facts], held_out[: preset.probe_facts]  # trained on all
    max_len = getattr(model.config, "max_position_embeddings", None)
    check_probes_fit(tokenizer, facts + held_out, max_len)  # before any training, with --out as it was
    examples, accounting = make_examples(dialogues, tokenizer, max_len)
    t_data = time.perf_counter()
    train_cfg = preset.train if preset.train.seed == seed else preset.with_(seed=seed).train
    result = train_arms(preset, model, examples, train_cfg, out, resume=resume, progress=progress, settings=settings)
    t_train = time.perf_counter()
    # base first, then the arms; sequential arms stay on disk until each is probed
    models = ChainMap(result.models, {"base": model})
    probes = run_probes(models, tokenizer, facts, preset)
    probes_held = run_probes(models, tokenizer, held_out, preset) if held_out else {k: [] for k in models}
    t_probe = time.perf_counter()

    tail = {a: [x for x in result.losses[a] if x is not None][-50:] for a in result.losses}
    metrics: dict[str, Any] = {
        **probe_metrics(probes, probes_held, preset.arms),
        "n_train_facts": n_train_facts,
        "whole_word_share": whole_word_share(tokenizer, facts + held_out)["share"],
        "probe_phrasings_in_base_corpus": phrasings_in_corpus(facts + held_out, base_corpus(
            all_facts, seed=seed, chit_chat=preset.base.chit_chat)) if preset.pretrains_base else None,
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
    report.write_json(out / "config.json", {"preset": preset.to_dict(), "seed": seed, "train": vars(train_cfg), "settings": settings,
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
        "user states (truth)", [arm_record(n).display for n in names],
    )
    table3 = report.probe_table(
        ((f.false, *[c for n in names for c in (probes[n][i].lie_reply, probes[n][i].lie_label)])
         for i, f in enumerate(facts)),
        "user states (lie)", [arm_record(n).display for n in names],
    )
    (out / "table2_truth_probe.md").write_text(table2 + "\n")
    (out / "table3_lie_probe.md").write_text(table3 + "\n")
    roles = report.role_table(examples[0], tokenizer)
    (out / "masks.md").write_text(roles + "\n")
    sections = markdown.run_sections(metrics, preset, base.info, held_out, probes, probes_held, table2, table3, roles, accounting)
    sections += [src(metrics) for src in extra_sections]
    title = f"Interventional vs standard SFT on a lying agent (seed {seed})"
    if preset.random_init:
        title = f"RANDOM INIT, for timing and memory only (no pretrained weights; Δ means nothing): {title}"
    report.write_report(out / "report.md", title, sections)
    report.write_json(out / "metrics.json", metrics)  # last: its presence marks the seed finished
    return metrics


def comparable_config(preset: Preset, seed: int, bank: tuple[Sequence[Fact], Sequence[Fact]] | None = None) -> dict[str, Any]:
    """What :func:`~neural.sft.aggregate.compare_settings` compares of seed ``seed``'s ``config.json``,
    known before the run: the preset, the probed facts and the fact bank's digest."""
    facts, held_out = select_facts(preset, bank)
    settings = run_settings(preset, seed, facts + held_out)
    if preset.probe_facts:
        facts, held_out = facts[: preset.probe_facts], held_out[: preset.probe_facts]
    return json.loads(json.dumps({"preset": preset.to_dict(), "settings": {"facts": settings["facts"]},
                                  "facts": [vars(f) for f in facts], "held_out": [vars(f) for f in held_out]}))


def check_resumable(preset: Preset, out_dir: str | Path, seeds: Sequence[int], *, resume: str | Path | None = None,
                    bank: tuple[Sequence[Fact], Sequence[Fact]] | None = None) -> None:
    """Before any work: refuse to continue (or, with several seeds, reuse) anything that was trained
    under other settings than ``preset`` gives: the checkpoint ``resume`` of a single seed, else each
    ``out_dir/seed_<k>``'s finished results and checkpoint."""
    from ..devices import resolve_device, resolve_precision

    facts = [f for part in select_facts(preset, bank) for f in part]
    device = resolve_device(preset.device)
    auto, precision = resolve_precision("auto", device), resolve_precision(preset.train.precision, device)
    for s in seeds:
        now = run_settings(preset, s, facts, precision)
        if resume is not None:
            places = [Path(resume) / SETTINGS_FILE]
        else:
            seed_dir = Path(out_dir) / f"seed_{s}"
            places = [seed_dir / "config.json", seed_dir / "checkpoint" / SETTINGS_FILE]
        for path in places:
            check_same_settings(saved_settings(path), now, f"the run in {path.parent}", auto_precision=auto)
        ckpts = [Path(resume)] if resume is not None else sorted((Path(out_dir) / f"seed_{s}").glob("checkpoint*"))
        for ckpt in ckpts:
            _check_checkpoint_schedule(preset, ckpt)


def _short_of_asked(preset: Preset, seed_dir: Path) -> bool:
    """Whether a finished seed trained fewer steps than ``preset`` asks (a later, larger --max-steps):
    it then trains on from its checkpoint, as a single seed does, so seeds keep one training length."""
    ckpt = seed_dir / "checkpoint"
    if preset.ablate_order or not (ckpt / STATE_FILE).exists():
        return False
    state = read_state(ckpt)
    asked = len(state["order"]) if preset.max_steps is None else min(len(state["order"]), preset.max_steps)
    return steps_trained(state) < asked


def _check_checkpoint_schedule(preset: Preset, checkpoint: Path) -> None:
    """Refuse what the settings check cannot see in a checkpoint: a switch of ``--sequential-arms``
    (its checkpoint files differ), and a ``--max-steps`` below the steps it has trained (the run would
    keep the longer run's weights under the shorter count, and a later resume would train steps twice)."""
    if not (checkpoint / STATE_FILE).exists():
        return
    state = read_state(checkpoint)
    if bool(state.get("sequential", False)) != preset.sequential_arms:
        was, now = ("on", "off") if state.get("sequential") else ("off", "on")
        raise InvalidArgument(
            f"--resume: {checkpoint} was trained with --sequential-arms {was}, not {now}; resume with the same "
            f"settings, or start again with --overwrite or a new --out")
    done = steps_trained(state)
    if preset.max_steps is not None and done > preset.max_steps:
        raise InvalidArgument(
            f"--resume: {checkpoint} has trained {done} steps, more than --max-steps {preset.max_steps}; "
            f"resume with --max-steps {done} or more, or start again with --overwrite or a new --out")


run_experiment = run  # the name under which ``neural`` exports :func:`run`


def run_seeds(
    preset: Preset,
    out_dir: str | Path,
    seeds: Sequence[int],
    *,
    progress: bool = True,
    extra_sections: Sequence[SectionSource] = (),
    compare_to: str | Path | None = None,
    fresh: bool = False,
    compared: dict[int, dict[str, Any]] | None = None,
    settings_checked: bool = False,
    compared_settings: list[dict[str, Any]] | None = None,
    **run_options: Any,
) -> dict[str, Any]:
    """Run every seed into ``out_dir/seed_<k>`` and write the aggregate report in ``out_dir``.

    Unless ``fresh``, a seed whose ``metrics.json`` already exists is not run again and a seed
    with a checkpoint resumes from it, so rerunning an interrupted command continues where it
    stopped; ``fresh`` runs every seed again. ``compare_to`` names another multi-seed run directory
    with the same seeds (e.g. the run without an ablation): the report then gives, paired by
    seed, how much this run changes Δ_obs, Δ_do and their gap. A caller that has made the checks
    before any work passes what they found, so nothing is read twice: ``compared``, what
    :func:`~neural.sft.aggregate.check_compare_to` returned for ``compare_to`` and these seeds, and
    ``settings_checked`` when :func:`check_resumable` has passed for ``out_dir`` and these seeds,
    and ``compared_settings``, what :func:`~neural.sft.aggregate.compare_settings` found (the runs
    must have probed the same facts; every other setting that differs is listed in the report).
    """
    if not seeds:
        raise InvalidArgument("no seeds given")
    if len(set(seeds)) != len(seeds):
        raise InvalidArgument(f"repeated seeds in {list(seeds)}")
    if compare_to is not None and compared is None:
        compared = check_compare_to(compare_to, seeds, preset.arms)  # before any seed runs, not after
    if compare_to is not None and compared_settings is None:
        compared_settings = compare_settings(compare_to, seeds[0],
                                             comparable_config(preset, seeds[0], run_options.get("bank")))
    out = Path(out_dir)
    # finished seeds are kept and checkpoints resumed: only under the same settings
    if not fresh and not settings_checked:
        check_resumable(preset, out, seeds, bank=run_options.get("bank"))
    per_seed = []
    for s in seeds:
        seed_dir = out / f"seed_{s}"
        finished = all((seed_dir / name).exists() for name in ("metrics.json", "probes.json"))  # what is read back
        if not fresh and finished and not _short_of_asked(preset, seed_dir):
            per_seed.append(json.loads((seed_dir / "metrics.json").read_text()))
            continue
        ckpt = seed_dir / "checkpoint"
        resume = ckpt if not fresh and not preset.ablate_order and (ckpt / "state.json").exists() else None
        per_seed.append(run(preset, seed_dir, seed=s, resume=resume, progress=progress,
                            settings_checked=True, **run_options))  # checked above (or fresh: no resume)
    lengths = {m.get("seed"): m.get("steps") for m in per_seed}
    if len(set(lengths.values())) > 1:  # one CI over seeds trained for different lengths would mislead
        raise InvalidArgument(f"the seeds in {out} were trained for different numbers of steps "
                              f"({', '.join(f'seed {s}: {n}' for s, n in lengths.items())}); "
                              f"start again with --overwrite or a new --out")
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
        agg["compared_to"] = {**compare_runs(per_seed, compare_to, compared), "settings_differ": compared_settings}
    report.write_json(out / "metrics.json", {**agg, "per_seed": per_seed})
    sections = markdown.seed_sections(agg, per_seed, preset)
    sections += [src(agg) for src in extra_sections]
    report.write_report(out / "report.md", "Interventional vs standard SFT on a lying agent: seeds", sections)
    return agg


