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


def _example(script: str, *args: str, patch: str = "", cwd: Path) -> subprocess.CompletedProcess:
    """Run examples/``script`` with ``args``; ``patch`` (Python) runs first, e.g. to stop it part-way."""
    code = (f"import runpy, sys\n{patch}\nsys.argv = {[script, *args]!r}\n"
            f"runpy.run_path({str(ROOT / 'examples' / script)!r}, run_name='__main__')")
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_an_example_checks_its_out_dir_like_the_command(tmp_path: Path) -> None:
    """An existing file, figures already there, a stray flag: one line each, exit 2, before any work."""
    afile = tmp_path / "x.txt"
    afile.write_text("keep")
    r = _example("ice_cream.py", str(afile), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stdout == ""
    assert r.stderr.strip() == f"examples/ice_cream.py: error: OUT_DIR: {str(afile)!r} exists and is not a directory"
    out = tmp_path / "out"
    out.mkdir()
    (out / "ice_cream_climates.png").write_text("an earlier figure")
    r = _example("simulate_delusion.py", str(out), cwd=tmp_path)   # no clash: other names
    assert r.returncode == 0, r.stderr
    r = _example("simulate_delusion.py", str(out), cwd=tmp_path)   # the second run into the same folder
    assert r.returncode == 2 and r.stdout == "" and "already holds results (delusion_ensemble_actor_do.png" in r.stderr
    r = _example("ice_cream.py", str(out), "--bogus", cwd=tmp_path)
    assert r.returncode == 2 and "unexpected argument '--bogus'" in r.stderr
    assert (out / "ice_cream_climates.png").read_text() == "an earlier figure"
    r = _example("ice_cream.py", "--overwrite", cwd=tmp_path)   # nothing to write over
    assert r.returncode == 2 and "--overwrite needs an OUT_DIR" in r.stderr
    r = _example("simulate_delusion.py", "--help", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("usage: python simulate_delusion.py [OUT_DIR] [--overwrite]")
    assert "delusion" in r.stdout.lower() and r.stderr == ""


@pytest.mark.parametrize("where, said", [
    ("passive_vs_experiment", "interrupted before writing any file; nothing was kept, so a rerun needs no --overwrite"),
    ("plot_more_data", "interrupted while writing the figures; removed the files this run had written; "
                       "nothing was kept, so a rerun needs no --overwrite"),
])
def test_ctrl_c_in_an_example_is_one_line_and_leaves_no_half_output(where, said, tmp_path: Path) -> None:
    patch = (f"import bayes_agent\ndef stop(*a, **k):\n    raise KeyboardInterrupt\nbayes_agent.{where} = stop")
    out = tmp_path / "out"
    r = _example("ice_cream.py", str(out), patch=patch, cwd=tmp_path)
    assert r.returncode == 130 and "Traceback" not in r.stderr
    assert r.stderr.strip() == f"examples/ice_cream.py: {said}"
    assert not out.exists()
    r = _example("ice_cream.py", str(out), cwd=tmp_path)   # the rerun needs no --overwrite
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["ice_cream_climates.png", "ice_cream_more_data.png"]
