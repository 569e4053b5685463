"""The README's two set-up commands and CI (issue 23): each makes and enters a venv first, keeps a
user's torch, and CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", setup, flags=re.S)


def test_the_readme_has_two_commands_each_entering_a_venv_and_keeping_an_existing_torch() -> None:
    commands = _readme_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands), commands
    for c in commands:
        assert c.startswith("python3 -m venv --system-site-packages .venv && . .venv/bin/activate && "), c
        assert '{ python -c "import torch" 2>/dev/null || python -m pip install torch==2.13.0; }' in c
        assert "python3 -m pip" not in c  # every install goes into the venv
    assert commands[1].endswith("&& python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    lines = [ln for ln in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    after_cd = lines[lines.index(next(ln for ln in lines if ln.startswith("cd "))) + 1:]
    # the set-up line and the test line, joined as the README joins them (room for lines between)
    assert f"{after_cd[0]} && {after_cd[-1]}" == _readme_commands()[1]


def test_scipy_is_listed_once() -> None:
    assert (ROOT / "pyproject.toml").read_text(encoding="utf-8").count('"scipy') == 1
