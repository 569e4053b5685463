"""``bayes-agent masks``: the role table of the first generated dialogue and the mask accounting."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bayes_agent.commands import nonnegative_int
from bayes_agent.errors import BayesAgentError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "masks",
        help="show which tokens each SFT arm supervises on the generated data set",
        description="Generate the §5.3 data set, tokenize it and print the role table of one "
        "dialogue (std=loss/--, interv=loss/--) and the accounting per dialogue and in total.",
    )
    p.add_argument("--preset", default="tiny", help="tiny (default), micro or paper: the data set and tokenizer sizes")
    p.add_argument("--model", default=None, help="use this model's tokenizer (local files only)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the generated dialogues, >= 0 (default 0)")
    p.add_argument("--n-dialogues", type=int, default=None,
                   help="number of generated dialogues (default: the preset's)")
    p.add_argument("--index", type=int, default=0, help="which dialogue to show (default: the first)")
    p.add_argument("--per-dialogue", action="store_true", help="also list the accounting of every dialogue")
    p.add_argument("--json", action="store_true", help="print the accounting as JSON")
    p.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    try:
        import transformers  # noqa: F401
    except ImportError:
        raise BayesAgentError("`masks` needs transformers: pip install 'bayes-agent[neural]'") from None
    from dataclasses import asdict

    from ..sft import experiment, report
    from ..sft.dialogues import make_dialogues
    from ..sft.presets import get_preset

    preset = get_preset(args.preset)
    if args.model is not None:
        preset = preset.with_(model=args.model, device="cpu")
    if args.n_dialogues is not None:
        preset = preset.with_(n_dialogues=args.n_dialogues)
    facts, held = experiment.select_facts(preset)
    dialogues = make_dialogues(facts, preset.n_dialogues, seed=args.seed, p_lie=preset.p_lie, p_tail=preset.p_tail)
    if not 0 <= args.index < len(dialogues):
        raise BayesAgentError(f"--index must be between 0 and {len(dialogues) - 1}, got {args.index}")
    if preset.model is not None:  # the masks need the tokenizer and the context length, not the weights
        tokenizer, max_len = _tokenizer_and_context(preset.model)
    else:
        model, tokenizer = experiment.build_model(preset, dialogues, facts + held, args.seed)
        max_len = getattr(model.config, "max_position_embeddings", None)
    examples, total = experiment.make_examples(dialogues, tokenizer, max_len)
    if args.json:
        out = {"total": asdict(total)}
        if args.per_dialogue:
            out["per_dialogue"] = [asdict(e.accounting) for e in examples]
        print(json.dumps(out, indent=2))
        return 0
    print(f"dialogue {args.index} of {len(dialogues)} (seed {args.seed}):\n")
    print(report.role_table(examples[args.index], tokenizer))
    if args.per_dialogue:
        print("\n| dialogue | tokens | std | interv | agent content | truncated |\n|---|---|---|---|---|---|")
        for i, e in enumerate(examples):
            a = e.accounting
            print(f"| {i} | {a.tokens} | {a.supervised_obs} | {a.supervised_do} | {a.agent_content_tokens} | {a.truncated_tokens} |")
    print(
        f"\nwhole data set: {total.tokens} tokens; supervised {total.supervised_obs} (standard SFT), "
        f"{total.supervised_do} (interventional SFT); {total.agent_content_tokens} agent-content tokens; "
        f"{total.truncated_tokens} truncated"
    )
    return 0


def _tokenizer_and_context(model: str) -> tuple[Any, int | None]:
    """``--model``'s tokenizer (checked as reproduce checks it) and its context length, read from
    config.json without loading the weights."""
    from transformers import AutoConfig

    from ..missing_model import LOAD_ERRORS, missing_model_message
    from ..models import check_tokenizer_fits, load_tokenizer

    tokenizer = load_tokenizer(model)
    try:
        config = AutoConfig.from_pretrained(model, local_files_only=True)
    except LOAD_ERRORS as exc:
        raise BayesAgentError(missing_model_message(model, exc)) from None
    if isinstance(getattr(config, "vocab_size", None), int):
        check_tokenizer_fits(tokenizer, config.vocab_size, model)
    return tokenizer, getattr(config, "max_position_embeddings", None)
