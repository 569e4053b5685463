"""Device choice, precision by device, thread validation and the environment record."""

import os

import pytest
import torch

from bayes_agent.errors import BayesAgentError, InvalidArgument
from neural import devices
from neural.devices import check_threads, environment_record, resolve_device, resolve_precision


def _fake(monkeypatch, cuda=False, mps=False, bf16=True, count=1):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count if cuda else 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(devices, "_mps_available", lambda: mps)


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    _fake(monkeypatch, cuda=cuda, mps=mps)
    assert resolve_device("auto") == expected


def test_this_machine_resolves_to_what_torch_sees():
    expected = "cuda" if torch.cuda.is_available() else "mps" if devices._mps_available() else "cpu"
    assert resolve_device() == expected and resolve_device("CPU") == "cpu"


@pytest.mark.parametrize("name, error, match", [
    ("tpu", InvalidArgument, "unknown device"), ("cuda:x", InvalidArgument, "unknown device"),
    ("cpu:0", InvalidArgument, "unknown device"), (3, InvalidArgument, "must be a string"),
    ("cuda", BayesAgentError, "no CUDA GPU is visible"), ("cuda:0", BayesAgentError, "no CUDA GPU"),
    ("mps", BayesAgentError, "MPS is not available"),
])
def test_absent_or_unknown_devices_are_named(monkeypatch, name, error, match):
    _fake(monkeypatch)
    with pytest.raises(error, match=match):
        resolve_device(name)


def test_a_gpu_index_beyond_the_visible_ones(monkeypatch):
    _fake(monkeypatch, cuda=True, count=1)
    assert resolve_device("cuda:0") == "cuda:0"
    with pytest.raises(BayesAgentError, match="only 1 CUDA GPU"):
        resolve_device("cuda:1")


@pytest.mark.parametrize("device, bf16, expected", [
    ("cpu", True, "fp32"), ("mps", True, "fp32"), ("cuda", True, "bf16"), ("cuda:0", False, "fp16"),
])
def test_auto_precision_follows_the_device(monkeypatch, device, bf16, expected):
    _fake(monkeypatch, cuda=True, bf16=bf16)
    assert resolve_precision("auto", device) == expected


def test_explicit_precisions(monkeypatch):
    _fake(monkeypatch, cuda=True, bf16=False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "old GPU")
    assert resolve_precision("bf16", "cpu") == "bf16"  # asked for: allowed on the CPU
    assert resolve_precision("fp32", "cuda") == "fp32"
    with pytest.raises(InvalidArgument, match="does not support bf16"):
        resolve_precision("bf16", "cuda")
    with pytest.raises(InvalidArgument, match="fp16 needs a CUDA"):
        resolve_precision("fp16", "mps")
    with pytest.raises(InvalidArgument, match="unknown precision"):
        resolve_precision("fp8", "cpu")


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2", (os.cpu_count() or 1) + 1])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(InvalidArgument, match="threads"):
        check_threads(bad)


def test_good_thread_counts_pass():
    assert check_threads(1) == 1 and check_threads(None) is None


def test_environment_record_names_what_results_depend_on():
    env = environment_record("cpu", "fp32")
    for key in ("python", "torch", "transformers", "tokenizers", "numpy", "cpu_model", "torch_threads", "device"):
        assert env[key], key
    assert env["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert env["torch_threads"] == torch.get_num_threads() and env["gpu_model"] is None


def test_peak_memory_is_reported_in_bytes():
    assert devices.peak_memory_bytes("cpu") > 10 * 2**20  # a torch process holds well over 10 MiB
