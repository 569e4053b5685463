"""Masking throughput of the chat pipeline: conversations/s and tokens/s at 1 and 2 processes.

Writes N seeded synthetic conversations (system prompts or none, tool definitions, tool calls,
legacy function calls, several turns) to a JSONL file, then masks the file the way
``bayes-agent chat-tokenize --num-proc P`` does, for each P, and checks that every process count
gives the same labels. The timings include starting the worker processes. Prints a table, or
JSON with ``--json``.

    python benchmarks/bench_chat.py --n 10000 --procs 1 2 --template chatml
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ("invoice refund charge April order account card shipped late twice please check again "
         "the a my your was is it we you thanks now paid confirm code").split()


def _sentence(rng: random.Random, lo: int = 4, hi: int = 18) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))).capitalize() + "."


def conversation(rng: random.Random) -> dict:
    """One synthetic conversation in OpenAI form (seeded by ``rng``)."""
    messages: list[dict] = []
    if rng.random() < 0.5:
        messages.append({"role": "system", "content": _sentence(rng, 6, 12)})
    tools = None
    if rng.random() < 0.4:
        tools = [{"type": "function", "function": {"name": "lookup", "parameters": {
            "type": "object", "properties": {"id": {"type": "string"}}}}}]
    for turn in range(rng.randint(1, 4)):
        messages.append({"role": "user", "content": _sentence(rng)})
        kind = rng.random()
        if kind < 0.25:
            messages.append({"role": "assistant", "content": None, "tool_calls": [
                {"type": "function", "function": {"name": "lookup", "arguments": {"id": f"INV-{turn}"}}}]})
            messages.append({"role": "tool", "content": _sentence(rng, 3, 8)})
        elif kind < 0.35:
            messages.append({"role": "assistant", "content": None, "function_call": {
                "name": "lookup", "arguments": json.dumps({"id": f"INV-{turn}"})}})
            messages.append({"role": "function", "name": "lookup", "content": _sentence(rng, 3, 8)})
        messages.append({"role": "assistant", "content": _sentence(rng)})
    return {"messages": messages, **({"tools": tools} if tools else {})}


def run(path: str, template: str, procs: int) -> tuple[float, list[str], int]:
    """Seconds, the label rows, and the token count of masking ``path`` with ``procs`` processes."""
    from neural.commands import Problems, load_tokenizer, masked_conversations

    args = argparse.Namespace(input=path, tokenizer=None, template=template, role=[], max_length=None,
                              eot="agent", strict=True)
    tok, tmpl, _ = load_tokenizer(args)
    start = time.perf_counter()
    rows, tokens = [], 0
    for _, ex in masked_conversations(args, tok, tmpl, Problems(strict=True), procs):
        rows.append(json.dumps([ex.input_ids, ex.labels("interventional")]))
        tokens += len(ex.input_ids)
    return time.perf_counter() - start, rows, tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="number of conversations (default 10000)")
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2], help="process counts (default 1 2)")
    ap.add_argument("--template", default="chatml", choices=("plain", "chatml", "llama3"),
                    help="built-in chat template (default chatml)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the synthetic conversations")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "chat.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for _ in range(args.n):
                f.write(json.dumps(conversation(rng)) + "\n")
        results, reference = [], None
        for p in args.procs:
            seconds, rows, tokens = run(path, args.template, p)
            if reference is None:
                reference = rows
            results.append({"procs": p, "seconds": round(seconds, 2),
                            "conversations_per_s": round(len(rows) / seconds, 1),
                            "tokens_per_s": round(tokens / seconds),
                            "conversations": len(rows), "tokens": tokens,
                            "identical_to_first": rows == reference})
    import tokenizers
    import torch
    import transformers

    env = {"python": platform.python_version(), "transformers": transformers.__version__,
           "tokenizers": tokenizers.__version__, "torch": torch.__version__,
           "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()}
    report = {"n": args.n, "template": args.template, "seed": args.seed, "results": results, "env": env}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.n} conversations, {args.template} template, seed {args.seed}")
    print(f"{'procs':>5} {'seconds':>8} {'conv/s':>8} {'tokens/s':>9} {'same labels':>11}")
    for r in results:
        print(f"{r['procs']:>5} {r['seconds']:>8} {r['conversations_per_s']:>8} {r['tokens_per_s']:>9} "
              f"{str(r['identical_to_first']):>11}")
    base = results[0]["seconds"]
    for r in results[1:]:
        print(f"speed-up of {r['procs']} processes over {results[0]['procs']}: {base / r['seconds']:.2f}x")
    print(json.dumps(env))


if __name__ == "__main__":
    main()
