"""Ctrl-C at the two ends of a command (bayes_agent/_ctrl_c.py): while Python still imports the
package, and in the last instant after the run finished. One line, exit 130, nothing lost."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bayes_agent import _ctrl_c, cli

ROOT = Path(__file__).resolve().parents[1]
SIMULATE = ["simulate", "--runs", "2", "--steps", "4"]


def _run(interruptible, argv: list[str], pythonpath: list[Path], timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, pythonpath))}
    proc = interruptible(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _script(tmp_path: Path, after_main: str) -> Path:
    """The console command (``sys.argv[0]`` is bayes-agent, ``main()`` without argv), then ``after_main``."""
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""\
        import atexit, os, signal, sys, time
        from bayes_agent.cli import main
        sys.argv = ["bayes-agent", *{SIMULATE!r}]
        status = main()
        """) + textwrap.dedent(after_main) + "sys.exit(status)\n")
    return script


def test_ctrl_c_while_the_package_is_imported_is_one_line(tmp_path, interruptible):
    """SIGINT lands inside the imports of ``python -m bayes_agent`` (a stand-in for numpy, which
    the package imports, sends it and would then sleep): no traceback, one line, exit 130."""
    (tmp_path / "numpy.py").write_text("import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(30)\n")
    r = _run(interruptible, [sys.executable, "-m", "bayes_agent", *SIMULATE], [tmp_path, ROOT])
    assert r.returncode == 130, (r.returncode, r.stderr)
    assert r.stderr.splitlines() == [_ctrl_c.STARTING_LINE], r.stderr
    assert r.stdout == ""


def test_a_library_user_keeps_its_own_ctrl_c(tmp_path, interruptible):
    """Only the command's process gets the start-up line: a program importing the library gets
    Python's KeyboardInterrupt, which it may catch."""
    (tmp_path / "numpy.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n")
    code = "try:\n    import bayes_agent\nexcept KeyboardInterrupt:\n    print('caught')\n"
    r = _run(interruptible, [sys.executable, "-c", code], [tmp_path, ROOT])
    assert (r.returncode, r.stdout) == (0, "caught\n"), r.stderr


@pytest.mark.parametrize("argv0, orig, expected", [
    (["/usr/local/bin/bayes-agent", "simulate"], None, True),
    (["-m", "simulate"], ["python3", "-m", "bayes_agent", "simulate"], True),
    (["-m", "simulate"], ["python3", "-X", "dev", "-mbayes_agent.cli", "simulate"], True),
    (["-m"], ["python3", "-m", "pytest"], False),
    (["script.py"], ["python3", "script.py"], False),
    (["-c"], ["python3", "-c", "import bayes_agent"], False),
])
def test_which_process_is_the_command(monkeypatch, argv0, orig, expected):
    monkeypatch.setattr(sys, "argv", argv0)
    monkeypatch.setattr(sys, "orig_argv", orig or ["python3", *argv0], raising=False)
    assert _ctrl_c.is_the_command() is expected


def test_ctrl_c_during_the_exit_handlers_says_the_run_finished(tmp_path, interruptible):
    """SIGINT while atexit handlers run (registered after the package's, so they run before its
    last one): the late line, exit 130, the command's output and figures complete."""
    script = _script(tmp_path, """\
        atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(30)))
        """)
    r = _run(interruptible, [sys.executable, str(script)], [ROOT])
    assert r.returncode == 130, (r.returncode, r.stderr)
    assert r.stderr.splitlines() == ["bayes-agent simulate: interrupted after the run finished"], r.stderr
    assert "2 runs × 4 slots" in r.stdout and "locked wrong" in r.stdout


def test_ctrl_c_during_the_interpreter_teardown_is_not_a_silent_death(tmp_path, interruptible):
    """SIGINT while the interpreter destroys its modules (after the last atexit handler; Python
    runs no signal handler then and SIGINT would kill the process silently with 130): ignored, the
    finished command exits with its own status and its complete output."""
    script = _script(tmp_path, """\
        class _LastBreath:
            def __del__(self):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)
        last_breath = _LastBreath()  # a module global: destroyed in the teardown
        """)
    r = _run(interruptible, [sys.executable, str(script)], [ROOT])
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stderr == "" and "2 runs × 4 slots" in r.stdout


def test_ctrl_c_between_the_run_and_the_exit_names_the_finished_run(tmp_path, monkeypatch, capsys):
    """A KeyboardInterrupt in the last step of main, after the command returned (before the late
    handler is in place): the finished run's line, exit 130, the figures kept."""
    def interrupted_now(line: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "command_finished", interrupted_now)
    monkeypatch.setattr(sys, "argv", ["bayes-agent", *SIMULATE, "--out", str(tmp_path / "E")])
    assert cli.main() == 130
    err = capsys.readouterr().err
    assert err.splitlines() == ["bayes-agent simulate: interrupted after the run finished"], err
    assert len(list((tmp_path / "E").glob("*.png"))) == 3
