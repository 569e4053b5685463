"""``bayes-agent chat-masks`` and ``chat-tokenize``: tables, accounting, bad input (issue 6)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from bayes_agent.cli import main  # noqa: E402
from neural.chat.messages import build_chat_tokenizer, mask_chat  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "data" / "chat_sample.jsonl"


def _conversations() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]


def test_command_modules_do_not_import_torch() -> None:
    code = (
        "import sys, neural.commands.chat_masks, neural.commands.chat_tokenize\n"
        "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_masks_table_and_accounting(capsys) -> None:
    assert main(["chat-masks", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "line 1:" in out and "provenance" in out and "(template)" in out
    tok = build_chat_tokenizer("plain")
    exs = [mask_chat(c["messages"], tok, tools=c.get("tools")) for c in _conversations()]
    obs = sum(e.masked.accounting.supervised_obs for e in exs)
    do = sum(e.masked.accounting.supervised_do for e in exs)
    assert f"supervised observational {obs}, interventional {do}," in out


def test_masks_json_matches_the_library(capsys) -> None:
    assert main(["chat-masks", str(SAMPLE), "--template", "chatml", "--json", "--tokens"]) == 0
    report = json.loads(capsys.readouterr().out)
    tok = build_chat_tokenizer("chatml")
    exs = [mask_chat(c["messages"], tok, tools=c.get("tools")) for c in _conversations()]
    assert [c["line"] for c in report["conversations"]] == [1, 2, 3, 4]
    assert report["totals"]["interventional"] == sum(e.masked.accounting.supervised_do for e in exs)
    assert report["totals"]["observational"] == sum(e.masked.accounting.supervised_obs for e in exs)
    assert report["totals"]["agent_content_tokens"] == sum(e.masked.accounting.agent_content_tokens for e in exs)
    first = report["conversations"][0]
    assert len(first["token_rows"]) == first["tokens"] == len(exs[0].input_ids)
    demo = report["conversations"][2]["messages"][2]  # the teacher's demonstration (provenance: world)
    assert demo["role"] == "assistant" and demo["provenance"] == "world"
    assert demo["interventional"] == demo["observational"] > 0


def _bad_file(tmp_path: Path) -> Path:
    good = json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]})
    lines = [
        good,                                                                   # 1
        '{"messages": [ {"role": "user", "content": "broken"',                   # 2 malformed JSON
        json.dumps({"messages": [{"role": "user", "content": ["parts"]}]}),     # 3 non-string content
        json.dumps({"messages": []}),                                           # 4 empty conversation
        "",                                                                     # 5 blank: no record
        json.dumps({"messages": [{"role": "teacher", "content": "x"}]}),        # 6 unknown role
        json.dumps([1, 2]),                                                     # 7 not an object
        good,                                                                   # 8
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_lines_are_reported_and_skipped(tmp_path, capsys) -> None:
    path = _bad_file(tmp_path)
    assert main(["chat-masks", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert [c["line"] for c in report["conversations"]] == [1, 8]
    skipped = {s["line"]: s["error"] for s in report["skipped"]}
    assert sorted(skipped) == [2, 3, 4, 6, 7]
    assert "not valid JSON" in skipped[2]
    assert "message 0 (user): content must be a string, got list" in skipped[3]
    assert "empty conversation" in skipped[4]
    assert "unknown role 'teacher'" in skipped[6]
    for line in (2, 3, 4, 6, 7):
        assert f"line {line}: skipped:" in captured.err


def test_strict_stops_at_the_first_bad_line(tmp_path, capsys) -> None:
    path = _bad_file(tmp_path)
    assert main(["chat-masks", str(path), "--strict"]) == 2
    err = capsys.readouterr().err
    assert "line 2: not valid JSON" in err and "--strict" in err


def test_role_override_and_bad_role_flag(tmp_path, capsys) -> None:
    path = tmp_path / "teacher.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "teacher", "content": "x = 1"}]}) + "\n")
    assert main(["chat-masks", str(path), "--role", "teacher=world", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["conversations"][0]["messages"][0]
    assert row["provenance"] == "world" and row["interventional"] > 0
    assert main(["chat-masks", str(path), "--role", "teacher"]) == 2
    assert "ROLE=PROVENANCE" in capsys.readouterr().err


def test_truncation_is_reported(capsys) -> None:
    assert main(["chat-masks", str(SAMPLE), "--max-length", "24", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert all(c["tokens"] == 24 for c in report["conversations"])
    assert report["totals"]["truncated_conversations"] == 4
    tok = build_chat_tokenizer("plain")
    full = sum(len(mask_chat(c["messages"], tok).input_ids) for c in _conversations())
    assert report["totals"]["truncated_tokens"] == full - 4 * 24


def test_conversations_without_labels_are_counted_and_the_documented_filter_removes_them(tmp_path, capsys) -> None:
    datasets = pytest.importorskip("datasets")
    torch = pytest.importorskip("torch")
    from bayes_agent.errors import InvalidArgument
    from neural.chat.collator import ChatCollator

    out = tmp_path / "cut.jsonl"
    assert main(["chat-tokenize", str(SAMPLE), "--max-length", "24", "--out", str(out)]) == 0
    summary = capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    empty = [r for r in rows if all(x == -100 for x in r["labels"][1:])]
    assert len(empty) == 2 and "; 2 of them with no supervised label" in summary
    collator = ChatCollator(build_chat_tokenizer("plain"))
    with pytest.raises(InvalidArgument, match="none of the 2 examples"):
        collator([{k: r[k] for k in ("input_ids", "labels")} for r in empty])
    ds = datasets.Dataset.from_list([{k: r[k] for k in ("input_ids", "labels", "label_mode")} for r in rows])
    kept = ds.filter(lambda f: any(x != -100 for x in f["labels"][1:]))  # the recipe in the error and docs
    assert len(kept) == 2
    batch = collator(list(kept))
    assert int((batch["labels"][:, 1:] != -100).sum()) > 0 and batch["labels"].dtype == torch.long


def test_unalignable_template_names_the_message(tmp_path, capsys) -> None:
    template = tmp_path / "drops_tools.jinja"
    template.write_text(
        "{% for m in messages %}{% if m.role != 'tool' %}{{ m.role }}: {{ m.content }}\n{% endif %}{% endfor %}"
    )
    assert main(["chat-masks", str(SAMPLE), "--template", str(template), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    skipped = {s["line"]: s["error"] for s in report["skipped"]}
    assert sorted(skipped) == [1, 4]  # the two conversations with tool outputs
    assert "message 3 (tool)" in skipped[1] and "message 2 (tool)" in skipped[4]


def test_tokenize_writes_labels_and_a_reusable_tokenizer(tmp_path, capsys) -> None:
    out, saved = tmp_path / "do.jsonl", tmp_path / "tok"
    assert main(["chat-tokenize", str(SAMPLE), "--template", "llama3", "--out", str(out),
                 "--save-tokenizer", str(saved)]) == 0
    assert "wrote 4 conversations (interventional labels" in capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    tok = build_chat_tokenizer("llama3")
    for row, conv in zip(rows, _conversations()):
        ex = mask_chat(conv["messages"], tok, tools=conv.get("tools"))
        assert row["input_ids"] == ex.input_ids and row["labels"] == ex.labels("interventional")
    # the saved tokenizer is loaded from its path and gives the same dataset
    again = tmp_path / "again.jsonl"
    assert main(["chat-tokenize", str(SAMPLE), "--tokenizer", str(saved), "--out", str(again)]) == 0
    assert again.read_text() == out.read_text()
    capsys.readouterr()
    assert main(["chat-tokenize", str(SAMPLE), "--mode", "assistant_only", "--out", "-"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 4 and "assistant_only labels" in captured.err


def test_missing_tokenizer_empty_file_and_missing_file(tmp_path, capsys) -> None:
    assert main(["chat-masks", str(SAMPLE), "--tokenizer", str(tmp_path / "nope")]) == 2
    assert "no local tokenizer" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    assert main(["chat-tokenize", str(empty), "--out", str(tmp_path / "x.jsonl")]) == 2
    assert "no usable conversation" in capsys.readouterr().err
    assert main(["chat-masks", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["chat-masks", str(SAMPLE), "--template", "nonsense"]) == 2
    assert "neither one of" in capsys.readouterr().err


def test_example_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "chat_masking.py"), "llama3"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    counted, produced = last.split("non -100 labels:")[1].split("=")
    assert int(counted) == int(produced) > 0


def test_tokenize_reports_text_a_template_drops_and_counts_in_the_singular(tmp_path, capsys) -> None:
    """Issue 23: a conversation whose assistant text the template drops beside a call is kept,
    with ``dropped_content`` in the summary; one conversation is "1 conversation"."""
    template = Path(__file__).parent / "data" / "llama3_1_instruct.jinja"
    conv = {"messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "Let me look.", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "content": '{"temp": "18 °C",\n "sky": "\\"cloudy\\""}'},
        {"role": "assistant", "content": "18 C."}]}
    data, out = tmp_path / "one.jsonl", tmp_path / "do.jsonl"
    data.write_text(json.dumps(conv) + "\n", encoding="utf-8")
    assert main(["chat-tokenize", str(data), "--template", str(template), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "wrote 1 conversation (" in captured.out and "dropped_content 1" in captured.out
    assert "line 1: note: message 1 (assistant): the template drops its text" in captured.err
    assert "UserWarning" not in captured.err
    assert main(["chat-masks", str(data), "--template", str(template), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["dropped_content"] == 1 and report["conversations"][0]["dropped_content"] == [1]


def test_an_unterminated_string_is_reported_without_a_doubled_word(tmp_path, capsys) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "open\n', encoding="utf-8")
    assert main(["chat-masks", str(data)]) == 2
    err = capsys.readouterr().err
    assert "Unterminated string starting at column 43" in err and "at at" not in err
    assert "(1 bad line reported above)" in err


def test_tokenizer_folder_without_tokenizer_files_is_refused(tmp_path, capsys) -> None:
    """A --tokenizer folder with a model's config.json but no tokenizer files loads (transformers 5) as
    an empty tokenizer; chat-tokenize used to write rows of no tokens and exit 0."""
    from tests.neural.test_models import _saved_qwen2

    folder = _saved_qwen2(tmp_path / "wnotok", 320)
    capsys.readouterr()  # save_pretrained's progress bar
    out = tmp_path / "rows.jsonl"
    assert main(["chat-tokenize", str(SAMPLE), "--template", "chatml", "--tokenizer", str(folder),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds no loadable model and tokenizer" in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_chat_tokenize_refuses_to_write_over_its_own_input(tmp_path, capsys):
    """--out naming the input file, even with --overwrite, would replace the conversations with
    their token ids: refused before any work, the input left as it was."""
    data = tmp_path / "chat.jsonl"
    data.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    before = data.read_bytes()
    for out in (str(data), str(tmp_path / "." / "chat.jsonl")):
        assert main(["chat-tokenize", str(data), "--out", out, "--overwrite"]) == 2
        assert "is the input file" in capsys.readouterr().err
    assert data.read_bytes() == before


def test_an_unknown_role_is_answered_with_the_command_line_fix(tmp_path, capsys):
    """The library suggests roles={'User': ...} (Python); on the command line the fix is --role."""
    data = tmp_path / "role.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "User", "content": "hi"},
                                             {"role": "assistant", "content": "hello"}]}) + "\n", encoding="utf-8")
    assert main(["chat-masks", str(data), "--strict"]) == 2
    err = capsys.readouterr().err
    assert "unknown role 'User'; map it with --role User=world (or =agent, =context)" in err and "roles={" not in err
    assert main(["chat-masks", str(data), "--role", "User=world"]) == 0  # and the fix it names works
