"""Interventional labels for a tool-use conversation, through a real chat template.

Run:  python examples/chat_masking.py [chatml|llama3|plain]

The paper's invoice dialogue (§3.1) as OpenAI-style messages: the assistant's words and its tool
calls are the agent's actions (no loss in the interventional arm), the tool outputs and the user
are the world (loss in both arms), the system prompt is context (no loss anywhere). Prints the
per-token role table, the per-message accounting, and the padded batch a Trainer would receive.
"""

import sys

from bayes_agent.errors import InvalidArgument
from neural.chat.messages import build_chat_tokenizer, mask_chat
from neural.chat.collator import ChatCollator

if len(sys.argv) > 2:
    print(f"error: expected at most one chat template, got {len(sys.argv) - 1} arguments: {sys.argv[1:]}",
          file=sys.stderr)
    sys.exit(2)
template = sys.argv[1] if len(sys.argv) > 1 else "chatml"
try:
    tokenizer = build_chat_tokenizer(template)  # small byte-level BPE, built here, no download
except InvalidArgument as exc:  # an unknown template: one line, not a traceback
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)

messages = [
    {"role": "system", "content": "You are a billing support agent."},
    {"role": "user", "content": "My invoice has two charges for April. Please fix it."},
    {"role": "assistant", "content": "I will inspect the invoice and payment records.",
     "tool_calls": [{"type": "function", "function": {"name": "lookup_invoice",
                                                      "arguments": {"invoice_id": "INV-042"}}}]},
    {"role": "tool", "content": "two April charges found; one is duplicate."},
    {"role": "assistant", "content": None,
     "tool_calls": [{"type": "function", "function": {"name": "refund_duplicate_charge",
                                                      "arguments": {"invoice_id": "INV-042"}}}]},
    {"role": "tool", "content": "refund queued; confirmation code R-91."},
    {"role": "user", "content": "Thanks -- please send me the confirmation."},
]

example = mask_chat(messages, tokenizer)

# 1. One row per token: what it is, and whether each arm puts a loss on it.
print(f"{'tok':>4} {'text':<24} {'role':<18} {'obs':>5} {'do':>5} {'asst':>5}")
for t, (start, end) in enumerate(example.masked.offsets):
    marks = ["loss" if example.labels(m)[t] != -100 else "--"
             for m in ("observational", "interventional", "assistant_only")]
    text = repr(example.chat.rendering.text[start:end])[:24]
    print(f"{t:>4} {text:<24} {example.masked.roles[t]:<18} {marks[0]:>5} {marks[1]:>5} {marks[2]:>5}")

# 2. Per message: the interventional arm drops exactly the agent's words and tool calls.
print(f"\n{'msg':>4} {'role':<10} {'provenance':<10} {'tokens':>6} {'obs':>5} {'do':>5} {'asst':>5}")
for row in example.message_table():
    idx = "-" if row["message"] is None else row["message"]
    print(f"{idx:>4} {row['role']:<10} {row['provenance']:<10} {row['tokens']:>6} "
          f"{row['observational']:>5} {row['interventional']:>5} {row['assistant_only']:>5}")
acc = example.masked.accounting
print(f"\nsupervised: observational {acc.supervised_obs}, interventional {acc.supervised_do}; "
      f"agent-content tokens {acc.agent_content_tokens}")

# 3. The batch a transformers.Trainer / TRL SFTTrainer receives from the collator.
collator = ChatCollator(tokenizer, mode="interventional")
batch = collator([{"messages": messages}, {"messages": messages[:4]}])
print({k: tuple(v.shape) for k, v in batch.items()},
      "non -100 labels:", int((batch["labels"] != -100).sum()), "=", collator.supervised_tokens)
