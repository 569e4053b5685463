"""``bayes-agent chat-masks FILE.jsonl``: who wrote each message, and what each label mode supervises.

Prints, per conversation, a role/mask table (tokens of each message and how many are supervised
observationally, interventionally and assistant-only) and the aggregate accounting. Exit status:
0 when every line was used, 1 when bad lines were reported and skipped, 2 on an error (or the
first bad line under ``--strict``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bayes_agent.commands import plain_text
from bayes_agent.errors import InvalidArgument

from ..masking import IGNORE_INDEX, LabelMode
from ._chat_io import Problems, add_common_arguments, load_tokenizer, masked_conversations

_MODES = tuple(m.value for m in LabelMode)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "chat-masks",
        help="role/mask table and accounting for a JSONL file of chat conversations",
        description=plain_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(p)
    p.add_argument("--tokens", action="store_true", help="also print one row per token")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.set_defaults(func=run)


def _token_rows(ex: Any) -> list[dict[str, Any]]:
    owners = ex.token_messages()
    rows = []
    for t in range(len(ex.input_ids)):
        s, e = ex.masked.offsets[t]
        rows.append({
            "token": t,
            "text": ex.chat.rendering.text[s:e],
            "role": ex.masked.roles[t],
            "message": owners[t],
            **{m: ex.labels(m)[t] != IGNORE_INDEX for m in _MODES},
        })
    return rows


def run(args: argparse.Namespace) -> int:
    tokenizer, template, described = load_tokenizer(args)
    problems = Problems(strict=args.strict)
    conversations: list[dict[str, Any]] = []
    totals = {"conversations": 0, "tokens": 0, **{m: 0 for m in _MODES},
              "agent_content_tokens": 0, "truncated_tokens": 0, "truncated_conversations": 0, "dropped_content": 0}
    for line, ex in masked_conversations(args, tokenizer, template, problems, args.num_proc):
        acc = ex.masked.accounting
        counts = {m: sum(1 for x in ex.labels(m) if x != IGNORE_INDEX) for m in _MODES}
        entry = {
            "line": line, "tokens": acc.tokens, **counts,
            "agent_content_tokens": acc.agent_content_tokens,
            "truncated_tokens": acc.truncated_tokens,
            "dropped_content": list(ex.chat.dropped_content),
            "notes": list(ex.chat.notes),
            "messages": ex.message_table(),
        }
        if args.tokens:
            entry["token_rows"] = _token_rows(ex)
        conversations.append(entry)
        totals["conversations"] += 1
        totals["tokens"] += acc.tokens
        for m in _MODES:
            totals[m] += counts[m]
        totals["agent_content_tokens"] += acc.agent_content_tokens
        totals["truncated_tokens"] += acc.truncated_tokens
        totals["truncated_conversations"] += acc.truncated_tokens > 0
        totals["dropped_content"] += len(ex.chat.dropped_content)
    if not conversations:
        raise InvalidArgument(
            f"no usable conversation in {args.input!r}"
            + (f" ({len(problems.items)} bad line{'' if len(problems.items) == 1 else 's'} reported above)"
               if problems.items else "")
        )
    totals["skipped_lines"] = len(problems.items)
    if args.json:
        print(json.dumps({
            "tokenizer": described, "conversations": conversations, "totals": totals,
            "skipped": [{"line": n, "error": msg} for n, msg in problems.items],
        }, indent=2))
        return 1 if problems.items else 0
    print(f"tokenizer: {described}")
    for c in conversations:
        cut = f", truncated {c['truncated_tokens']} tokens" if c["truncated_tokens"] else ""
        print(f"\nline {c['line']}: {c['tokens']} tokens{cut}")
        for note in c["notes"]:
            print(f"  note: {note}")
        print(f"  {'msg':>4} {'role':<12} {'provenance':<10} {'tokens':>6} {'obs':>5} {'do':>5} {'asst':>5}")
        for r in c["messages"]:
            idx = "-" if r["message"] is None else str(r["message"])
            print(f"  {idx:>4} {r['role']:<12} {r['provenance']:<10} {r['tokens']:>6} "
                  f"{r['observational']:>5} {r['interventional']:>5} {r['assistant_only']:>5}")
        for r in c.get("token_rows", []):
            marks = " ".join("loss" if r[m] else "--" for m in _MODES)
            print(f"    {r['token']:>5} {r['text']!r:<20} {r['role']:<16} {marks}")
    print(
        f"\ntotal: {totals['conversations']} conversations, {totals['tokens']} tokens; supervised "
        f"observational {totals['observational']}, interventional {totals['interventional']}, "
        f"assistant-only {totals['assistant_only']}; agent content {totals['agent_content_tokens']}; "
        f"truncated {totals['truncated_tokens']} tokens in {totals['truncated_conversations']} conversations; "
        f"skipped {totals['skipped_lines']} lines; dropped_content {totals['dropped_content']}"
    )
    return 1 if problems.items else 0
