"""Shared plumbing of the chat commands: arguments, the tokenizer, and JSONL conversations.

Bad lines are reported with their line numbers and skipped, or stop the run under ``--strict``;
none is dropped silently. Nothing here imports torch at module import time.
"""

from __future__ import annotations

import argparse
import json
import shlex
import warnings
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from bayes_agent.errors import InvalidArgument

__all__ = ["Problems", "add_common_arguments", "load_tokenizer", "masked_conversations", "role_overrides"]


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="JSONL file: one conversation per line, {\"messages\": [...], \"tools\": [...]}")
    p.add_argument(
        "--tokenizer",
        metavar="PATH_OR_HUB_ID",
        help="a local tokenizer directory or an already-cached hub id (nothing is downloaded); "
        "default: a small byte-level tokenizer built here with the --template format",
    )
    p.add_argument(
        "--template",
        metavar="NAME_OR_FILE",
        help="chat template: 'plain' (User:/Agent:), 'chatml' (Qwen), 'llama3', or a jinja file; "
        "overrides the tokenizer's own template (default: the tokenizer's, else 'plain')",
    )
    p.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE=PROVENANCE",
        help="map a role to agent, world or context (repeatable), e.g. --role teacher=world",
    )
    p.add_argument("--eot", choices=("agent", "protocol"), default="agent",
                   help="who owns the end-of-turn marker closing an assistant message (<|im_end|>, "
                   "<|eot_id|>): agent (default: masked in the interventional arm, like the turn) "
                   "or protocol (supervised in both arms)")
    p.add_argument("--max-length", type=int, metavar="N", help="cut each conversation at N tokens (reported)")
    p.add_argument("--strict", action="store_true", help="stop at the first bad line instead of skipping it")
    p.add_argument("--num-proc", type=int, default=1, metavar="N",
                   help="mask in N worker processes (default 1); the output is identical to one process")


def role_overrides(pairs: list[str]) -> dict[str, str]:
    """``["teacher=world"]`` -> ``{"teacher": "world"}`` (values checked by neural.chat.messages)."""
    from ..chat.messages import Provenance

    out: dict[str, str] = {}
    for pair in pairs:
        role, sep, value = pair.partition("=")
        if not sep or not role.strip():
            raise InvalidArgument(f"--role expects ROLE=PROVENANCE (e.g. teacher=world), got {pair!r}")
        out[role.strip()] = Provenance.of(value.strip()).value
    return out


def load_tokenizer(args: argparse.Namespace) -> tuple[Any, str | None, str]:
    """(tokenizer, chat-template override or None, a description for the report)."""
    from ..chat.messages import CHAT_TEMPLATES, build_chat_tokenizer
    from ..chat.templates import check_template_syntax

    template_text = None
    if args.template:
        if args.template in CHAT_TEMPLATES:
            template_text = CHAT_TEMPLATES[args.template]
        elif Path(args.template).is_file():
            try:
                template_text = Path(args.template).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidArgument(f"--template {args.template!r}: cannot read it as UTF-8 text ({exc})") from None
        else:
            raise InvalidArgument(
                f"--template {args.template!r} is neither one of {sorted(CHAT_TEMPLATES)} nor a file"
            )
    if not args.tokenizer:
        name = args.template if args.template in CHAT_TEMPLATES else "plain"
        tok = build_chat_tokenizer(name)
        if template_text is not None:
            tok.chat_template = template_text
        check_template_syntax(tok, name=f"--template {args.template!r}")
        return tok, None, f"built-in byte-level tokenizer, {args.template or 'plain'} template"
    from transformers import AutoTokenizer

    from ..missing_model import LOAD_ERRORS, check_tokenizer_encodes, is_hub_id

    try:
        tok = AutoTokenizer.from_pretrained(args.tokenizer, local_files_only=True)
    except LOAD_ERRORS as exc:
        if not Path(args.tokenizer).expanduser().exists() and not is_hub_id(args.tokenizer):
            raise InvalidArgument(
                f"no local tokenizer at {args.tokenizer!r}: no such directory (--tokenizer); give a directory with "
                f"tokenizer.json / tokenizer_config.json, or omit --tokenizer for the built-in one"
            ) from None
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidArgument(
            f"no local tokenizer at {args.tokenizer!r} (nothing is downloaded): give a directory with "
            f"tokenizer.json / tokenizer_config.json, or omit --tokenizer for the built-in one ({first})"
        ) from None
    check_tokenizer_encodes(tok, args.tokenizer)  # a folder without tokenizer files loads as an empty one
    if not getattr(tok, "is_fast", False):
        raise InvalidArgument(f"the tokenizer at {args.tokenizer!r} is not a fast tokenizer; masks need offsets")
    if template_text is None and not getattr(tok, "chat_template", None):
        raise InvalidArgument(
            f"the tokenizer at {args.tokenizer!r} has no chat template; pass --template "
            f"({', '.join(sorted(CHAT_TEMPLATES))} or a jinja file)"
        )
    check_template_syntax(tok, template_text, name=f"--template {args.template!r}" if template_text is not None
                          else f"the chat template of {args.tokenizer!r}")
    return tok, template_text, f"{args.tokenizer}" + (f", {args.template} template" if args.template else "")


@dataclass
class Problems:
    """Bad lines seen so far: (line number, message). Under ``strict`` the first one raises."""

    strict: bool
    items: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        if self.strict:
            raise InvalidArgument(f"line {line}: {message} (stopped by --strict)")
        self.items.append((line, message))
        print(f"line {line}: skipped: {message}", file=sys.stderr)


def _parse_line(data: bytes, first: bool) -> dict | str | None:
    """One JSONL line as a conversation record, an error message, or None (a blank line).

    Lines are decoded one by one, so a file with a stray Latin-1 byte loses that line (reported
    with the byte and where it is), not the run.
    """
    try:
        raw = data.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        return (f"not UTF-8 text (byte 0x{data[exc.start]:02x} at byte {exc.start + 1} of the line); "
                f"re-encode the file as UTF-8")
    raw = raw.rstrip("\r\n")
    if not raw.strip():
        return None  # blank lines separate nothing and hold no conversation
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        where = "column" if exc.msg.endswith(" at") else "at column"  # "...string starting at"
        return f"not valid JSON ({exc.msg} {where} {exc.pos + 1})"
    if not isinstance(record, dict) or "messages" not in record:
        return "expected an object with a 'messages' list"
    tools = record.get("tools")
    if tools is not None and not isinstance(tools, list):
        return f"'tools' must be a list, got {type(tools).__name__}"
    return record


def _lines(path: str) -> Iterator[tuple[int, bytes]]:
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InvalidArgument(f"cannot read {path!r}: {exc.strerror or exc}") from None
    with handle:
        yield from enumerate(handle, start=1)


@dataclass(frozen=True)
class _Masking:
    """What masking one line needs; sent once to each worker process."""

    tokenizer: Any
    template: str | None
    roles: dict[str, str]
    max_length: int | None
    eot: str

    def line(self, n: int, data: bytes) -> tuple[int, Any]:
        """``(n, ChatExample)``, ``(n, error message)`` or ``(n, None)`` for a blank line."""
        from ..chat.example import mask_chat
        from ..chat.provenance import UnknownRole

        record = _parse_line(data, n == 1)
        if not isinstance(record, dict):
            return n, record
        try:
            with warnings.catch_warnings():  # what a warning says is in chat.notes, printed per line
                warnings.simplefilter("ignore", UserWarning)
                return n, mask_chat(record["messages"], self.tokenizer, roles=self.roles,
                                    tools=record.get("tools"), chat_template=self.template,
                                    max_length=self.max_length, eot=self.eot)
        except UnknownRole as exc:  # the library's fix is Python (roles={...}); here it is --role
            return n, (f"{exc.where}: unknown role {exc.role!r}; map it with --role "
                       f"{shlex.quote(exc.role + '=world')} (or =agent, =context) (known roles: {', '.join(exc.known)})")
        except InvalidArgument as exc:
            return n, str(exc)


_WORKER: _Masking | None = None


def _init_worker(masking: _Masking) -> None:
    global _WORKER
    _WORKER = masking


def _mask_in_worker(item: tuple[int, bytes]) -> tuple[int, Any]:
    assert _WORKER is not None
    return _WORKER.line(*item)


def masked_conversations(
    args: argparse.Namespace, tokenizer: Any, template: str | None, problems: Problems,
    num_proc: int = 1,
) -> Iterator[tuple[int, Any]]:
    """``(line number, ChatExample)`` for every good line of ``args.input``; bad lines go to problems.

    With ``num_proc > 1`` the lines are masked in that many worker processes and handed back in
    file order, so the output, the notes and the skipped-line reports are those of one process.
    """
    if args.max_length is not None and args.max_length < 1:
        raise InvalidArgument(f"--max-length must be positive, got {args.max_length}")
    if num_proc < 1:
        raise InvalidArgument(f"--num-proc must be a positive integer, got {num_proc}")
    masking = _Masking(tokenizer, template, role_overrides(args.role), args.max_length, args.eot)
    if num_proc == 1:
        results: Iterator[tuple[int, Any]] = (masking.line(n, data) for n, data in _lines(args.input))
        yield from _replay(results, problems)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the tokenizer's Rust thread pool must not be forked mid-use
    with ProcessPoolExecutor(num_proc, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(masking,)) as pool:
        yield from _replay(pool.map(_mask_in_worker, _lines(args.input), chunksize=64), problems)


def _replay(results: Iterable[tuple[int, Any]], problems: Problems) -> Iterator[tuple[int, Any]]:
    for n, result in results:
        if result is None:
            continue
        if isinstance(result, str):
            problems.add(n, result)
            continue
        for note in result.chat.notes:  # used, but worth knowing (an empty turn, ignored tools)
            print(f"line {n}: note: {note}", file=sys.stderr)
        yield n, result
