"""Real published chat templates (Qwen2.5-Instruct, Llama 3.1 Instruct) as test data (issue 16).

Text such a template injects that is not turn scaffolding (Qwen's default system prompt, Llama's
knowledge-date header, tool preambles) is context: no token of it is supervised in any mode.
The templates are in ``tests/chat/data`` with a note on where they come from.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from bayes_agent.errors import InvalidArgument  # noqa: E402
from bayes_agent.transcript import Gate  # noqa: E402
from neural.chat.messages import build_chat_tokenizer, mask_chat, transcript_from_messages  # noqa: E402
from neural.masking import IGNORE_INDEX, LabelMode  # noqa: E402

DATA = Path(__file__).parent / "data"
QWEN_DEFAULT = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
LLAMA_DATE = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def _call(name: str, **arguments: object) -> dict:
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


WEATHER = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [_call("get_weather", city="Paris")]},
    {"role": "tool", "content": "18 C, cloudy"},
    {"role": "assistant", "content": "It is 18 C and cloudy."},
]
CHAT = [
    {"role": "user", "content": "Name a prime."},
    {"role": "assistant", "content": "Seven."},
    {"role": "user", "content": "Another one?"},
    {"role": "assistant", "content": "Eleven."},
]
CONVERSATIONS = {"weather": WEATHER, "chat": CHAT}


@pytest.fixture(scope="module")
def qwen():
    tok = build_chat_tokenizer("chatml")
    tok.chat_template = (DATA / "qwen2_5_instruct.jinja").read_text(encoding="utf-8")
    return tok


@pytest.fixture(scope="module")
def llama():
    tok = build_chat_tokenizer("llama3")
    tok.chat_template = (DATA / "llama3_1_instruct.jinja").read_text(encoding="utf-8")
    return tok


def _tokens_within(ex, start: int, end: int) -> list[int]:
    """Indices of tokens that lie inside characters [start, end) of the rendering."""
    return [t for t, (s, e) in enumerate(ex.masked.offsets) if start <= s and e <= end and e > s]


def _assert_never_supervised(ex, piece: str) -> None:
    text = ex.chat.rendering.text
    at = text.find(piece)
    assert at >= 0, (piece, text)
    inside = _tokens_within(ex, at, at + len(piece))
    assert inside, "the injected text must cover whole tokens"
    for mode in LabelMode:
        assert all(ex.labels(mode)[t] == IGNORE_INDEX for t in inside), (mode, piece)


def _variants(messages: list[dict]) -> list[list[dict]]:
    """The conversation without and with a system message."""
    return [copy.deepcopy(messages), [{"role": "system", "content": "Be brief."}, *copy.deepcopy(messages)]]


def _assert_message_gates(ex, messages: list[dict]) -> None:
    """Tokens inside each message's text carry its gate: world text supervised in the do arm."""
    rows = {r["message"]: r for r in ex.message_table()}
    for i, m in enumerate(messages):
        row = rows[i]
        if m["role"] == "system":
            assert row["observational"] == row["interventional"] == 0
        elif m["role"] == "assistant":
            assert row["tokens"] > 0 and row["interventional"] == 0 and row["observational"] == row["tokens"]
        else:
            assert row["tokens"] > 0 and row["interventional"] == row["tokens"]


@pytest.mark.parametrize("tools", [None, TOOLS], ids=["no-tools", "tools"])
@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_qwen_default_system_prompt_is_context(qwen, name, tools) -> None:
    plain, with_system = _variants(CONVERSATIONS[name])
    ex = mask_chat(plain, qwen, tools=tools)
    assert QWEN_DEFAULT in ex.chat.rendering.text  # the template injected it
    _assert_never_supervised(ex, "<|im_start|>system\n" + QWEN_DEFAULT)
    if tools:
        _assert_never_supervised(ex, "# Tools\n\nYou may call one or more functions")
    _assert_message_gates(ex, plain)
    ex2 = mask_chat(with_system, qwen, tools=tools)
    assert QWEN_DEFAULT not in ex2.chat.rendering.text
    _assert_message_gates(ex2, with_system)


@pytest.mark.parametrize("tools", [None, TOOLS], ids=["no-tools", "tools"])
@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_llama31_date_header_and_tool_preamble_are_context(llama, name, tools) -> None:
    for messages in _variants(CONVERSATIONS[name]):
        ex = mask_chat(messages, llama, tools=tools)
        _assert_never_supervised(ex, LLAMA_DATE)
        if tools:
            _assert_never_supervised(ex, "Environment: ipython\n")
            _assert_never_supervised(ex, "Given the following functions, please respond with a JSON")
        _assert_message_gates(ex, messages)


def test_qwen_tool_responses_are_world_and_wrappers_protocol(qwen) -> None:
    two = [*WEATHER[:2], {"role": "tool", "content": "18 C"}, {"role": "tool", "content": "cloudy"}, WEATHER[3]]
    two[1] = {"role": "assistant", "content": None,
              "tool_calls": [_call("get_weather", city="Paris"), _call("get_sky", city="Paris")]}
    ex = mask_chat(two, qwen)
    text = ex.chat.rendering.text
    assert text.count("<|im_start|>user\n<tool_response>") == 1  # grouped under one user turn
    at = text.index("<tool_response>")
    wrapper = _tokens_within(ex, at, at + len("<tool_response>"))
    assert wrapper and all(ex.labels("interventional")[t] != IGNORE_INDEX for t in wrapper)
    assert all(ex.labels("assistant_only")[t] == IGNORE_INDEX for t in wrapper)
    assert transcript_from_messages(two).gates == (Gate.WORLD, Gate.AGENT, Gate.AGENT, Gate.WORLD,
                                                   Gate.WORLD, Gate.AGENT)
    for call in ('{"name": "get_weather"', '{"name": "get_sky"'):
        at = text.index(call)
        inside = _tokens_within(ex, at, at + len(call))
        assert all(ex.labels("interventional")[t] == IGNORE_INDEX for t in inside)
        assert all(ex.labels("observational")[t] != IGNORE_INDEX for t in inside)


@pytest.mark.parametrize("fixture,marker", [("qwen", "<|im_end|>"), ("llama", "<|eot_id|>")])
@pytest.mark.parametrize("eot", ["agent", "protocol"])
def test_end_of_turn_policy_in_published_templates(request, fixture, marker, eot) -> None:
    tok = request.getfixturevalue(fixture)
    ex = mask_chat(WEATHER, tok, eot=eot)
    text = ex.chat.rendering.text
    closing = _closing_markers(ex, WEATHER, marker)
    assert len(closing) == 2  # one per assistant message (the call, the answer)
    for t in closing:
        assert text[slice(*ex.masked.offsets[t])] == marker
        assert ex.labels("observational")[t] != IGNORE_INDEX
        if eot == "agent":
            assert ex.labels("interventional")[t] == IGNORE_INDEX
            assert ex.labels("assistant_only")[t] != IGNORE_INDEX
        else:
            assert ex.labels("interventional")[t] != IGNORE_INDEX
            assert ex.labels("assistant_only")[t] == IGNORE_INDEX


def _closing_markers(ex, messages: list[dict], marker: str) -> list[int]:
    """Tokens equal to ``marker`` that directly follow an assistant message's text."""
    text, owners = ex.chat.rendering.text, ex.token_messages()
    out = []
    for t, (s, e) in enumerate(ex.masked.offsets):
        if text[s:e] != marker or t == 0:
            continue
        before = [o for o in owners[:t] if o is not None]
        prev_tok = t - 1
        while prev_tok >= 0 and not text[slice(*ex.masked.offsets[prev_tok])].strip():
            prev_tok -= 1
        prev_owner = owners[prev_tok]
        if before and prev_owner is not None and messages[prev_owner]["role"] == "assistant":
            out.append(t)
    return out


def test_llama31_drops_text_beside_a_tool_call_and_says_so(llama) -> None:
    """Llama 3.1's template renders only the call of an assistant message with tool_calls: the
    conversation is kept, the call masked, the dropped text reported (issue 23)."""
    msgs = copy.deepcopy(WEATHER)
    msgs[1]["content"] = "Let me look that up."
    with pytest.warns(UserWarning, match=r"message 1 \(assistant\): the template drops its text"):
        ex = mask_chat(msgs, llama)
    assert ex.chat.dropped_content == (1,)


def test_qwen_ignores_a_legacy_function_call_and_that_is_an_error(qwen) -> None:
    legacy = [{"role": "user", "content": "Weather?"},
              {"role": "assistant", "content": None, "function_call": {"name": "get_weather", "arguments": "{}"}}]
    with pytest.raises(InvalidArgument, match=r"the function_call of message 1 \(assistant\).*does not render it"):
        mask_chat(legacy, qwen)
    answered = [*legacy, {"role": "function", "name": "get_weather", "content": "sunny"}]
    with pytest.raises(InvalidArgument, match=r"message 2 \(function\).*does not render its content"):
        mask_chat(answered, qwen)  # nor the "function" role: named, not dropped
