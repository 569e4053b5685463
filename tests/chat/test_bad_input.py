"""Bad chat input from an outside probe: each is one clear error, never a traceback or silent training.

Lone surrogates, labels made for another mode, malformed pre-tokenized features, and messages
that did not say what was wrong or where; plus the documented outputs checked against the code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from bayes_agent.cli import main  # noqa: E402
from bayes_agent.errors import InvalidArgument  # noqa: E402
from neural.chat.collator import ChatCollator  # noqa: E402
from neural.chat.messages import mask_chat  # noqa: E402
from neural.masking import IGNORE_INDEX, LabelMode  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "data" / "chat_sample.jsonl"
GOOD = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "fine"}]
# the tester's line: JSON's \ud800 escape is a lone surrogate, a str to Python but not Unicode text
SURROGATE_LINE = ('{"messages":[{"role":"user","content":"q"},'
                  '{"role":"assistant","content":"bad \\ud800 surrogate"}]}')


# fixtures tok (chatml) and conversations (the sample file): tests/chat/conftest.py


# --- 1. a lone surrogate --------------------------------------------------------------------------


def test_a_lone_surrogate_line_is_skipped_with_its_message_index(tmp_path, capsys) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(SURROGATE_LINE + "\n" + json.dumps({"messages": GOOD}) + "\n", encoding="utf-8")
    assert main(["chat-masks", str(path)]) == 1  # skipped, and the next line still used
    captured = capsys.readouterr()
    assert ("line 1: skipped: message 1 (assistant): content is not valid Unicode text "
            "(a lone surrogate U+D800 at character 4)") in captured.err
    assert "Traceback" not in captured.err
    assert "\nline 2: " in captured.out and "skipped 1 lines" in captured.out


def test_the_collator_names_a_lone_surrogate(tok) -> None:
    bad = json.loads(SURROGATE_LINE)
    with pytest.raises(InvalidArgument, match=r"^feature 0: message 1 \(assistant\): content is not valid Unicode"):
        ChatCollator(tok)([bad])


def test_surrogates_in_calls_and_tool_definitions_are_named(tok) -> None:
    call = {"type": "function", "function": {"name": "f", "arguments": {"a": "x\udfff"}}}
    with pytest.raises(InvalidArgument, match=r"message 1 \(assistant\): tool call 0 arguments is not valid Unicode"):
        mask_chat([GOOD[0], {"role": "assistant", "content": None, "tool_calls": [call]}], tok)
    tools = [{"type": "function", "function": {"name": "g\ud801", "parameters": {}}}]
    with pytest.raises(InvalidArgument, match="rendered conversation: .* not valid Unicode text .*U[+]D801"):
        mask_chat(GOOD, tok, tools=tools)


# --- 2. pre-tokenized features carry their mode -----------------------------------------------------


def test_features_from_another_mode_are_refused(tok, conversations) -> None:
    examples = [mask_chat(c["messages"], tok, tools=c.get("tools")) for c in conversations]
    for mode in LabelMode:
        col = ChatCollator(tok, mode=mode)
        batch = col([e.features(mode, with_mode=True) for e in examples])  # its own mode: used
        assert col.supervised_tokens == sum(sum(x != IGNORE_INDEX for x in e.labels(mode)) for e in examples)
        assert int((batch["labels"] != IGNORE_INDEX).sum()) == col.supervised_tokens
        for other in LabelMode:
            if other is not mode:
                with pytest.raises(InvalidArgument, match=(
                        rf"^feature 0 has {other.value} labels but this collator trains the {mode.value} mode")):
                    col([e.features(other, with_mode=True) for e in examples])
        assert col.examples == len(examples)  # a refused batch counts nothing


def test_plain_features_keep_the_fields_any_collator_pads() -> None:
    """features(mode) returns what it always did, so HF's own collators still take it; the mode
    field is opt-in (with_mode=True), for this project's collator."""
    from transformers import DataCollatorForSeq2Seq

    from neural.chat.messages import build_chat_tokenizer

    tok = build_chat_tokenizer("chatml")
    ex = mask_chat([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}], tok)
    plain = ex.features("interventional")
    assert sorted(plain) == ["attention_mask", "input_ids", "labels"]
    assert DataCollatorForSeq2Seq(tok)([plain, plain])["labels"].shape[0] == 2
    assert ex.features("do", with_mode=True)["label_mode"] == "interventional"


def test_chat_tokenize_rows_carry_their_mode(tmp_path, capsys, tok) -> None:
    out = tmp_path / "obs.jsonl"
    assert main(["chat-tokenize", str(SAMPLE), "--template", "chatml", "--mode", "observational",
                 "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["label_mode"] for r in rows} == {"observational"}
    with pytest.raises(InvalidArgument, match="has observational labels but this collator trains the interventional"):
        ChatCollator(tok)(rows)
    assert ChatCollator(tok, mode="observational")(rows)["labels"].shape[0] == len(rows)


def test_features_without_a_mode_are_taken_as_given_warned_and_counted(tok) -> None:
    col = ChatCollator(tok)
    plain = [{"input_ids": [5, 6, 7], "labels": [5, 6, 7]}]
    with pytest.warns(UserWarning, match="carry no label_mode"):
        col(plain)
    col(plain)
    assert col.unmarked_examples == 2
    assert col.report().endswith("; 2 pre-tokenized examples without label_mode (mode unchecked)")
    with pytest.raises(InvalidArgument, match=r"without label_mode, .* \(require_label_mode=True\)"):
        ChatCollator(tok, require_label_mode=True)(plain)
    with pytest.raises(InvalidArgument, match="feature 0: bad label_mode: label mode must be"):
        col([{**plain[0], "label_mode": "everything"}])


# --- 3. malformed pre-tokenized features and settings -------------------------------------------------


@pytest.mark.parametrize("features, pattern", [
    ([{"input_ids": [1.7, 2.2], "labels": [1, 2]}], r"feature 0: input_ids\[0\] must be an integer, got 1.7"),
    ([{"input_ids": [1, 2], "labels": [1, 2.0]}], r"feature 0: labels\[1\] must be an integer, got 2.0"),
    ([{"input_ids": [1, 2], "labels": [1, -5]}], r"feature 0: labels\[1\] is -5, not a token id \(>= 0\) or -100"),
    ([{"input_ids": [1, -1], "labels": [1, -100]}], r"feature 0: input_ids\[1\] is -1, not a token id \(>= 0\)$"),
    ([{"input_ids": [1, True], "labels": [1, 1]}], r"feature 0: input_ids\[1\] must be an integer, got True"),
    ([{"input_ids": [], "labels": []}], "feature 0 has an empty input_ids list"),
    ([{"input_ids": "12", "labels": [1, 2]}], "feature 0: input_ids must be a list of integers, got str"),
    ({"input_ids": [1, 2], "labels": [1, 2]}, r"features must be a list of examples .*got dict; wrap a single"),
    ("input_ids", "features must be a list of examples .*got str"),
])
def test_bad_pretokenized_features_are_named(tok, features, pattern) -> None:
    with pytest.raises(InvalidArgument, match=pattern):
        ChatCollator(tok)(features)


def test_integer_arrays_and_tensors_are_still_accepted(tok) -> None:
    np = pytest.importorskip("numpy")
    batch = ChatCollator(tok)([{"input_ids": np.array([5, 6, 7]), "labels": torch.tensor([5, IGNORE_INDEX, 7]),
                                "label_mode": "interventional"}])
    assert batch["input_ids"].tolist() == [[5, 6, 7]] and batch["labels"].tolist() == [[5, IGNORE_INDEX, 7]]


@pytest.mark.parametrize("kwargs, pattern", [
    ({"max_length": True}, "max_length must be a positive integer, got True"),
    ({"pad_to_multiple_of": True}, "pad_to_multiple_of must be a positive integer, got True"),
    ({"pad_token_id": -1}, "pad_token_id must be a non-negative integer, got -1"),
    ({"pad_token_id": "0"}, "pad_token_id must be a non-negative integer, got '0'"),
])
def test_bad_settings_are_named(tok, kwargs, pattern) -> None:
    with pytest.raises(InvalidArgument, match=pattern):
        ChatCollator(tok, **kwargs)


# --- 4. messages that say what and where --------------------------------------------------------------


@pytest.mark.parametrize("key, value", [("gate", "bogus"), ("provenance", 7)])
def test_a_bad_gate_or_provenance_names_the_message(tok, key, value) -> None:
    msgs = [GOOD[0], {**GOOD[1], key: value}]
    with pytest.raises(InvalidArgument, match=rf"^message 1 \(assistant\): bad '{key}': provenance must be"):
        mask_chat(msgs, tok)


def test_a_broken_template_file_is_one_error_up_front(tmp_path, capsys, tok) -> None:
    template = tmp_path / "broken.jinja"
    template.write_text("{% for m in messages %}{{ m.content }\n", encoding="utf-8")
    data = tmp_path / "many.jsonl"
    data.write_text((json.dumps({"messages": GOOD}) + "\n") * 50, encoding="utf-8")
    for command in (["chat-masks", str(data)], ["chat-tokenize", str(data), "--out", str(tmp_path / "o.jsonl")]):
        assert main([*command, "--template", str(template)]) == 2
        err = capsys.readouterr().err
        assert "skipped" not in err and len(err.strip().splitlines()) == 1
        assert f"--template '{template}' is not valid jinja (line 1:" in err
    with pytest.raises(InvalidArgument, match="the chat template is not valid jinja"):
        ChatCollator(tok, chat_template=template.read_text())


# --- 5. the documented outputs are the code's --------------------------------------------------------


def test_pipeline_page_shows_what_chat_masks_prints(capsys) -> None:
    text = (ROOT / "docs" / "pipeline.md").read_text(encoding="utf-8")
    block = re.search(r"```console\n\$ bayes-agent chat-masks examples/data/chat_sample.jsonl --template chatml\n"
                      r"(.*?)```", text, flags=re.S)
    assert block
    documented = [line for line in block.group(1).splitlines() if line != "..."]
    assert main(["chat-masks", str(SAMPLE), "--template", "chatml"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert documented[-1] == printed[-1]  # the total line, every field of it
    head = documented[:documented.index("") + 1 + 12]  # the tokenizer line and the first table
    assert printed[:len(head)] == head


def test_every_documented_chat_tokenize_command_names_its_out() -> None:
    """``--out`` is required, so a usage line without it is an error when copied."""
    for doc in ("README.md", "docs/pipeline.md"):
        for line in (ROOT / doc).read_text(encoding="utf-8").splitlines():
            for use in re.findall(r"chat-tokenize [^`|]*", line):
                if re.match(r"chat-tokenize \S+\.jsonl", use):  # an invocation, not a mention
                    assert "--out" in use, (doc, line)
