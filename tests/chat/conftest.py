"""Fixtures shared by the chat tests: the chatml byte-level tokenizer and the sample conversations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "chat_sample.jsonl"


@pytest.fixture(scope="module")
def tok():
    from neural.chat.messages import build_chat_tokenizer

    return build_chat_tokenizer("chatml")


@pytest.fixture(scope="module")
def conversations() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
