"""The collator across processes (issue 16): torchrun and accelerate launch (DDP, gloo, CPU)
equal one process, and ``chat-tokenize --num-proc`` equals one process.

``examples/train_chat_ddp.py`` trains a tiny Qwen2 with ``ChatCollator`` under ``Trainer``; it
runs in the test's process (global batch 4), under ``torchrun --nproc_per_node 2`` and under
``accelerate launch --multi_gpu --num_processes 2`` (gloo, 2 x 2; accelerate's ``--cpu`` would
start a single process), all three at once to keep the suite fast. Each launcher's run must agree
with the single process: the supervised-token counts of the ranks add up to the single-process
count, and the trained weights and the loss on a fixed batch match.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "train_chat_ddp.py"


LAUNCHERS = ("torchrun", "accelerate")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    tmp = tmp_path_factory.mktemp("ddp")
    args = ["--global-batch", "4", "--steps", "3"]
    commands = {
        # `torchrun --standalone --nproc_per_node 2 ...`, spelled so that the test's python is used
        "torchrun": [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                     str(SCRIPT), "--out", str(tmp / "torchrun"), *args],
        # `accelerate launch --multi_gpu --num_processes 2 ...`: accelerate hands it to torch's launcher,
        # and the script's TrainingArguments(use_cpu=True, ddp_backend="gloo") keep it on the CPU
        "accelerate": [sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch", "--multi_gpu",
                       "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
                       "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
                       str(SCRIPT), "--out", str(tmp / "accelerate"), *args],
    }
    # no accelerate config of this machine's user may change the launch
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HOME": str(tmp / "hf")}
    logs = {name: tmp / f"{name}.log" for name in commands}
    procs = {}
    try:
        for name, cmd in commands.items():
            with open(logs[name], "w") as log:  # a file, not a pipe: nobody reads while the reference runs
                procs[name] = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
        # the single-process reference runs here while the launchers start: one import less
        spec = importlib.util.spec_from_file_location("train_chat_ddp", SCRIPT)
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        script.main(["--out", str(tmp / "one"), *args])
        for proc in procs.values():
            proc.wait(timeout=600)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for name, proc in procs.items():
        assert proc.returncode == 0, f"{name}: exit {proc.returncode}\n" + logs[name].read_text()[-6000:]
    load = lambda d: sorted((json.loads(p.read_text()) for p in (tmp / d).glob("rank*.json")),  # noqa: E731
                            key=lambda r: r["rank"])
    return {name: load(name) for name in ("one", *commands)}


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_supervised_tokens_summed_over_ranks_equal_one_process(runs, launcher) -> None:
    (one,), two = runs["one"], runs[launcher]
    assert [r["world_size"] for r in two] == [2, 2] and one["world_size"] == 1
    assert all(r["steps"] == 3 for r in [one, *two])
    assert sum(r["examples"] for r in two) == one["examples"] == 12
    assert all(r["examples"] == 6 for r in two)  # each rank saw its half
    assert sum(r["supervised_tokens"] for r in two) == one["supervised_tokens"] > 0
    assert sum(r["tokens"] for r in two) == one["tokens"]


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_two_processes_train_the_same_model_as_one(runs, launcher) -> None:
    one, two = runs["one"][0], runs[launcher][0]
    assert abs(one["probe_loss"] - two["probe_loss"]) < 1e-5
    diff = max(abs(a - b) for pa, pb in zip(one["weights"], two["weights"]) for a, b in zip(pa, pb))
    assert diff < 1e-5  # a per-rank token mean instead of the global one moves weights by ~6e-3


def test_chat_tokenize_num_proc_is_identical_to_one_process(tmp_path) -> None:
    sample = (ROOT / "examples" / "data" / "chat_sample.jsonl").read_text(encoding="utf-8").splitlines()
    empty_turn = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""},
                               {"role": "user", "content": "hello?"}]}
    lines = [*sample, "{not json", json.dumps(empty_turn), *sample]
    data = tmp_path / "chat.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    outs = {}
    for n in (1, 2):
        out = tmp_path / f"out{n}.jsonl"
        r = subprocess.run([sys.executable, "-m", "bayes_agent", "chat-tokenize", str(data), "--template",
                            "chatml", "--out", str(out), "--num-proc", str(n)],
                           env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 1, r.stderr  # one bad line, reported and skipped
        outs[n] = (out.read_bytes(), r.stderr, r.stdout.replace(str(out), "OUT"))
    assert outs[1] == outs[2]
    assert "line 5: skipped: not valid JSON" in outs[1][1]
    assert "line 6: note: message 1 (assistant): empty turn" in outs[1][1]
    assert len(outs[1][0].decode().splitlines()) == 2 * len([s for s in sample if s.strip()]) + 1
