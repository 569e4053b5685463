"""One run at a time per --out: a second run into a folder another live run holds is refused
before it touches anything; a lock left by a run that died is taken over; the lock goes at the end."""

import subprocess
import sys

import pytest

from bayes_agent.commands import LOCK_FILE, hold_out_dir
from bayes_agent.errors import BayesAgentError


@pytest.fixture
def live_pid():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_folder_held_by_a_live_run_is_refused(tmp_path, live_pid):
    (tmp_path / LOCK_FILE).write_text(str(live_pid))
    with pytest.raises(BayesAgentError, match=f"in use by another run \\(process {live_pid}\\)"):
        with hold_out_dir(tmp_path, "reproduce"):
            pytest.fail("the body must not run")
    assert (tmp_path / LOCK_FILE).read_text() == str(live_pid)  # the other run's lock is left alone


def test_a_lock_left_by_a_dead_run_is_taken_over_and_removed_at_the_end(tmp_path):
    (tmp_path / LOCK_FILE).write_text(str(_dead_pid()))
    with hold_out_dir(tmp_path, "reproduce"):
        import os

        assert (tmp_path / LOCK_FILE).read_text() == str(os.getpid())
    assert not (tmp_path / LOCK_FILE).exists()


def test_the_lock_goes_when_the_run_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with hold_out_dir(tmp_path, "reproduce"):
            raise RuntimeError("the run failed")
    assert not (tmp_path / LOCK_FILE).exists()


def test_reproduce_overwrite_into_a_folder_another_run_holds_removes_nothing(tmp_path, live_pid, capsys):
    """Without the lock, --overwrite removed the other run's files and both runs reported success."""
    pytest.importorskip("torch")
    from bayes_agent.cli import main

    out = tmp_path / "run"
    out.mkdir()
    (out / LOCK_FILE).write_text(str(live_pid))
    (out / "report.md").write_text("the other run's report")
    assert main(["reproduce", "--out", str(out), "--preset", "micro", "--overwrite", "--no-progress"]) == 2
    assert f"in use by another run (process {live_pid})" in capsys.readouterr().err
    assert (out / "report.md").read_text() == "the other run's report"


def test_a_lock_just_created_without_its_process_id_yet_is_not_taken_over(tmp_path):
    """Another run has created the lock and not yet written its id: taking it over then would let
    both runs write into the folder."""
    (tmp_path / LOCK_FILE).write_text("")
    with pytest.raises(BayesAgentError, match="in use by another run that is starting"):
        with hold_out_dir(tmp_path, "reproduce"):
            pytest.fail("the body must not run")
