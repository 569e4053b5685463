"""docs/index.md's set-up commands are the README's (venv first), not a variant without it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands(path: Path) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)
    return [line for b in blocks for line in b.splitlines() if "pip install" in line]


def test_index_setup_commands_are_the_readmes():
    readme, index = _commands(ROOT / "README.md"), _commands(ROOT / "docs" / "index.md")
    assert len(readme) == 2 and index == readme
    assert all(line.startswith("python3 -m venv") for line in index)


def test_engine_modules_public_names_are_importable_from_the_root():
    """README: every name in a package's __all__ is importable from its package root; the engine's
    modules (invariants, worked examples, simulator, ...) are part of the package's API."""
    import bayes_agent
    from bayes_agent import arithmetic, dag, invariants, mixture, programs, scm, simulate, transcript, worked

    for mod in (arithmetic, dag, invariants, mixture, programs, scm, simulate, transcript, worked):
        missing = sorted(set(mod.__all__) - set(bayes_agent.__all__))
        assert missing == [], f"{mod.__name__}: {missing}"
