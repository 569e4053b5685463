"""``bayes-agent chat-tokenize FILE.jsonl --mode interventional --out data.jsonl``.

Writes one JSON line per usable conversation: ``input_ids`` and ``labels`` (``-100`` where the
mode gives no loss), the source ``line`` and ``label_mode`` (the mode's name, which
:class:`neural.chat.collator.ChatCollator` checks against its own); ready for that collator.
``--save-tokenizer DIR`` stores the tokenizer the ids belong to. Exit status: 0 when every line
was used, 1 when bad lines were reported and skipped, 2 on an error (or under ``--strict``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from bayes_agent.commands import plain_text, add_overwrite_argument, check_output_file, prepare_out_dir
from bayes_agent.errors import InvalidArgument

from ..masking import IGNORE_INDEX, LabelMode, trains_nothing
from ._chat_io import Problems, add_common_arguments, load_tokenizer, masked_conversations


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "chat-tokenize",
        help="write a tokenized dataset (input_ids + labels) of a JSONL chat file for one label mode",
        description=plain_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(p)
    p.add_argument(
        "--mode",
        default="interventional",
        choices=tuple(m.value for m in LabelMode),
        help="which tokens get a loss (default: interventional, the paper's Eq. 4)",
    )
    p.add_argument("--out", required=True, metavar="PATH", help="output JSONL file ('-' for stdout)")
    p.add_argument("--save-tokenizer", metavar="DIR", help="also save the tokenizer used, with its template")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..sft.markdown import counted  # here, not at import: neural.sft loads torch

    # every output is checked before any work: a wrong path costs a second, not the run
    if args.out != "-":
        if os.path.exists(args.out) and os.path.exists(args.input) and os.path.samefile(args.out, args.input):
            raise InvalidArgument(f"--out {args.out!r} is the input file: writing there would replace the "
                                  f"conversations with their own token ids; choose another --out")
        check_output_file(args.out, overwrite=args.overwrite)
    if args.save_tokenizer:
        prepare_out_dir(args.save_tokenizer, overwrite=args.overwrite, option="--save-tokenizer",
                        create=False)
    tokenizer, template, described = load_tokenizer(args)
    problems = Problems(strict=args.strict)
    rows: list[str] = []
    tokens = supervised = truncated = cut_conversations = unlabelled = dropped = 0
    for line, ex in masked_conversations(args, tokenizer, template, problems, args.num_proc):
        labels = ex.labels(args.mode)
        rows.append(json.dumps({"line": line, "input_ids": ex.input_ids, "labels": labels,
                                "label_mode": args.mode}))
        tokens += len(labels)
        supervised += sum(1 for x in labels if x != IGNORE_INDEX)
        truncated += ex.masked.truncated_tokens
        cut_conversations += ex.masked.truncated_tokens > 0
        unlabelled += trains_nothing(labels)
        dropped += len(ex.chat.dropped_content)
    if not rows:
        raise InvalidArgument(f"no usable conversation in {args.input!r}; nothing written")
    text = "\n".join(rows) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        try:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise InvalidArgument(f"cannot write {args.out!r}: {exc.strerror or exc}") from None
    if args.save_tokenizer:
        if template is not None:
            tokenizer.chat_template = template
        try:
            tokenizer.save_pretrained(args.save_tokenizer)
        except OSError as exc:
            raise InvalidArgument(
                f"--save-tokenizer: cannot write {args.save_tokenizer!r}: {exc.strerror or exc}"
            ) from None
    if args.out != "-":
        args.saved = args.out + (f" and the tokenizer in {args.save_tokenizer}" if args.save_tokenizer else "")
    report = sys.stderr if args.out == "-" else sys.stdout
    print(
        f"wrote {counted(len(rows), 'conversation')} ({args.mode} labels, tokenizer: {described}) to "
        f"{args.out}: {counted(tokens, 'token')}, {supervised} supervised; truncated "
        f"{counted(truncated, 'token')} in {counted(cut_conversations, 'conversation')}; skipped "
        f"{counted(len(problems.items), 'line')}; dropped_content {dropped} (assistant texts the template "
        f"leaves out beside their tool calls, which are kept)"
        + (f"; {unlabelled} of them with no supervised label (a ChatCollator batch made only of such "
           f"is refused: filter them out before training)" if unlabelled else ""),
        file=report,
    )
    return 1 if problems.items else 0
