"""``bayes-agent lecture`` as a command: busy port, Ctrl-C, the handout, a missing extra."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def cli(*argv: str, code: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", code, *argv] if code else [sys.executable, "-m", "bayes_agent", *argv]
    return subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)


def one_line(r: subprocess.CompletedProcess, *needles: str) -> str:
    err = r.stderr.strip()
    assert r.returncode == 2 and "\n" not in err and "Traceback" not in err, r.stderr
    for n in needles:
        assert n in err, err
    return err


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.src: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "script" and dict(attrs).get("src"):
            self.src.append(dict(attrs)["src"])


def _fetched_scripts(page: str) -> list[str]:
    """The src of every <script> tag (the parser skips script bodies, so library code is not read)."""
    p = _Scripts()
    p.feed(page)
    return p.src


def test_a_busy_port_is_one_line_that_suggests_another():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        one_line(cli("lecture", "--no-browser", "--port", str(port)), f"port {port} on 127.0.0.1 is busy", "--port")


def test_a_port_out_of_range_is_refused():
    one_line(cli("lecture", "--no-browser", "--port", "70000"), "--port 70000 is not a port number")


def test_without_panel_the_command_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['panel'] = None; from bayes_agent.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    one_line(cli("lecture", "--export", str(tmp_path / "h"), code=code), "pip install 'bayes-agent[lecture]'")
    one_line(cli("lecture", "--no-browser", code=code), "pip install 'bayes-agent[lecture]'")


def test_import_of_the_lecture_package_leaves_panel_out():
    r = cli(code="import sys, bayes_agent.lecture, bayes_agent.cli; print('panel' in sys.modules, 'bokeh' in sys.modules)")
    assert r.stdout.split() == ["False", "False"], r.stderr


def test_ctrl_c_stops_the_server_cleanly(interruptible):
    pytest.importorskip("panel", reason="the lecture extra (Panel) is not installed")
    proc = interruptible([sys.executable, "-m", "bayes_agent", "lecture", "--no-browser"], cwd=ROOT, env=ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("bayes-agent lecture: serving http://127.0.0.1:"), line + proc.stderr.read()
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert err.strip() == "bayes-agent lecture: stopped", err


def test_export_writes_self_contained_pages_and_does_not_overwrite(tmp_path):
    pytest.importorskip("panel", reason="the lecture extra (Panel) is not installed")
    out = tmp_path / "handout"
    r = cli("lecture", "--export", str(out))
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["delusion.html", "index.html", "seeing_vs_doing.html", "two_action.html"]
    page = (out / "two_action.html").read_text(encoding="utf-8")
    assert _fetched_scripts(page) == []  # every script inline: the page runs without a network
    for fraction in ("69/200", "14/131", "56/69", "112/229"):
        assert fraction in page
    one_line(cli("lecture", "--export", str(out)), "already holds results", "--overwrite")


@pytest.mark.parametrize("argv, needle", [
    (["--overwrite"], "--overwrite only applies with --export DIR"),
    (["--export", "{tmp}", "--port", "5000"], "--port only applies when serving"),
    (["--export", "{tmp}", "--host", "0.0.0.0", "--no-browser"], "--host, --no-browser only apply when serving"),
    (["--export", ""], "--export is empty: name a folder"),
])
def test_options_that_do_not_apply_are_refused_not_ignored(argv, needle, tmp_path):
    """``--overwrite`` alone used to start the server (and open a tab); ``--port`` with ``--export``
    was dropped without a word."""
    one_line(cli("lecture", *[a.format(tmp=tmp_path / "h") for a in argv]), needle)
    assert not (tmp_path / "h").exists()


@pytest.mark.parametrize("port", [[], ["--port", "8765"]])
def test_a_host_that_is_not_ours_is_named_with_its_option(port):
    """Without --port the error was "cannot use: Cannot assign requested address", naming
    neither the host nor the option (192.0.2.1 is a documentation address, never a machine's)."""
    one_line(cli("lecture", "--host", "192.0.2.1", *port, "--no-browser"),
             "cannot listen on --host 192.0.2.1", "--host must be an address of this machine")


class _Page:
    """A stand-in handout page: the first is saved, Ctrl-C comes while building the second."""

    built = 0

    def __init__(self, name: str) -> None:
        if _Page.built == 1:
            raise KeyboardInterrupt
        _Page.built += 1
        self.name = name

    def select(self, kind) -> list:  # no widgets, so no player states to list
        return []

    def save(self, path: str, **options) -> None:
        Path(path).write_text("<html>new</html>", encoding="utf-8")


@pytest.mark.parametrize("earlier", [False, True])
def test_an_interrupted_export_leaves_no_half_handout(earlier, tmp_path, monkeypatch, capsys):
    """Ctrl-C part-way printed only "interrupted" and left pages without index.html, so the next
    run needed --overwrite: now this run's files go, and the line says what is left."""
    pytest.importorskip("panel", reason="the lecture extra (Panel) is not installed")
    import bayes_agent.lecture.app as app
    from bayes_agent.cli import main

    out = tmp_path / "handout"
    if earlier:
        out.mkdir()
        (out / "index.html").write_text("old", encoding="utf-8")
    monkeypatch.setattr(_Page, "built", 0)
    monkeypatch.setattr(app, "build_handout_page", _Page)
    assert main(["lecture", "--export", str(out), *(["--overwrite"] if earlier else [])]) == 130
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "interrupted while writing the handout" in err, err
    if earlier:  # the earlier index stays, and the line says to rerun with --overwrite
        assert sorted(p.name for p in out.iterdir()) == ["index.html"]
        assert "index.html in" in err and "rerun with --overwrite" in err
    else:
        assert not out.exists() and "a rerun needs no --overwrite" in err
