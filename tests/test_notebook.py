"""The lecture notebook runs headless (nbclient) and its computed numbers are the paper's."""

import json
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "notebooks" / "lecture.ipynb"


def test_notebook_is_committed_with_outputs_cleared():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "the lecture has no code cells"
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)


@pytest.mark.slow
def test_notebook_executes_headless_in_under_a_minute(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"   # the kernel's temporary folder: the notebook must leave nothing there
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    elapsed = time.perf_counter() - start
    assert elapsed < 60, f"the lecture took {elapsed:.1f} s"
    text = []
    images = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", out
            if out["output_type"] == "stream":
                text.append(out["text"])
            data = out.get("data", {})
            text.append(data.get("text/markdown", ""))
            images += "image/png" in data
    joined = "\n".join(text)
    # numbers the notebook computed (sympy, then Fractions), rendered in its outputs
    for needle in (r"\frac{14}{131}", r"\frac{56}{69}", r"\frac{112}{229}", "P(fire | engine)",
                   "19/20", "locked onto p_A"):
        assert needle in joined, needle
    assert images == 3
    assert [p.name for p in scratch.iterdir() if p.name.startswith("lecture-figures-")] == []
