"""The documentation site builds in strict mode (no warnings), so docs cannot drift from code."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mkdocs_strict_build(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").exists()


def _python_block_after(doc: str, heading: str) -> str:
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    section = text[text.index(heading):]
    start = section.index("```python\n") + len("```python\n")
    return section[start:section.index("```", start)]


def test_the_invariants_page_snippet_runs_as_written() -> None:
    """docs/invariants.md's drop-in tests pass with a real model (the micro case) and do_labels."""
    pytest.importorskip("torch")
    from neural.regimes import micro_transformer_case
    from neural.regimes.assertions import do_labels

    case = micro_transformer_case()
    namespace = {"model": case.model, "tokenizer": case.tokenizer}
    exec(compile(_python_block_after("invariants.md", "## Check your own model and labels"),  # noqa: S102
                 "docs/invariants.md", "exec"), namespace)
    namespace["my_labels"] = do_labels  # the page's placeholder, as its comment says
    tests = [name for name in namespace if name.startswith("test_")]
    assert tests == ["test_my_masks_keep_agent_tokens_inert", "test_a_step_on_agent_only_text_changes_nothing"]
    for name in tests:
        namespace[name]()
