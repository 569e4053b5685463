"""Every script in examples/ runs to completion as a subprocess, in a temporary directory."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "examples").glob("*.py"))
# extra arguments for scripts that write files: their output directory (and a quick mode)
OUT_DIR_ARG = {"ice_cream.py", "simulate_delusion.py", "make_doc_figures.py"}
EXTRA = {"make_doc_figures.py": ["--quick"]}
NEEDS = {"chat_masking.py": "torch"}


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_the_examples_folder_is_not_empty():
    names = {p.name for p in SCRIPTS}
    assert {"two_action.py", "simulate_delusion.py", "fire_engine.py", "ice_cream.py"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    if script.name in NEEDS and not _have(NEEDS[script.name]):
        pytest.skip(f"{script.name} needs {NEEDS[script.name]}")
    args = [str(tmp_path / "out")] if script.name in OUT_DIR_ARG else []
    args += EXTRA.get(script.name, [])
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert r.stdout.strip(), f"{script.name} printed nothing"
    if script.name in OUT_DIR_ARG:
        pngs = list((tmp_path / "out").glob("*.png"))
        assert pngs and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)


@pytest.mark.slow
@pytest.mark.parametrize("page", ["tutorial.md", "teaching.md"])
def test_docs_doctests(page: str) -> None:
    """The code blocks of the tutorial and teaching pages are doctests: their numbers are computed."""
    import doctest

    result = doctest.testfile(str(ROOT / "docs" / page), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5
    assert result.failed == 0
