"""A CLI that never loses work (issue 16): every failure mode is one line on stderr, exit 2, no traceback.

Each case runs the real ``python3 -m bayes_agent`` in a subprocess, so a traceback would show
up on stderr exactly as a user would see it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from bayes_agent import __version__
from bayes_agent.cli import build_parser
from bayes_agent.commands._common import progress_wanted, resume_command

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "data" / "chat_sample.jsonl"
HAVE_NEURAL = all(
    __import__("importlib").util.find_spec(m) is not None for m in ("torch", "transformers")
)
neural_only = pytest.mark.skipif(not HAVE_NEURAL, reason="needs the neural extra")


def cli(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bayes_agent", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit status 2, no traceback, exactly one line on stderr that contains every needle."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _unwritable_dir() -> Path | None:
    """An existing directory this process cannot create files in (root ignores chmod)."""
    d = Path(tempfile.mkdtemp())
    d.chmod(0o500)
    candidates = [d, Path("/sys"), Path("/proc")]
    for c in candidates:
        try:
            with tempfile.NamedTemporaryFile(dir=c):
                pass
        except OSError:
            return c
    return None


# --- --out: a file, not creatable, not writable, already holding results ----------------------

OUT_COMMANDS = [
    pytest.param(["simulate", "--runs", "2", "--steps", "2"], id="simulate"),
    pytest.param(["ice-cream", "--n-max", "100"], id="ice-cream"),
    pytest.param(["causal-strategies", "--config", "micro"], id="causal-strategies", marks=neural_only),
    pytest.param(["reproduce", "--preset", "micro"], id="reproduce", marks=neural_only),
]


@pytest.mark.parametrize("argv", OUT_COMMANDS)
def test_out_that_is_a_file(argv, tmp_path):
    f = tmp_path / "taken.txt"
    f.write_text("not a directory\n")
    assert_one_line_error(cli(*argv, "--out", str(f)), "--out", "exists and is not a directory")
    assert f.read_text() == "not a directory\n"  # untouched


@pytest.mark.parametrize("argv", OUT_COMMANDS[:2])
@pytest.mark.parametrize("out, word", [("", "empty"), ("   ", "blank")])
def test_empty_or_blank_out_names_nothing(argv, out, word, tmp_path):
    """``Path("")`` is the current folder and "   " a folder named by spaces: both refused."""
    before = sorted(os.listdir(tmp_path))
    result = subprocess.run([sys.executable, "-m", "bayes_agent", *argv, "--out", out], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert_one_line_error(result, f"--out is {word}: name a folder")
    assert sorted(os.listdir(tmp_path)) == before  # nothing written


@pytest.mark.parametrize("argv", OUT_COMMANDS)
def test_out_under_a_file_cannot_be_created(argv, tmp_path):
    f = tmp_path / "taken.txt"
    f.write_text("x")
    assert_one_line_error(cli(*argv, "--out", str(f / "run")), "cannot create", "is a file")


@pytest.mark.parametrize("argv", OUT_COMMANDS)
def test_out_not_writable(argv):
    locked = _unwritable_dir()
    if locked is None:
        pytest.skip("no unwritable directory on this machine")
    assert_one_line_error(cli(*argv, "--out", str(locked)), "--out", "cannot write into")
    assert_one_line_error(cli(*argv, "--out", str(locked / "new_run")), "cannot create", "not writable")


def test_nonempty_run_directory_needs_overwrite(tmp_path):
    earlier = tmp_path / "delusion_trajectory.png"
    earlier.write_bytes(b"an earlier result")
    line = assert_one_line_error(cli("simulate", "--runs", "2", "--steps", "2", "--out", str(tmp_path)),
                                 "already holds results", "--overwrite")
    assert "delusion_trajectory.png" in line
    assert earlier.read_bytes() == b"an earlier result"  # nothing lost
    ok = cli("simulate", "--runs", "2", "--steps", "2", "--out", str(tmp_path), "--overwrite")
    assert ok.returncode == 0, ok.stderr
    assert earlier.read_bytes().startswith(b"\x89PNG")


def test_figure_folder_with_other_files_is_fine(tmp_path):
    (tmp_path / "notes.md").write_text("mine")  # not one of the files simulate writes
    ok = cli("simulate", "--runs", "2", "--steps", "2", "--out", str(tmp_path))
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "notes.md").read_text() == "mine"


@neural_only
def test_run_directory_of_a_long_job_is_refused_before_any_work(tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    for argv in (["causal-strategies", "--config", "micro"], ["reproduce", "--preset", "micro"]):
        assert_one_line_error(cli(*argv, "--out", str(tmp_path)), "already holds results", "--overwrite")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]  # no two_action.json either


# --- chat input and outputs --------------------------------------------------------------------


@neural_only
def test_chat_tokenize_outputs_checked_before_work(tmp_path):
    out = tmp_path / "train.jsonl"
    out.write_text("earlier\n")
    assert_one_line_error(cli("chat-tokenize", str(SAMPLE), "--out", str(out)), "already exists", "--overwrite")
    assert out.read_text() == "earlier\n"
    assert_one_line_error(cli("chat-tokenize", str(SAMPLE), "--out", str(tmp_path)), "is a directory")
    assert_one_line_error(cli("chat-tokenize", str(SAMPLE), "--out", str(tmp_path / "a.jsonl"),
                              "--save-tokenizer", str(out)), "--save-tokenizer", "not a directory")
    assert not (tmp_path / "a.jsonl").exists()  # refused before anything was written
    ok = cli("chat-tokenize", str(SAMPLE), "--out", str(out), "--overwrite")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(out.read_text().splitlines()[0])["line"] == 1


@neural_only
def test_non_utf8_line_is_a_per_line_error(tmp_path):
    good = SAMPLE.read_text(encoding="utf-8").splitlines()[0]
    bad = '{"messages": [{"role": "user", "content": "caf\xe9"}]}'.encode("latin-1")
    data = tmp_path / "mixed.jsonl"
    data.write_bytes(good.encode() + b"\n" + bad + b"\n" + good.encode() + b"\n")
    r = cli("chat-masks", str(data), "--json", "--template", "chatml")  # chatml renders the tools: no note
    assert "Traceback" not in r.stderr and r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines() == [
        "line 2: skipped: not UTF-8 text (byte 0xe9 at byte 47 of the line); re-encode the file as UTF-8"
    ]
    report = json.loads(r.stdout)
    assert [c["line"] for c in report["conversations"]] == [1, 3]  # the good lines are kept
    strict = cli("chat-masks", str(data), "--strict", "--template", "chatml")
    assert_one_line_error(strict, "line 2", "not UTF-8")


@neural_only
def test_malformed_json_reports_the_right_column(tmp_path):
    line = '{"messages": [{"role": "user", "content": "' + "x" * 80 + '"}, {"role": "assistant" "content": "y"}]}'
    col = line.index('"content": "y"') + 1  # where the missing comma should be
    data = tmp_path / "bad.jsonl"
    data.write_text(line + "\n" + '{"messages": [{"role": "user", "content": "unclosed"}]\n')
    r = cli("chat-masks", str(data))
    assert "Traceback" not in r.stderr and r.returncode == 2  # no usable line at all
    lines = r.stderr.strip().splitlines()
    assert lines[0] == f"line 1: skipped: not valid JSON (Expecting ',' delimiter at column {col})"
    # a line cut short: the error is at its end, not at "column 1" of a next line
    second = '{"messages": [{"role": "user", "content": "unclosed"}]'
    assert lines[1] == f"line 2: skipped: not valid JSON (Expecting ',' delimiter at column {len(second) + 1})"


# --- device, threads, model ---------------------------------------------------------------------


@neural_only
@pytest.mark.parametrize("argv,needles", [
    (["--device", "tpu"], ["--device", "unknown device 'tpu'"]),
    (["--threads", "-1"], ["--threads", "between 1 and", "-1"]),
    (["--threads", "0"], ["--threads", "between 1 and"]),
    (["--model", "./no/such/model"], ["no such directory", "./no/such/model"]),
    (["--model", "nobody-here/tiny-model-42"],
     ["hf download nobody-here/tiny-model-42 --local-dir ./tiny-model-42"]),
])
def test_bad_device_threads_and_model(argv, needles, tmp_path):
    r = cli("reproduce", "--preset", "micro", "--out", str(tmp_path / "run"), *argv)
    line = assert_one_line_error(r, *needles)
    assert "huggingface-cli" not in line
    assert not (tmp_path / "run").exists()  # refused before anything was written


@neural_only
def test_cuda_without_a_gpu_is_refused(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert_one_line_error(cli("reproduce", "--preset", "micro", "--device", "cuda", "--out", str(tmp_path / "r")),
                          "--device", "no CUDA GPU is visible")


# --- help, version, progress --------------------------------------------------------------------


def test_version():
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"bayes-agent {__version__}"


_MARKUP = re.compile(r"``|:(func|class|data|mod|meth|attr|obj):`")


def test_every_option_has_help_and_no_raw_markup():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing, markup = [], []
    for name, sp in sub.choices.items():
        if _MARKUP.search(sp.format_help()):
            markup.append(name)
        for action in sp._actions:
            if not isinstance(action, argparse._HelpAction) and not (action.help or "").strip():
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing
    assert not markup, markup
    assert all(ch.help for ch in sub._choices_actions)


def test_progress_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert progress_wanted(False, Tty()) and not progress_wanted(True, Tty())
    assert not progress_wanted(False, io.StringIO())  # a log file or a pipe: no bar


@neural_only
def test_reproduce_into_a_log_writes_no_carriage_returns(tmp_path):
    r = cli("reproduce", "--preset", "micro", "--epochs", "1", "--n-dialogues", "8", "--out", str(tmp_path / "r"))
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "r" / "metrics.json").exists()


# --- Ctrl-C: save what is there, print the exact resume command ---------------------------------

_DEMO = textwrap.dedent('''
    import json, sys, time
    from pathlib import Path
    from bayes_agent import cli
    from bayes_agent.commands._common import resume_command, save_on_interrupt

    def work(args):
        out = Path(args.out); out.mkdir(exist_ok=True)
        done = json.loads((out / "done.json").read_text()) if args.resume else []
        def save():
            (out / "done.json").write_text(json.dumps(done))
            return f"{len(done)} items in {out}"
        argv = sys.argv[1:]
        with save_on_interrupt(save, lambda: resume_command(argv, add=["--resume"])):
            for i in range(len(done), args.n):
                done.append(i * i)
                print("item", i, flush=True)
                time.sleep(0.02 if i < 3 else 10)
        save()
        print("finished", len(done), flush=True)
        return 0

    real = cli.build_parser
    def build_parser():
        p = real()
        sub = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
        d = sub.add_parser("demo", help="a long job")
        d.add_argument("--out", required=True, help="run directory")
        d.add_argument("--n", type=int, default=5, help="items")
        d.add_argument("--resume", action="store_true", help="continue")
        d.set_defaults(func=work)
        return p
    cli.build_parser = build_parser
    sys.exit(cli.main())
''')


def test_ctrl_c_saves_and_prints_the_resume_command(tmp_path, interruptible):
    script = tmp_path / "demo.py"
    script.write_text(_DEMO)
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = interruptible([sys.executable, str(script), "demo", "--out", str(out), "--n", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen = [proc.stdout.readline() for _ in range(4)]  # items 0..3; item 3 then sleeps
    assert seen[-1].startswith("item 3"), seen
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1
    expected = f"resume with: bayes-agent demo --out {out} --n 5 --resume"
    assert lines[0] == f"bayes-agent demo: interrupted: saved 4 items in {out}; {expected}"
    assert json.loads((out / "done.json").read_text()) == [0, 1, 4, 9]  # nothing computed is lost
    # the printed command (our script standing in for the entry point) continues the job
    tail = expected.split("bayes-agent ", 1)[1].split()
    done = interruptible([sys.executable, str(script), *tail], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    first = done.stdout.readline()
    assert first.startswith("item 4")  # continues where it stopped, recomputes nothing
    done.send_signal(signal.SIGINT)  # item 4 sleeps too: interrupt it, check the save again
    done.communicate(timeout=60)
    assert json.loads((out / "done.json").read_text()) == [0, 1, 4, 9, 16]


def _import_interrupted_by_ctrl_c() -> None:
    """What Python raises when SIGINT lands while a C extension initialises (seen in CI)."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as ki:
        raise ImportError("initialization failed") from ki


def test_ctrl_c_wrapped_in_an_import_error_still_saves_and_exits_130(tmp_path, capsys, monkeypatch):
    from bayes_agent import cli
    from bayes_agent.commands._common import Interrupted, save_on_interrupt

    saved = []
    with pytest.raises(Interrupted, match="saved 2 seeds"):
        with save_on_interrupt(lambda: saved.append(1) or "2 seeds", lambda: "bayes-agent x --resume"):
            _import_interrupted_by_ctrl_c()
    assert saved == [1]
    with pytest.raises(ImportError):  # an import that fails on its own is not a Ctrl-C
        with save_on_interrupt(lambda: saved.append(2) or "-", lambda: "-"):
            raise ImportError("no module named nothing")
    assert saved == [1]

    def boom(args):
        _import_interrupted_by_ctrl_c()

    real = cli.build_parser

    def build_parser():
        p = real()
        sub = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
        sub.add_parser("boom", help="x").set_defaults(func=boom)
        return p

    monkeypatch.setattr(cli, "build_parser", build_parser)
    assert cli.main(["boom"]) == 130
    assert capsys.readouterr().err.strip() == "bayes-agent boom: interrupted"


def test_resume_command_replaces_options():
    argv = ["reproduce", "--out", "runs/a b", "--overwrite", "--resume", "old", "--seeds", "0"]
    assert resume_command(argv, add=["--resume", "runs/a b/checkpoint"]) == (
        "bayes-agent reproduce --out 'runs/a b' --seeds 0 --resume 'runs/a b/checkpoint'"
    )


# --- no deprecation warnings from our own calls ---------------------------------------------------


@neural_only
def test_greedy_decoding_uses_the_current_cache_argument():
    """transformers 5.2x renamed ``past_key_values`` to ``cache``; probes.py adapts to either."""
    import warnings

    from neural.models import TinyModelConfig, build_tiny_model, train_tokenizer
    from neural.sft.probes import greedy_reply

    tok = train_tokenizer(["The sky is blue. The grass is green."] * 4, 300)
    model = build_tiny_model(TinyModelConfig(vocab_size=300), len(tok), seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a FutureWarning/DeprecationWarning fails the test
        reply = greedy_reply(model, tok, "The sky", max_new_tokens=4)
    assert isinstance(reply, str)


def test_resume_and_overwrite_exclude_each_other_and_resume_accepts_a_run(tmp_path):
    from bayes_agent.commands._common import prepare_out_dir
    from bayes_agent.errors import InvalidArgument

    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(InvalidArgument, match="choose one"):
        prepare_out_dir(tmp_path, overwrite=True, resume=True)
    with pytest.raises(InvalidArgument, match="--resume to continue"):
        prepare_out_dir(tmp_path, resume=False)
    assert prepare_out_dir(tmp_path, resume=True) == tmp_path


@neural_only
def test_every_long_job_takes_no_progress():
    """``--no-progress`` means the same in each command that runs for minutes."""
    parser = build_parser()
    for argv in (["reproduce", "--out", "x"], ["sweep", "--out", "x"], ["causal-strategies", "--out", "x"]):
        args = parser.parse_args([*argv, "--no-progress"])
        assert getattr(args, "no_progress", None) is True or getattr(args, "quiet", None) is True, argv


# --- issue 23: seeds, rejected runs, late Ctrl-C, usage of the subcommand, time hints -------------

def _main_fails(argv: list[str], capsys) -> str:
    from bayes_agent.cli import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["reproduce", "--seeds", "0", "-1"],
    ["sweep", "--seeds", "-1", "2"],
    ["simulate", "--seed", "-1"],
    ["ice-cream", "--seed", "-1"],
    ["masks", "--seed", "-3"],
], ids=["reproduce", "sweep", "simulate", "ice-cream", "masks"])
def test_a_negative_seed_is_refused_everywhere(argv, tmp_path, capsys):
    """Seed -1 makes the same dialogues as seed 1: a multi-seed interval would rest on repeated data."""
    out = tmp_path / "run"
    err = _main_fails([*argv, "--out", str(out)], capsys)
    assert f"usage: bayes-agent {argv[0]}" in err and "must be ≥ 0, got -" in err, err
    assert "Traceback" not in err and not out.exists()


def test_a_seed_that_is_not_an_integer_is_named(capsys):
    err = _main_fails(["simulate", "--seed", "one"], capsys)
    assert "argument --seed: expected an integer ≥ 0, got 'one'" in err


@pytest.mark.parametrize("command, needed", [("two-action", []), ("sweep", ["--out", "x"]),
                                             ("chat-masks", [str(SAMPLE)])])
def test_an_unknown_option_prints_the_usage_of_its_subcommand(command, needed, capsys):
    err = _main_fails([command, *needed, "--no-such-option"], capsys)
    assert err.startswith(f"usage: bayes-agent {command}"), err
    assert "unrecognized arguments: --no-such-option" in err


@neural_only
def test_a_sweep_refused_for_its_p_lie_leaves_no_empty_out(tmp_path, capsys):
    from bayes_agent.cli import main

    out = tmp_path / "sweep"
    assert main(["sweep", "--out", str(out), "--p-lie", "0.5", "2", "--preset", "micro"]) == 2
    assert "p_lie must be a probability" in capsys.readouterr().err
    assert not out.exists()
    out.mkdir()  # a folder the user made beforehand is theirs: kept
    assert main(["sweep", "--out", str(out), "--p-lie", "0.5", "2", "--preset", "micro"]) == 2
    assert out.is_dir()


@neural_only
def test_ctrl_c_after_the_last_line_still_says_what_was_saved(tmp_path, capsys, monkeypatch):
    import neural.commands.chat_tokenize as command
    from bayes_agent.cli import main

    def last_line(*args, **kwargs):  # Ctrl-C lands while the final summary is printed
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "print", last_line, raising=False)
    out = tmp_path / "do.jsonl"
    assert main(["chat-tokenize", str(SAMPLE), "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"bayes-agent chat-tokenize: interrupted after the run finished; saved {out}", err
    assert out.stat().st_size > 0


@pytest.mark.parametrize("command", ["reproduce", "sweep", "causal-strategies"])
def test_the_help_of_every_long_job_states_its_time_on_two_cores(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    listed = next(c.help for c in sub._choices_actions if c.dest == command)
    assert re.search(r"\d+(-\d+)? ?min[^;]* on 2 CPU cores", listed), listed
    assert "on 2 CPU cores" in sub.choices[command].format_help()


@neural_only
def test_a_missing_tokenizer_path_is_one_plain_line(tmp_path):
    result = cli("chat-masks", str(SAMPLE), "--tokenizer", "./nope")
    line = assert_one_line_error(result, "no local tokenizer at './nope': no such directory")
    assert "repo" not in line.lower() and "huggingface" not in line.lower()


@neural_only
def test_ctrl_c_after_the_command_returned_still_says_what_was_saved(tmp_path):
    """A Ctrl-C that lands after the last line, while the process winds down, gets the same line."""
    out = tmp_path / "do.jsonl"
    code = ("import os, signal, sys\n"
            "from bayes_agent.cli import main\n"
            f"sys.argv = ['bayes-agent', 'chat-tokenize', {str(SAMPLE)!r}, '--out', {str(out)!r}]\n"
            "status = main()\n"
            "os.kill(os.getpid(), signal.SIGINT)\n"
            "import time; time.sleep(5)\n"
            "sys.exit(status)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 130 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        f"bayes-agent chat-tokenize: interrupted after the run finished; saved {out}")
    assert "wrote 4 conversations" in r.stdout and out.stat().st_size > 0


def test_a_full_disk_while_saving_a_checkpoint_is_one_line(monkeypatch, capsys):
    """safetensors reports a failed write (ENOSPC on a full disk) as its own SafetensorError, not an
    OSError: the command still ends with one line naming it, exit 2, not a traceback."""
    safetensors = pytest.importorskip("safetensors")
    from bayes_agent import cli
    from bayes_agent.commands import two_action

    def full_disk(args):
        raise safetensors.SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(two_action, "run", full_disk)
    assert cli.main(["two-action"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["bayes-agent two-action: error: cannot write a checkpoint (safetensors): Error while "
                   "serializing: I/O error: No space left on device (os error 28)"]


def test_other_safetensors_errors_are_not_hidden(monkeypatch):
    safetensors = pytest.importorskip("safetensors")
    from bayes_agent import cli
    from bayes_agent.commands import two_action

    def bug(args):
        raise safetensors.SafetensorError("invalid header")  # not a file-system surprise: a bug to see

    monkeypatch.setattr(two_action, "run", bug)
    with pytest.raises(safetensors.SafetensorError):
        cli.main(["two-action"])
