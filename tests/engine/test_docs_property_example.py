"""The property test shown in docs/invariants.md runs as written (issue 15: a user's first try)."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "invariants.md"


def test_the_documented_property_test_runs_as_shown():
    text = DOC.read_text()
    section = text[text.index("## Property tests of your own"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, str(DOC), "exec"), namespace)  # our own docs page, not user input
    tests = [v for k, v in namespace.items() if k.startswith("test_")]
    assert len(tests) == 1
    tests[0]()  # hypothesis runs the property; a ZeroEvidence or a failed assert fails this test
