"""The chat examples treat bad input like the commands do: one line and exit 2, no traceback, and
no earlier result replaced without --overwrite."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=300)


def test_chat_masking_with_an_unknown_template_is_one_line(tmp_path):
    r = _run("chat_masking.py", "bogus", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == "error: unknown chat template 'bogus'; choose one of ['chatml', 'llama3', 'plain']"


@pytest.mark.parametrize("flag", ["--global-batch", "--steps"])
def test_train_chat_ddp_refuses_a_zero_count_before_any_work(flag, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("train_chat_ddp", ROOT / "examples" / "train_chat_ddp.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with pytest.raises(SystemExit) as exit_:
        script.main(["--out", str(tmp_path / "out"), flag, "0"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"error: argument {flag}: must be ≥ 1, got 0")
    assert not (tmp_path / "out").exists()


def test_train_chat_ddp_never_writes_over_an_earlier_rank_file(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "rank0.json").write_text("earlier run")
    r = _run("train_chat_ddp.py", "--out", str(out), "--steps", "1", "--global-batch", "1", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert r.stderr.strip() == (f"error: --out: {str(out)!r} already holds results (rank0.json); pass --overwrite "
                                f"to replace them or choose a new directory")
    assert (out / "rank0.json").read_text() == "earlier run"
    r = _run("train_chat_ddp.py", "--out", str(tmp_path / "proc"), "--out", "/proc/x", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip().startswith("error: --out: cannot create '/proc/x'"), r.stderr
