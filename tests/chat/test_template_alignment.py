"""Alignment through the template itself (issue 23): real tool data through published formats.

Each template is test data in ``tests/chat/data``. The tool output is real JSON (quotes, newlines,
backslashes, non-ASCII); Llama 3.1 renders it through ``tojson``, so its span must be the JSON
string the template wrote, quotes included, and supervised like any world text. A template that
drops an assistant's text beside its call still masks the call and says what it dropped.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from bayes_agent.errors import InvalidArgument  # noqa: E402
from bayes_agent.transcript import Part  # noqa: E402
from neural.chat import build_chat_tokenizer, mask_chat  # noqa: E402
from neural.masking import IGNORE_INDEX, LabelMode  # noqa: E402

DATA = Path(__file__).parent / "data"
DO, OBS = LabelMode.INTERVENTIONAL, LabelMode.OBSERVATIONAL

TOOL_OUTPUT = json.dumps(
    {"city": "Zürich", "summary": 'He said "mild"\nthen left', "path": "C:\\temp", "temp_c": 18.5},
    ensure_ascii=False, indent=2,
)
QUESTION = 'Wetter in Zürich? Answer "briefly".\nDanke!'
ANSWER = 'Es sind 18,5 °C – "mild".'


def _weather(text_beside_call: str | None = None) -> list[dict]:
    call = {"id": "call00001", "type": "function",
            "function": {"name": "get_weather", "arguments": {"city": "Zürich", "unit": "°C"}}}
    return [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": text_beside_call, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call00001", "content": TOOL_OUTPUT},
        {"role": "assistant", "content": ANSWER},
    ]


def _tokenizer(template_file: str):
    tok = build_chat_tokenizer("llama3")
    tok.chat_template = (DATA / template_file).read_text(encoding="utf-8")
    return tok


# template file -> (how it renders the tool output, how it renders the other contents)
TOOL_TEMPLATES = {
    "llama3_1_instruct.jinja": (lambda s: json.dumps(s, ensure_ascii=False), str.strip),
    "mistral_v3_tools.jinja": (lambda s: s, lambda s: s),
    "hermes_tools.jinja": (lambda s: s, lambda s: s),
    "qwen2_5_instruct.jinja": (lambda s: s, lambda s: s),
}


@pytest.fixture(scope="module")
def tokenizers() -> dict:
    return {name: _tokenizer(name) for name in [*TOOL_TEMPLATES, "gemma.jinja", "phi3.jinja"]}


def _message_spans(ex) -> dict[int, list]:
    out: dict[int, list] = {}
    for sp, msg in zip(ex.chat.rendering.spans, ex.chat.span_messages):
        if msg is not None:
            out.setdefault(msg, []).append(sp)
    return out


def _tokens_in(ex, sp) -> list[int]:
    """Tokens with at least one character in the span."""
    return [t for t, (s, e) in enumerate(ex.masked.offsets) if e > s and s < sp.end and e > sp.start]


@pytest.mark.parametrize("template", list(TOOL_TEMPLATES))
def test_json_tool_output_is_aligned_through_what_the_template_does_to_it(tokenizers, template) -> None:
    as_tool, as_text = TOOL_TEMPLATES[template]
    ex = mask_chat(_weather(), tokenizers[template])
    text, spans = ex.chat.rendering.text, _message_spans(ex)
    assert [text[sp.start:sp.end] for sp in spans[2]] == [as_tool(TOOL_OUTPUT)]
    assert text[spans[0][0].start:spans[0][0].end] == as_text(QUESTION)
    assert text[spans[3][0].start:spans[3][0].end] == as_text(ANSWER)
    # world text (the question, the whole tool output with the template's quoting): supervised in both arms
    for msg in (0, 2):
        for t in _tokens_in(ex, spans[msg][0]):
            assert ex.labels(DO)[t] != IGNORE_INDEX and ex.labels(OBS)[t] != IGNORE_INDEX, (template, msg, t)
    # the agent's call and answer: no interventional loss, observational loss
    for msg in (1, 3):
        for sp in spans[msg]:
            assert sp.part is Part.CONTENT
            inside = _tokens_in(ex, sp)
            assert inside and all(ex.labels(DO)[t] == IGNORE_INDEX for t in inside), (template, msg)
            assert any(ex.labels(OBS)[t] != IGNORE_INDEX for t in inside)
    assert "get_weather" in text[spans[1][0].start:spans[1][0].end]


def test_llama_quotes_around_a_tool_output_are_world_text(tokenizers) -> None:
    """The template's own quoting (tojson's opening and closing quote) carries the tool's gate."""
    ex = mask_chat(_weather(), tokenizers["llama3_1_instruct.jinja"])
    sp = _message_spans(ex)[2][0]
    text = ex.chat.rendering.text
    assert text[sp.start] == '"' and text[sp.end - 1] == '"'
    assert text[sp.start - 2:sp.start] == "\n\n"  # right after the ipython header
    for c in (sp.start, sp.end - 1):
        span = ex.chat.rendering.part_at(c)
        assert span.part is Part.CONTENT and span.gate is not None and span.gate.value == 0


@pytest.mark.parametrize("template", ["gemma.jinja", "phi3.jinja"])
def test_json_pasted_in_chat_turns_of_gemma_and_phi3(tokenizers, template) -> None:
    trim = template == "gemma.jinja"
    msgs = [{"role": "system", "content": "Reply in JSON."},
            {"role": "user", "content": " " + TOOL_OUTPUT + "\n"},
            {"role": "assistant", "content": '{"answer": "mild – 18,5 °C",\n "quoted": "\\"yes\\""}'}]
    ex = mask_chat(msgs, tokenizers[template])
    text, spans = ex.chat.rendering.text, _message_spans(ex)
    for i in (1, 2):
        want = msgs[i]["content"].strip() if trim else msgs[i]["content"]
        assert text[spans[i][0].start:spans[i][0].end] == want
    assert all(ex.labels(DO)[t] == IGNORE_INDEX for t in _tokens_in(ex, spans[2][0]))
    assert all(ex.labels(DO)[t] != IGNORE_INDEX for t in _tokens_in(ex, spans[1][0]))
    # the system text is context wherever the template puts it (Gemma: inside the first user turn)
    system = spans[0][0]
    assert text[system.start:system.end] == "Reply in JSON."
    assert all(ex.labels(m)[t] == IGNORE_INDEX for m in LabelMode for t in _tokens_in(ex, system)
               if ex.masked.offsets[t][0] >= system.start and ex.masked.offsets[t][1] <= system.end)


def test_phi3_drops_a_tool_message_and_that_is_an_error(tokenizers) -> None:
    msgs = _weather()[2:]
    msgs.insert(0, {"role": "user", "content": "hi"})
    with pytest.raises(InvalidArgument, match=r"message 1 \(tool\): the template does not render its content"):
        mask_chat(msgs, tokenizers["phi3.jinja"])


@pytest.mark.parametrize("template", ["llama3_1_instruct.jinja", "mistral_v3_tools.jinja", "hermes_tools.jinja"])
def test_text_beside_a_call_that_the_template_drops_is_reported_and_the_call_still_masked(tokenizers, template) -> None:
    with pytest.warns(UserWarning, match=r"message 1 \(assistant\): the template drops its text"):
        ex = mask_chat(_weather("Let me look that up."), tokenizers[template])
    assert ex.chat.dropped_content == (1,)
    assert "Let me look that up." not in ex.chat.rendering.text
    call = _message_spans(ex)[1]  # the call, then (eot="agent") its end-of-turn marker
    assert "get_weather" in ex.chat.rendering.text[call[0].start:call[0].end]
    assert all(ex.labels(DO)[t] == IGNORE_INDEX for sp in call for t in _tokens_in(ex, sp))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mask_chat(_weather(), tokenizers[template]).chat.dropped_content == ()


def test_mistral_leaves_the_system_prompt_out_of_a_conversation_ending_with_the_assistant(tokenizers) -> None:
    msgs = [{"role": "system", "content": "Be brief."}, *_weather()]
    ex = mask_chat(msgs, tokenizers["mistral_v3_tools.jinja"])
    assert "Be brief." not in ex.chat.rendering.text
    assert any("message 0 (system): the template leaves this context out" in n for n in ex.chat.notes)


def test_an_unknown_transformation_is_named_not_guessed(tokenizers) -> None:
    tok = copy.copy(tokenizers["phi3.jinja"])
    tok.chat_template = "{% for m in messages %}<{{ m.role }}>{{ m.content | replace('\"', \"'\") }}{% endfor %}"
    with pytest.raises(InvalidArgument, match=r"message 0 \(user\).*content 'say \"hi\"'"):
        mask_chat([{"role": "user", "content": 'say "hi"'}, {"role": "assistant", "content": "ok"}], tok)


def test_a_template_that_refuses_the_probe_is_aligned_by_the_bare_sentinel(tokenizers) -> None:
    """A template that rejects a quote in any content: the probe is refused, the bare sentinel is
    used instead, and the spans are still exact."""
    tok = copy.copy(tokenizers["phi3.jinja"])
    tok.chat_template = ("{% for m in messages %}{% if '\"' in m.content %}{{ raise_exception('no quotes') }}"
                         "{% endif %}<|{{ m.role }}|>{{ m.content | trim }}<|end|>{% endfor %}")
    msgs = [{"role": "user", "content": " Zürich?\n"}, {"role": "assistant", "content": "Ja – 18 °C."}]
    ex = mask_chat(msgs, tok)
    assert ex.chat.aligned_by == "sentinel"
    spans = _message_spans(ex)
    assert [ex.chat.rendering.text[s[0].start:s[0].end] for s in (spans[0], spans[1])] == ["Zürich?", "Ja – 18 °C."]
