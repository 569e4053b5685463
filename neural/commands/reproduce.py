"""``bayes-agent reproduce``: the paper's §5 experiment (the main job), written to a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bayes_agent.commands import named_option, nonnegative_int, zero_or_more
from bayes_agent.commands import (add_overwrite_argument, hold_out_dir, nothing_left_if_rejected, prepare_out_dir,
                                  progress_wanted, resume_command, save_on_interrupt)
from bayes_agent.errors import BayesAgentError

__all__ = ["add_experiment_options", "register", "resolve_preset"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "reproduce",
        help="fine-tune standard, interventional and assistant-only SFT on dialogues with a lying "
        "agent; write a report (tiny preset: about 2-4 min per seed on 2 CPU cores)",
        description="Reproduce §5: facts -> dialogues -> masks -> base -> arms -> probes -> report. "
        "The default pretrains the embedded tiny Qwen2 on the fact corpus (cached) and fine-tunes "
        "every arm from it on the CPU. Typical time on 2 CPU cores (docs/experiment.md): 75-192 s "
        "per seed with the tiny preset, under 4 minutes including the first base build.",
    )
    p.add_argument("--out", required=True, help="run directory (report.md, metrics.json, figures)")
    p.add_argument("--seeds", type=nonnegative_int, nargs="+", default=None,
                   help="one run per seed (integers >= 0), aggregated")
    p.add_argument("--precision", default=None, help="auto (default: bf16 autocast on a GPU that has "
                   "it, fp16 on older GPUs, fp32 on MPS/CPU), fp32, bf16 or fp16; weights stay float32")
    p.add_argument("--random-init", action="store_true", help="build the preset's model shape with "
                   "random weights instead of loading or pretraining it (paper: the Qwen2.5-0.5B shape; "
                   "tiny and micro: no pretrained base; timing and memory only, the results mean nothing)")
    p.add_argument("--lora", type=int, default=None, metavar="R", help="train rank-R LoRA adapters "
                   "(peft) in every arm instead of all weights (what fits a laptop); 0: off, all weights")
    p.add_argument("--sequential-arms", action="store_true", help="train the arms one after another "
                   "from the same saved initial weights (one training copy in memory; paper: on)")
    p.add_argument("--max-steps", type=int, default=None, help="stop each arm after N steps (smoke runs)")
    p.add_argument("--probe-facts", type=int, default=None, metavar="N",
                   help="probe only the first N training facts (and N held-out ones)")
    p.add_argument("--checkpoint-every", type=zero_or_more, default=None,
                   help="also checkpoint every N steps (default: at the end; paper preset: every epoch); "
                   "0: only at the end")
    p.add_argument("--resume", nargs="?", const="", default=None, metavar="DIR",
                   help="continue an interrupted run in --out: finished seeds are kept and a seed's "
                   "checkpoint is resumed; with DIR, resume one seed from that checkpoint directory")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (there is none anyway when stderr is not a terminal)")
    p.add_argument("--p-lie", dest="p_lie", type=float, default=None, help="the agent's lie rate (default 0.6)")
    p.add_argument("--compare-to", default=None, metavar="DIR", help="with --seeds: another multi-seed "
                   "run directory (same seeds, same probed facts) to compare with, paired by seed (e.g. the run "
                   "without an ablation); the settings that differ are listed in the report")
    add_experiment_options(p)
    add_overwrite_argument(p)
    p.set_defaults(func=_handle)


def add_experiment_options(p: Any) -> None:
    """Options shared by ``reproduce`` and ``sweep``: preset and overrides, arms, facts, the base and
    the ablations."""
    p.add_argument("--preset", default="tiny", help="tiny (default), micro or paper")
    p.add_argument("--model", default=None, help="hub id or local directory of a causal LM "
                   "(local files only; overrides the preset's model)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: the preset's)")
    p.add_argument("--n-dialogues", type=int, default=None,
                   help="number of generated dialogues (default: the preset's)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the preset's)")
    p.add_argument("--device", default=None, help="auto (default: CUDA, then Apple MPS, then CPU), "
                   "cuda, cuda:N, mps or cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (tiny preset: 1)")
    p.add_argument("--arms", nargs="+", default=None, metavar="ARM",
                   help="arms to train: obs (standard), do (interventional), ao (assistant-only); default all")
    p.add_argument("--facts", default=None, metavar="FILE.jsonl", help="your own fact bank: one JSON "
                   "object per line with topic, true, false, split (train or held_out)")
    p.add_argument("--base-cache", default=None, help="directory of cached base models "
                   "(default $BAYES_AGENT_CACHE/base or ~/.cache/bayes_agent/base)")
    p.add_argument("--rebuild-base", action="store_true", help="pretrain the base again even if it is cached")
    p.add_argument("--from-scratch", action="store_true", help="ablation: no pretrained base; "
                   "fine-tune from random weights with the from-scratch settings")
    p.add_argument("--ablate-order", action="store_true", help="ablation: each arm its own shuffled "
                   "example order (the public notebook's defect)")
    p.add_argument("--ablate-first-token", action="store_true", help="ablation: score Δ without "
                   "the first completion token (the public notebook's other defect)")


def resolve_preset(args: argparse.Namespace) -> tuple[Any, Any]:
    """The preset with the command line's overrides applied, and the fact bank of ``--facts``."""
    from ..sft.facts import load_facts
    from ..sft.presets import get_preset

    preset = get_preset(args.preset)
    if args.from_scratch:
        preset = preset.from_scratch()
    # command-line overrides of the preset, by the preset field they set
    overrides = {"model": args.model, "epochs": args.epochs, "n_dialogues": args.n_dialogues,
                 "lr": args.lr, "device": args.device, "checkpoint_every": args.checkpoint_every,
                 "threads": args.threads, "p_lie": args.p_lie,
                 "arms": tuple(args.arms) if args.arms else None,
                 "ablate_order": args.ablate_order or None, "ablate_first_token": args.ablate_first_token or None}
    paper_path = {"precision": "precision", "lora_rank": "lora", "random_init": "random_init",
                  "sequential_arms": "sequential_arms", "max_steps": "max_steps", "probe_facts": "probe_facts"}
    for field, option in paper_path.items():
        value = getattr(args, option, None)
        overrides[field] = None if value is False else value  # a flag not given: keep the preset
    changes: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    if args.from_scratch and getattr(args, "random_init", False):
        raise BayesAgentError("--from-scratch and --random-init both start from random weights (the ablation's "
                              "settings vs the preset's shape for timing); give one of them")
    if args.from_scratch and getattr(args, "lora", None):
        raise BayesAgentError(f"--lora {args.lora} trains adapters on top of pretrained weights, and --from-scratch "
                              f"has none; drop --lora (or give --lora 0) to train all weights")
    if args.p_lie is not None and not 0.0 <= args.p_lie <= 1.0:
        raise BayesAgentError(f"--p-lie must be a probability in [0, 1], got {args.p_lie}")
    if changes:
        preset = preset.with_(**changes)
    if not preset.random_init:  # --random-init builds the shape: no weights needed
        _check_model_is_local(preset.model)  # before anything is written
    bank = load_facts(args.facts) if args.facts else None
    return preset, bank


def _handle(args: argparse.Namespace) -> int:
    from ..devices import check_threads, resolve_device, resolve_precision  # no torch: arguments are checked first

    named_option("--threads", check_threads, args.threads)
    preset, bank = resolve_preset(args)
    options = {"bank": bank, "base_cache": args.base_cache, "rebuild_base": args.rebuild_base}
    seeds = args.seeds or [0]
    if len(seeds) > 1 and args.resume:
        raise BayesAgentError("--resume DIR works with a single seed; pass --resume without a "
                              "directory to continue a multi-seed run in --out")
    if args.compare_to and len(seeds) < 2:
        raise BayesAgentError("--compare-to needs --seeds with at least two seeds")
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        raise BayesAgentError(
            "`reproduce` needs torch and transformers: pip install 'bayes-agent[neural]'"
        ) from None
    from ..sft import experiment
    from ..sft.aggregate import check_compare_to, compare_settings
    from ..sft.checkpoints import check_has_state, read_state
    from ..sft.outputs import remove_outputs
    from ..sft.settings import check_same_seed_layout

    # every refusal below comes before any work and leaves --out as it was
    # an unknown or absent device, a precision it cannot run: one line, before anything is written
    device = named_option("--device" if args.device is not None else "--device (the preset's)", resolve_device,
                          preset.device)
    named_option("--precision", lambda p: resolve_precision(p, device), preset.train.precision)
    compared = None  # --compare-to's per-seed metrics: read and checked once, here, before any work
    if args.compare_to:
        _check_not_itself(args.compare_to, args.out)
        compared = check_compare_to(args.compare_to, seeds, preset.arms)
        options["compared_settings"] = compare_settings(args.compare_to, seeds[0],
                                                        experiment.comparable_config(preset, seeds[0], bank))
    if args.resume:
        read_state(Path(args.resume))  # a missing or broken checkpoint: refused before --out is touched
    with nothing_left_if_rejected(args.out):  # a run refused below leaves no --out it created
        # --resume continues in a directory that holds the interrupted run
        out = prepare_out_dir(args.out, overwrite=args.overwrite, resume=args.resume is not None)
        with hold_out_dir(out, "reproduce"):  # a second run into this --out meanwhile is refused
            if args.resume is not None:  # one seed in --out itself, or several in seed_<k>/: not switched
                check_same_seed_layout(out, seeds)
            if args.resume == "":  # weights without state.json: refused, not quietly started over
                for seed_dir in [out] if len(seeds) == 1 else [out / f"seed_{s}" for s in seeds]:
                    if len(seeds) == 1 or not (seed_dir / "metrics.json").exists():
                        for ckpt in sorted(seed_dir.glob("checkpoint*")):
                            check_has_state(ckpt)
            resume = args.resume or None
            if args.resume == "" and len(seeds) == 1 and (out / "checkpoint" / "state.json").exists():
                resume = str(out / "checkpoint")
            # the settings of what is resumed (or, with several seeds, kept): checked once, here
            checked = resume is not None or (args.resume is not None and len(seeds) > 1)
            if checked:
                experiment.check_resumable(preset, out, seeds, resume=resume, bank=bank)
            if args.overwrite:
                remove_outputs(out)  # what earlier runs of this command wrote there, and nothing else
            return _run(args, preset, seeds, out, resume, {**options, "settings_checked": checked}, compared)


def _check_not_itself(compare_to: str, out: str) -> None:
    """``--compare-to`` naming ``--out`` itself compares a run with itself, and with ``--overwrite``
    would read a folder this run is about to empty: refused before anything is removed."""
    import os

    if os.path.realpath(os.path.expanduser(compare_to)) == os.path.realpath(os.path.expanduser(out)):
        raise BayesAgentError(f"--compare-to {compare_to} is this run's own --out; compare with another "
                              f"multi-seed run directory")


def _run(args: argparse.Namespace, preset: Any, seeds: list[int], out: Path, resume: str | None,
         options: dict[str, Any], compared: dict[int, dict[str, Any]] | None) -> int:
    from ..sft import experiment

    progress = progress_wanted(args.no_progress)
    worked = _worked_example()
    print(worked.text().splitlines()[-1])
    sections = [lambda _metrics: ("The §4 worked example (exact engine)", _worked_markdown(worked))]
    again = resume_command(args.argv, add=["--resume"])
    if len(seeds) == 1:
        def saved() -> str:
            ckpt = out / "checkpoint" / "state.json"
            return f"the checkpoint in {out / 'checkpoint'}" if ckpt.exists() else "nothing yet (no checkpoint reached)"

        with save_on_interrupt(saved, lambda: again):
            m = experiment.run(preset, args.out, seed=seeds[0], resume=resume, progress=progress,
                               extra_sections=sections, **options)
        _save_worked(worked, out)
        args.saved = f"report.md, metrics.json and the figures in {args.out}"
        means = ", ".join(f"{name} {m[key]:+.3f}" for name, key in (
            ("base", "base_mean_delta"), ("obs", "mean_delta_obs"), ("do", "mean_delta_do"),
            ("ao", "mean_delta_assistant_only")) if m.get(key) is not None)
        print(f"mean Δ: {means}; {m['seconds_total']:.0f} s; report: {args.out}/report.md")
    else:
        with save_on_interrupt(lambda: _saved_seeds(out, seeds), lambda: again):
            a = experiment.run_seeds(preset, args.out, seeds, progress=progress, extra_sections=sections,
                                     compare_to=args.compare_to, compared=compared, fresh=args.overwrite,
                                     **options)
        _save_worked(worked, out)
        args.saved = f"{len(seeds)} seeds, report.md and metrics.json in {args.out}"
        g = a.get("delta_do_minus_obs")
        gap = f"Δ_do − Δ_obs {g['mean']:+.3f} [{g['lo']:+.3f}, {g['hi']:+.3f}]; " if g else ""
        print(f"{len(seeds)} seeds: {gap}report: {args.out}/report.md")
    return 0


def _saved_seeds(out: Path, seeds: list[int]) -> str:
    """What an interrupted multi-seed run left: its finished seeds, and the checkpoint of each
    unfinished seed that reached one (what --resume continues from)."""
    unfinished = [out / f"seed_{s}" for s in seeds if not (out / f"seed_{s}" / "metrics.json").exists()]
    n = len(seeds) - len(unfinished)
    ckpts = [d / "checkpoint" for d in unfinished if (d / "checkpoint" / "state.json").exists()]
    kept = f" and the checkpoint{'s' if len(ckpts) > 1 else ''} {', '.join(map(str, ckpts))}" if ckpts else ""
    return f"{n} of {len(seeds)} seeds in {out}{kept}"


# what transformers loads a model's weights from (one file, or the index of shards)
_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
# what a tokenizer is loaded from (without any of them transformers builds an empty one, silently)
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")


def _check_model_is_local(model: str | None) -> None:
    """Stop before any work (and before anything is written) when ``--model`` is not on disk: a
    directory needs config.json and weights, a hub id both in the local cache."""
    import os

    from ..missing_model import missing_model_message

    if model is None:
        return
    path = os.path.expanduser(model)
    if os.path.isdir(path):
        lacking = [what for what, names in (("config.json", ("config.json",)), ("weights", _WEIGHTS),
                                            ("tokenizer files", _TOKENIZER_FILES))
                   if not any(os.path.isfile(os.path.join(path, n)) for n in names)]
        if lacking:
            raise BayesAgentError(missing_model_message(model, FileNotFoundError(
                f"no {' and no '.join(lacking)} in {model}")))
        _check_tokenizer(model, path)
        return
    from huggingface_hub import try_to_load_from_cache

    def cached(name: str) -> bool:
        try:
            return isinstance(try_to_load_from_cache(model, name), str)
        except ValueError:  # not a valid hub id: a path that does not exist
            return False

    if not cached("config.json"):
        raise BayesAgentError(missing_model_message(model, FileNotFoundError(f"no config.json for {model}")))
    if not any(cached(n) for n in _WEIGHTS):
        raise BayesAgentError(missing_model_message(model, FileNotFoundError(f"no weights for {model}")))


def _check_tokenizer(model: str, path: str) -> None:
    """The folder's tokenizer encodes text and fits the model's vocab_size (its config.json): both are
    checked again when the model loads, but here they stop the run before anything is written."""
    import json
    import os

    from transformers import AutoTokenizer

    from ..missing_model import LOAD_ERRORS, check_tokenizer_encodes, missing_model_message
    from ..models import check_tokenizer_fits

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        vocab_size = json.loads(open(os.path.join(path, "config.json"), encoding="utf-8").read()).get("vocab_size")
    except LOAD_ERRORS as exc:
        raise BayesAgentError(missing_model_message(model, exc)) from None
    check_tokenizer_encodes(tokenizer, model)
    if isinstance(vocab_size, int):
        check_tokenizer_fits(tokenizer, vocab_size, model)


def _worked_example() -> Any:
    """The paper's §4 two-action derivation in exact rationals."""
    from bayes_agent.worked import derive_two_action

    return derive_two_action()


def _save_worked(derivation: Any, out: Path) -> None:
    """The derivation as JSON beside the report (written with it, so a refused run leaves nothing)."""
    import json

    (out / "two_action.json").write_text(json.dumps(derivation.to_dict(), indent=2) + "\n")


def _worked_markdown(derivation: Any) -> str:
    return (
        "The arms above differ only in whether the agent's own tokens count as evidence. Section 4 of "
        "the paper draws the same line exactly, on an example small enough to work by hand: two "
        "hypotheses, two actions, one outcome. The bystander's (observational) posterior treats the "
        "agent's action as evidence about the world; the agent's own (interventional) posterior treats "
        "it as do(a) and learns only from the outcome. Below is the exact engine's derivation, in "
        "rationals (computed, not measured; also in `two_action.json`, and "
        "`bayes-agent two-action --latex` prints it as LaTeX):\n\n```text\n"
        + derivation.text().rstrip()
        + "\n```\n"
    )
