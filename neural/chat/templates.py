"""Chat templates written for this project, end-of-turn markers, and a locally built tokenizer.

The ``plain`` template is the paper's format (§3.1). It writes a speaker before each tool call
through the template variable ``call_speaker`` (default :data:`CALL_SPEAKER`), so alignment can
render that speaker as a sentinel and type it as protocol instead of recognising a literal string.
"""

from __future__ import annotations

from typing import Any, Iterable

from bayes_agent.errors import InvalidArgument

__all__ = [
    "CALL_SPEAKER",
    "CALL_SPEAKER_PREFIXES",
    "CHAT_TEMPLATES",
    "END_OF_TURN_MARKERS",
    "EOT_POLICIES",
    "build_chat_tokenizer",
    "check_eot",
    "check_template_syntax",
    "eot_markers",
]

CALL_SPEAKER = "Agent tool call: "
"""The plain template's speaker before a tool call: protocol, like ``Agent:`` before a message."""

CALL_SPEAKER_PREFIXES = (CALL_SPEAKER,)
"""Deprecated alias kept for callers of the old API: alignment no longer matches these strings;
a template names its call speaker through the ``call_speaker`` variable instead."""

EOT_POLICIES = ("agent", "protocol")
"""Who owns the end-of-turn marker closing an assistant message (see :func:`render_chat`)."""

END_OF_TURN_MARKERS = ("<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<end_of_turn>", "</s>")
"""Marker strings that close a turn in widely used templates; the tokenizer's EOS token is added."""


def eot_markers(tokenizer: Any) -> list[str]:
    """The end-of-turn markers to look for: :data:`END_OF_TURN_MARKERS` and the tokenizer's EOS."""
    eos = getattr(tokenizer, "eos_token", None)
    markers = list(END_OF_TURN_MARKERS) + ([eos] if isinstance(eos, str) and eos.strip() else [])
    return sorted(set(markers), key=len, reverse=True)


def check_eot(eot: str) -> str:
    """``eot`` if it is one of :data:`EOT_POLICIES`, else a one-line error."""
    if eot not in EOT_POLICIES:
        raise InvalidArgument(f"eot must be one of {list(EOT_POLICIES)}, got {eot!r}")
    return eot


def check_template_syntax(tokenizer: Any, chat_template: str | None = None, *, name: str = "the chat template") -> None:
    """A one-line :class:`InvalidArgument` now if the template in effect is not valid jinja.

    A syntax error is the template's, not a conversation's: found up front it is one error, not
    the same skipped line for every conversation. Only syntax is judged here; a template that
    refuses this one-message probe at render time (``raise_exception``) is left to the real data.
    """
    import jinja2

    try:
        tokenizer.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False,
                                      **({"chat_template": chat_template} if chat_template is not None else {}))
    except jinja2.TemplateSyntaxError as exc:
        raise InvalidArgument(f"{name} is not valid jinja (line {exc.lineno}: {exc.message})") from None
    except Exception:  # noqa: BLE001 -- a render-time refusal of the probe says nothing about syntax
        pass


_NL = "{{ '\\n' }}"  # newlines as expressions: HF renders templates with trim_blocks/lstrip_blocks

# tool calls, then a legacy OpenAI function_call (rendered the same way: it is the same act)
_CALLS = "(message.tool_calls or []) + ([message.function_call] if message.function_call else [])"

_TOOL_CALL_JSON = (
    "{% set fn = call.function if call.function is defined else call %}"
    '{"name": "{{ fn.name }}", "arguments": '
    "{% if fn.arguments is string %}{{ fn.arguments }}{% else %}{{ fn.arguments | tojson }}{% endif %}}"
)

CHAT_TEMPLATES: dict[str, str] = {
    # the paper's format: context paragraph, then "User: ..." / "Agent: ..." turns
    "plain": (
        "{% for message in messages %}"
        "{% if message.role == 'system' %}{{ message.content }}" + _NL * 2 + ""
        "{% elif message.role == 'assistant' %}"
        "{% if message.content %}Agent: {{ message.content }}" + _NL * 2 + "{% endif %}"
        "{% for call in " + _CALLS + " %}"
        "{% set fn = call.function if call.function is defined else call %}"
        "{{ call_speaker if call_speaker is defined else '" + CALL_SPEAKER + "' }}{{ fn.name }}("
        "{% if fn.arguments is string %}{{ fn.arguments }}{% else %}{{ fn.arguments | tojson }}{% endif %})"
        + _NL * 2 + "{% endfor %}"
        "{% elif message.role == 'user' %}User: {{ message.content }}" + _NL * 2 + ""
        "{% else %}Tool: {{ message.content }}" + _NL * 2 + ""
        "{% endif %}"
        "{% endfor %}"
    ),
    # ChatML, as used by Qwen: <|im_start|>role\n ... <|im_end|>\n
    "chatml": (
        "{% if tools %}<|im_start|>system" + _NL + "# Tools"
        "{% for tool in tools %}" + _NL + "{{ tool | tojson }}{% endfor %}<|im_end|>" + _NL + "{% endif %}"
        "{% for message in messages %}"
        "<|im_start|>{{ message.role }}" + _NL + "{{ message.content }}"
        "{% for call in " + _CALLS + " %}" + _NL + "<tool_call>" + _NL + _TOOL_CALL_JSON
        + _NL + "</tool_call>{% endfor %}"
        "<|im_end|>" + _NL + ""
        "{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant" + _NL + "{% endif %}"
    ),
    # Llama-3 style: BOS, header ids, trimmed content, <|eot_id|>
    "llama3": (
        "{{ bos_token }}"
        "{% for message in messages %}"
        "<|start_header_id|>{{ message.role }}<|end_header_id|>" + _NL * 2 + "{{ message.content | trim }}"
        "{% for call in " + _CALLS + " %}" + _TOOL_CALL_JSON + "{% endfor %}"
        "<|eot_id|>"
        "{% endfor %}"
        "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>" + _NL * 2 + "{% endif %}"
    ),
}
"""Chat templates written for this project (jinja, rendered by ``apply_chat_template``)."""

_SPECIALS: dict[str, dict[str, Any]] = {
    "plain": {"specials": ["<|endoftext|>"], "eos": "<|endoftext|>", "bos": None},
    "chatml": {"specials": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], "eos": "<|im_end|>", "bos": None},
    "llama3": {
        "specials": ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
        "eos": "<|eot_id|>",
        "bos": "<|begin_of_text|>",
    },
}

_BUILTIN_CORPUS = (
    "User: My invoice has two charges for April. Please fix it.\n\n"
    "Agent: I will inspect the invoice and payment records.\n\n"
    'Agent tool call: lookup_invoice({"invoice_id": "INV-042"})\n\n'
    "Tool: two April charges found; one is duplicate.\n\n"
    'Agent tool call: refund_duplicate_charge({"invoice_id": "INV-042"})\n\n'
    "Tool: refund queued; confirmation code R-91.\n\n"
    "User: Thanks -- please send me the confirmation.\n\n"
    "system user assistant tool The the a an is of to and in that it you I we for on with as"
)


def build_chat_tokenizer(
    template: str = "plain", corpus: Iterable[str] | None = None, vocab_size: int = 400
) -> Any:
    """A small byte-level BPE tokenizer trained locally, with a chat template and its special tokens.

    ``template`` names one of :data:`CHAT_TEMPLATES`. Byte-level, so it encodes any text; offsets are
    not trimmed, so tokens tile the text (what the masking rule needs). Deterministic for the same
    corpus, and trained on a built-in paragraph when ``corpus`` is None: no download anywhere.
    """
    if template not in CHAT_TEMPLATES:
        raise InvalidArgument(f"unknown chat template {template!r}; choose one of {sorted(CHAT_TEMPLATES)}")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    spec = _SPECIALS[template]
    texts = [t for t in (corpus if corpus is not None else [_BUILTIN_CORPUS]) if t]
    if not texts:
        raise InvalidArgument("cannot train a tokenizer on an empty corpus")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(spec["specials"]),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    kwargs: dict[str, Any] = {"eos_token": spec["eos"], "pad_token": spec["specials"][0]}
    if spec["bos"]:
        kwargs["bos_token"] = spec["bos"]
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)
    fast.chat_template = CHAT_TEMPLATES[template]
    return fast

