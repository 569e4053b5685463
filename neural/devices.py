"""Where a run trains and in what precision, and the record of the environment it ran in.

``auto`` picks CUDA, then Apple MPS, then the CPU; the compute precision follows the device
(bf16 autocast on a CUDA GPU that supports it, fp16 autocast with a gradient scaler on an older
one, float32 elsewhere). Master weights and optimiser state are float32 whatever the precision:
pure bf16 AdamW rounds most of a 2e-5 update away (see ``docs/experiment.md``).
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from importlib import metadata
from typing import Any, ContextManager

from bayes_agent.errors import BayesAgentError, InvalidArgument

__all__ = [
    "DEVICES",
    "PRECISIONS",
    "autocast",
    "check_threads",
    "environment_record",
    "grad_scaler",
    "peak_memory_bytes",
    "resolve_device",
    "resolve_precision",
]

DEVICES = ("auto", "cuda", "mps", "cpu")
"""Device names ``--device`` accepts (``cuda:N`` picks one GPU)."""

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
"""Compute precisions: ``auto`` follows the device; the others are autocast dtypes (fp32: none)."""

_AMP_DTYPES = {"bf16": "bfloat16", "fp16": "float16"}


def resolve_device(name: str = "auto") -> str:
    """The concrete torch device for ``name``: ``auto`` is CUDA, then MPS, then CPU.

    An unknown name raises :class:`InvalidArgument`; a known device that is absent raises
    :class:`BayesAgentError` saying what is visible instead.
    """
    import torch

    if not isinstance(name, str):
        raise InvalidArgument(f"device must be a string such as 'auto' or 'cuda:0', got {name!r}")
    key = name.strip().lower()
    base, _, index = key.partition(":")
    if base not in DEVICES or (index and (base != "cuda" or not index.isdigit())):
        raise InvalidArgument(f"unknown device {name!r}; choose one of {list(DEVICES)} or cuda:N")
    cuda, mps = torch.cuda.is_available(), _mps_available()
    if base == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if base == "cuda":
        if not cuda:
            raise BayesAgentError(
                f"device {name!r} asked for, but no CUDA GPU is visible (torch {torch.__version__}, "
                f"built for CUDA {torch.version.cuda or 'none'}); use --device auto or --device cpu"
            )
        if index and int(index) >= torch.cuda.device_count():
            raise BayesAgentError(
                f"device {name!r} asked for, but only {torch.cuda.device_count()} CUDA GPU(s) are visible"
            )
    if base == "mps" and not mps:
        raise BayesAgentError(
            f"device {name!r} asked for, but Apple MPS is not available here; use --device auto or --device cpu"
        )
    return key


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_precision(precision: str, device: str) -> str:
    """The compute precision on ``device``: ``auto`` gives bf16 on CUDA with bf16 support, fp16 on
    older CUDA GPUs, fp32 on MPS and the CPU. bf16 on the CPU is allowed when asked for; fp16
    needs CUDA (its gradient scaler is only used there)."""
    import torch

    if precision not in PRECISIONS:
        raise InvalidArgument(f"unknown precision {precision!r}; choose one of {list(PRECISIONS)}")
    kind = device.split(":")[0]
    if precision == "auto":
        if kind == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if precision == "fp16" and kind != "cuda":
        raise InvalidArgument(f"precision fp16 needs a CUDA device (it trains with a gradient scaler), not {device!r}")
    if precision == "bf16" and kind == "cuda" and not torch.cuda.is_bf16_supported():
        raise InvalidArgument(f"this GPU ({torch.cuda.get_device_name(device)}) does not support bf16; use fp16")
    return precision


def autocast(precision: str, device: str) -> ContextManager[Any]:
    """The forward/backward context for ``precision``: ``torch.autocast`` for bf16/fp16, else none."""
    import torch

    if precision not in _AMP_DTYPES:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.split(":")[0], dtype=getattr(torch, _AMP_DTYPES[precision]))


def grad_scaler(precision: str, device: str) -> Any | None:
    """A gradient scaler for fp16 (small gradients would underflow), ``None`` otherwise."""
    import torch

    return torch.amp.GradScaler(device.split(":")[0]) if precision == "fp16" else None


def check_threads(threads: Any) -> int | None:
    """``threads`` if it is a usable torch CPU thread count (1 .. the CPU count), or ``None``."""
    if threads is None:
        return None
    n = os.cpu_count() or 1
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= n:
        raise InvalidArgument(f"threads must be an integer between 1 and {n} (this machine's CPUs), got {threads!r}")
    return threads


def peak_memory_bytes(device: str) -> int:
    """Peak memory so far: the largest GPU allocation on CUDA, the process's peak RSS otherwise."""
    import torch

    if device.startswith("cuda"):
        return int(torch.cuda.max_memory_allocated(device))
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)  # macOS reports bytes, Linux KiB


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment_record(device: str, precision: str | None = None) -> dict[str, Any]:
    """What a result depends on beyond the code and seed: versions, device, CPU/GPU, threads.

    Runs are bit-identical only within one such environment; across them, compare directions
    and confidence intervals, not digits.
    """
    import torch

    record: dict[str, Any] = {
        "python": platform.python_version(),
        **{name: _version(name) for name in ("torch", "transformers", "tokenizers", "numpy", "safetensors", "peft")},
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "precision": precision,
        "cuda": torch.version.cuda,
        "gpu_model": torch.cuda.get_device_name(device) if device.startswith("cuda") else None,
    }
    return record
