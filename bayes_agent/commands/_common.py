"""Helpers shared by every command (not a command: the leading underscore hides it).

A command that writes files checks its ``--out`` before it does any work (so a wrong path costs
a second, not a run), refuses to write over earlier results unless ``--overwrite``, turns Ctrl-C
into one line that says what was saved and the exact command that resumes, and shows progress
bars only on a terminal. Nothing here imports torch.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import shlex
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from ..atomic import write_atomic  # re-exported: commands import it from here
from ..errors import BayesAgentError, InvalidArgument

__all__ = [
    "LOCK_FILE",
    "Interrupted",
    "Phase",
    "add_overwrite_argument",
    "caused_by_ctrl_c",
    "check_output_file",
    "example_out_dir",
    "hold_out_dir",
    "example_script",
    "nothing_left_if_rejected",
    "output_dir",
    "nothing_new_left",
    "plain_text",
    "prepare_out_dir",
    "progress_wanted",
    "resume_command",
    "save_on_interrupt",
    "write_atomic",
]


class Interrupted(BayesAgentError):
    """Ctrl-C during a long job, after what was computed has been saved; the CLI exits 130."""

    exit_status = 130


_ROLE = re.compile(r":(?:func|class|data|mod|meth|attr|obj):`~?([^`]+)`")


def plain_text(docstring: str | None) -> str:
    """A module docstring as terminal help: reST roles and double backquotes removed."""
    return _ROLE.sub(r"\1", docstring or "").replace("``", "")


def add_overwrite_argument(p: argparse.ArgumentParser) -> None:
    """``--overwrite``: allow writing into an output that already holds results."""
    p.add_argument("--overwrite", action="store_true",
                   help="write into --out even if it already holds results (they are replaced)")


def _writable_dir(path: Path, option: str, target: Path | None = None) -> None:
    """Raise unless files can be created in the existing directory ``path`` (tried, not guessed)."""
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".bayes-agent-write-test-"):
            pass
    except OSError as exc:
        if exc.errno == errno.ENOENT:  # the folder exists but takes no new files (/proc, /sys)
            problem = "does not accept new files (a virtual file system?)"
        else:
            problem = f"is not writable ({exc.strerror or exc})"
        if target is None:
            raise InvalidArgument(f"{option}: cannot write into {str(path)!r}: it {problem}") from None
        raise InvalidArgument(f"{option}: cannot create {str(target)!r}: {str(path)!r} {problem}") from None


def _creatable(path: Path, option: str) -> None:
    """Raise unless the missing directory ``path`` could be created (its nearest existing parent)."""
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InvalidArgument(f"{option}: cannot create {str(path)!r}: {str(parent)!r} is a file")
    _writable_dir(parent, option, target=path)


def _named(path: str | os.PathLike, option: str, what: str) -> None:
    """An empty or blank path names nothing (``Path("")`` would quietly be the current folder)."""
    if not str(os.fspath(path)).strip():
        raise InvalidArgument(f"{option} is {'empty' if not os.fspath(path) else 'blank'}: name a {what}")


def _link(path: Path) -> str:
    """``'o/x.png' is a symbolic link (to '/nowhere')`` for messages."""
    try:
        to = f" (to {os.readlink(path)!r})"
    except OSError:
        to = ""
    return f"{str(path)!r} is a symbolic link{to}"


def _no_links(out: Path, names: Iterable[str], option: str) -> None:
    """Refuse output targets that are symbolic links (a result written through one would land
    outside the folder) or directories (found now, not after the first files were written)."""
    for name in names:
        target = out / name
        if target.is_symlink():
            raise InvalidArgument(f"{option}: {_link(target)}; results are never written through a link: "
                                  f"remove it or choose another folder")
        if target.is_dir():
            raise InvalidArgument(f"{option}: {str(target)!r} is a directory, so the result of that name "
                                  f"cannot be written; remove it or choose another folder")


def prepare_out_dir(path: str | os.PathLike, *, overwrite: bool = False, writes: Iterable[str] | None = None,
                    option: str = "--out", create: bool = True, resume: bool | None = None) -> Path:
    """Check an output directory before any work starts; create it unless ``create=False``.

    Errors (:class:`InvalidArgument`, one line): the path is a file, it cannot be created or
    written into, or it already holds results and ``overwrite`` is false. "Holds results" means
    any entry at all for a run directory (``writes=None``), or any of the names in ``writes``
    for a command that writes a known set of files into a shared folder (figures). ``resume``
    (``None`` for a command without ``--resume``): continue the run there, which accepts a
    directory that holds results and excludes ``overwrite``.
    """
    _named(path, option, "folder")
    if resume and overwrite:
        raise InvalidArgument("--resume continues the run in --out and --overwrite replaces it: choose one")
    overwrite = overwrite or bool(resume)
    out = Path(path)
    if out.is_symlink() and not out.exists():
        raise InvalidArgument(f"{option}: {_link(out)} whose target does not exist; remove the link or "
                              f"choose another folder")
    if out.exists() and not out.is_dir():
        raise InvalidArgument(f"{option}: {str(out)!r} exists and is not a directory")
    if out.is_dir():
        _writable_dir(out, option)
        _not_held(out)
        if writes is not None:
            _no_links(out, writes, option)
        elif overwrite:  # a run directory: its own subfolders are fine, links are not
            _no_links(out, sorted(p.name for p in out.iterdir() if p.is_symlink()), option)
        if not overwrite:
            clash = sorted(p.name for p in out.iterdir() if p.name != LOCK_FILE) if writes is None else \
                sorted(n for n in writes if (out / n).exists())
            if clash:
                shown = ", ".join(clash[:3]) + (f" and {len(clash) - 3} more" if len(clash) > 3 else "")
                raise InvalidArgument(
                    f"{option}: {str(out)!r} already holds results ({shown}); pass --overwrite to "
                    f"replace them{'' if resume is None else ', --resume to continue an interrupted run'} "
                    f"or choose a new directory"
                )
    else:
        _creatable(out, option)
        if create:
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InvalidArgument(f"{option}: cannot create {str(out)!r}: {exc.strerror or exc}") from None
    return out


#: Written into --out while a run writes there (its process id), removed when it ends.
LOCK_FILE = ".bayes-agent.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _not_held(out: Path) -> None:
    """Refuse a folder whose lock names another live process (:func:`hold_out_dir`)."""
    lock = out / LOCK_FILE
    try:
        text = lock.read_text(encoding="utf-8").strip()
        age = time.time() - lock.stat().st_mtime
    except OSError:  # no lock
        return
    if not text.isdigit() and age < 10:  # just created by a run that has not written its id yet
        raise BayesAgentError(f"{out} is in use by another run that is starting: choose another --out")
    owner = int(text) if text.isdigit() else 0
    if owner and owner != os.getpid() and _alive(owner):
        raise BayesAgentError(
            f"{out} is in use by another run (process {owner}): wait for it to finish, or choose another "
            f"--out (if no such run is going on, remove {lock})")


@contextmanager
def hold_out_dir(out: str | os.PathLike, command: str) -> Iterator[None]:
    """Hold ``out`` for one run: a second run into the same folder at the same time is refused
    (their files would overwrite each other's and each report success). A lock left by a run that
    died (its process gone) is taken over."""
    lock = Path(out) / LOCK_FILE
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            _not_held(Path(out))
            with suppress(FileNotFoundError):
                lock.unlink()  # left by a run that died: take it over
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(str(os.getpid()))
        break
    else:
        raise BayesAgentError(f"could not hold {out} for this run ({lock} keeps coming back); try again")
    try:
        yield
    finally:
        with suppress(FileNotFoundError):
            lock.unlink()


@contextmanager
def nothing_left_if_rejected(path: str | os.PathLike) -> Iterator[None]:
    """Remove ``path`` again when the block fails and leaves it an empty directory it created.

    A run refused after its ``--out`` was made (a bad value found by the job itself) must leave
    nothing behind, not an empty folder that a second try then has to ``--overwrite``.
    """
    out = Path(path)
    existed = out.exists()
    try:
        yield
    except BaseException:
        _drop_if_new_and_empty(out, existed)
        raise


def _drop_if_new_and_empty(out: Path, existed: bool) -> None:
    """Remove ``out`` if this run created it (``existed`` is False) and left it empty."""
    with suppress(OSError):
        if not existed and out.is_dir() and not any(out.iterdir()):
            out.rmdir()


def output_dir(path: str) -> Path:
    """Create ``--out`` (and its parents) or say clearly why it cannot be (no overwrite check)."""
    return prepare_out_dir(path, overwrite=True)


def check_output_file(path: str, *, overwrite: bool = False, option: str = "--out") -> Path:
    """Check an output file before any work: not a directory, its folder writable, not clobbering."""
    _named(path, option, "file")
    out = Path(path)
    if out.is_symlink():
        raise InvalidArgument(f"{option}: {_link(out)}; results are never written through a link: "
                              f"remove it or name another file")
    if out.is_dir():
        raise InvalidArgument(f"{option}: {str(out)!r} is a directory, not a file")
    if out.exists() and not overwrite:
        raise InvalidArgument(f"{option}: {str(out)!r} already exists; pass --overwrite to replace it")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists():
        if not parent.is_dir():
            raise InvalidArgument(f"{option}: cannot create {str(out)!r}: {str(parent)!r} is a file")
        _writable_dir(parent, option)
    else:
        _creatable(parent, option)
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidArgument(f"{option}: cannot create {str(parent)!r}: {exc.strerror or exc}") from None
    return out




def progress_wanted(no_progress: bool = False, stream: object = None) -> bool:
    """Progress bars only when asked for and the stream (stderr) is a terminal.

    In a log file or a pipe a bar writes one carriage-return update per step; a non-terminal
    gets the command's own summary lines instead.
    """
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return not no_progress and bool(isatty and isatty())


def resume_command(argv: Sequence[str], *, drop: Sequence[str] = ("--overwrite",),
                   add: Sequence[str] = (), program: Sequence[str] = ("bayes-agent",)) -> str:
    """The shell command that reruns ``argv`` (this command's arguments, after ``program``) with ``add`` appended.

    Options in ``drop`` (flags without values) and any earlier occurrence of an option in ``add``
    (with its value) are left out, so the result is exact and copy-pasteable.
    """
    replaced = {a for a in add if a.startswith("--")}
    kept: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        name = a.split("=", 1)[0]
        if a in drop:
            continue
        if name in replaced:
            skip = "=" not in a
            continue
        kept.append(a)
    return shlex.join([*program, *kept, *add])


@contextmanager
def save_on_interrupt(save: Callable[[], str], resume: Callable[[], str]) -> Iterator[None]:
    """Turn Ctrl-C inside the block into :class:`Interrupted` after saving what is there.

    ``save()`` writes what has been computed and returns a short description ("3 of 5 seeds in
    runs/x"); ``resume()`` returns the exact command that continues the work. The CLI prints
    ``interrupted: saved …; resume with: …`` on one line and exits 130.
    """
    try:
        yield
    except BaseException as exc:
        if not caused_by_ctrl_c(exc):
            raise
        saved = save()
        raise Interrupted(f"interrupted: saved {saved}; resume with: {resume()}") from None


@dataclass
class Phase:
    """What a command is doing inside :func:`nothing_new_left` ("simulating", "writing the
    figures"), so a Ctrl-C line names the phase it came in."""

    doing: str


@contextmanager
def nothing_new_left(out: str | os.PathLike, names: Iterable[str], what: str) -> Iterator[Phase]:
    """Create ``out`` and write ``names`` into it inside the block: all of them, or none left by
    this run.

    If the block fails or is stopped, each of ``names`` that this run created is removed, and
    ``out`` too if this run created it (files there before stay), so a rerun is not refused as
    "already holds results". Ctrl-C becomes :class:`Interrupted`, whose line says what the command
    was doing (the :class:`Phase` yielded, "writing ``what``" unless the block sets another), what
    was removed and what was kept."""
    out = Path(out)
    names = list(names)
    existed = out.exists()
    before = [n for n in names if (out / n).exists()]
    phase = Phase(f"writing {what}")
    try:
        out.mkdir(parents=True, exist_ok=True)  # checked by prepare_out_dir(..., create=False) before
        yield phase
    except BaseException as exc:
        removed = False
        for n in names:
            if n not in before:
                with suppress(OSError):
                    removed |= (out / n).exists()
                    (out / n).unlink(missing_ok=True)
        _drop_if_new_and_empty(out, existed)
        if not caused_by_ctrl_c(exc):
            raise
        kept = (f"; {', '.join(before)} in {str(out)!r} predate this run or were replaced part-way: "
                f"rerun with --overwrite" if before else "; nothing was kept, so a rerun needs no --overwrite")
        done = "removed the files this run had written" if removed else "it had written no new file"
        raise Interrupted(f"interrupted while {phase.doing}; {done}{kept}") from None


def caused_by_ctrl_c(exc: BaseException) -> bool:
    """True for Ctrl-C, also when Python wrapped it in another error on the way up.

    A signal that lands while a C extension initialises (``import matplotlib`` at the end of a
    seed) surfaces as ``ImportError: initialization failed`` whose cause is the KeyboardInterrupt.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def example_out_dir(argv: Sequence[str], writes: Iterable[str], *, flags: Sequence[str] = (),
                    default: str | os.PathLike | None = None) -> Path | None:
    """The ``OUT_DIR [--overwrite]`` of a script in examples/, checked as a command checks ``--out``
    before any work (None when no folder is given and there is no ``default``).

    ``flags`` are the script's own switches, passed over here; anything else is refused in one line.
    The default folder (make_doc_figures.py's docs/figures) is the one place meant to be rewritten.
    """
    usage = f"[OUT_DIR] [--overwrite]{''.join(f' [{f}]' for f in flags)}"
    if "-h" in argv or "--help" in argv:  # the script's own docstring says what it shows
        doc = (getattr(sys.modules.get("__main__"), "__doc__", None) or "").strip()
        print(f"usage: python {os.path.basename(sys.argv[0])} {usage}" + (f"\n\n{doc}" if doc else ""))
        raise SystemExit(0)
    args = [a for a in argv if a not in (*flags, "--overwrite")]
    if "--overwrite" in argv and not args and default is None:
        raise InvalidArgument("--overwrite needs an OUT_DIR to write over; the arguments are " + usage)
    unknown = [a for a in args if a.startswith("-")]
    if unknown or len(args) > 1:
        raise InvalidArgument(f"unexpected argument {(unknown or args[1:])[0]!r}; the arguments are {usage}")
    if not args and default is None:
        return None
    return prepare_out_dir(args[0] if args else default, overwrite="--overwrite" in argv or not args,
                           writes=list(writes), option="OUT_DIR", create=False)


@contextmanager
def example_script(name: str) -> Iterator[None]:
    """Run an example script's body as the commands run theirs: bad input and Ctrl-C end in one
    line on stderr (exit 2 and 130), never a traceback; files are written inside
    :func:`nothing_new_left`, whose line says what was kept."""
    try:
        yield
    except BayesAgentError as exc:
        status = getattr(exc, "exit_status", 2)
        print(f"{name}: {'' if status == 130 else 'error: '}{exc}", file=sys.stderr)
        raise SystemExit(status) from None
    except BaseException as exc:
        if not caused_by_ctrl_c(exc):
            raise
        print(f"{name}: interrupted before writing any file; nothing was kept, so a rerun needs no "
              f"--overwrite", file=sys.stderr)
        raise SystemExit(130) from None
