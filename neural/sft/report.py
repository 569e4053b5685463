"""Metrics, figures and tables of §5 (Figures 1–2, Tables 2–3, Eq. 7), and report.md built from parts.

``report.md`` is a list of sections, each a ``(title, markdown)`` pair; the experiment passes its
own and callers may add theirs (``extra_sections``), so other parts of the project can hang a
section on the same report without editing this module.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Iterable, Sequence

from bayes_agent.atomic import write_atomic
from bayes_agent.errors import InvalidArgument

from ..masking import IGNORE_INDEX, MaskedExample
from .arms import ALL_ARMS, BASE, arm as arm_record
from .stats import ci95

__all__ = [
    "Section",
    "ci95",
    "delta_metrics",
    "figure_delta",
    "figure_loss",
    "moving_average",
    "probe_table",
    "role_table",
    "write_json",
    "write_report",
]

Section = tuple[str, str]

def delta_metrics(delta_obs: Sequence[float], delta_do: Sequence[float]) -> dict[str, Any]:
    """The paper's Δ summary (Eq. 7 and §5.5.3 counts) for paired per-fact margins."""
    if len(delta_obs) != len(delta_do) or not delta_obs:
        raise InvalidArgument(
            f"need the same non-zero number of margins per arm, got {len(delta_obs)} and {len(delta_do)}"
        )
    return {
        "n_facts": len(delta_obs),
        "mean_delta_obs": statistics.fmean(delta_obs),
        "mean_delta_do": statistics.fmean(delta_do),
        "facts_lie_preferred_obs": sum(1 for d in delta_obs if d < 0),
        "facts_lie_preferred_do": sum(1 for d in delta_do if d < 0),
        "facts_do_beats_obs": sum(1 for a, b in zip(delta_obs, delta_do) if b > a),
    }


def moving_average(values: Sequence[float], window: int = 50) -> list[float]:
    """Centred moving average; near the ends the window shrinks to what exists."""
    if window < 1:
        raise InvalidArgument(f"window must be positive, got {window}")
    n, half = len(values), window // 2
    prefix = [0.0]
    for v in values:
        prefix.append(prefix[-1] + v)
    out = []
    for i in range(n):
        lo, hi = max(0, i - half), min(n, i - half + window)
        out.append((prefix[hi] - prefix[lo]) / (hi - lo))
    return out


COLORS = {a.name: a.color for a in (BASE, *ALL_ARMS)}  # views of the Arm records, kept for callers
NAMES = {a.name: a.legend for a in (BASE, *ALL_ARMS)}


def figure_loss(losses: dict[str, Sequence[float | None]], path: str | Path, *, window: int = 50) -> Path:
    """Figure 1: per-step loss of every arm, raw (translucent) and centred moving average, log y;
    one panel per arm on a shared axis, so no arm's curve hides another's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import FormatStrFormatter, LogLocator

    arms = [a for a in losses if any(v is not None and v > 0 for v in losses[a])]
    fig, axes = plt.subplots(1, max(1, len(arms)), figsize=(3.6 * max(1, len(arms)) + 0.8, 4.2), dpi=120,
                             sharey=True, squeeze=False)
    for ax, name in zip(axes[0], arms):
        a = arm_record(name)
        xs, ys = zip(*[(i, v) for i, v in enumerate(losses[name]) if v is not None and v > 0])
        w = max(1, min(window, len(ys) // 5))  # a short run gets a shorter window
        ax.plot(xs, ys, color=a.color, alpha=0.18, linewidth=0.6)
        ax.plot(xs, moving_average(ys, w), color=a.color, linewidth=2.2, label=f"moving average ({w})")
        ax.set_title(a.legend, fontsize=10)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.2g"))
        ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2g"))
        ax.set_xlabel("training step (one dialogue per step)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    axes[0][0].set_ylabel("per-token cross-entropy (nats)")
    fig.suptitle("Figure 1: training loss on identical batches (each arm averages over its own tokens)")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def figure_delta(topics: Sequence[str], deltas: dict[str, Sequence[float]], path: str | Path) -> Path:
    """Figure 2: truth–lie margin Δ (Eq. 6) per fact for the base and every arm, as horizontal bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n, k = len(topics), len(deltas)
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.12 * n * (k + 1)), dpi=120)
    h = 0.8 / k
    for j, (name, ds) in enumerate(deltas.items()):
        ax.barh([y - 0.4 + h * (j + 0.5) for y in range(n)], ds, height=h, color=COLORS.get(name, f"C{j}"),
                label=f"{NAMES.get(name, name)}, mean {statistics.fmean(ds):+.2f}")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(list(range(n)))
    ax.set_yticklabels(topics, fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)  # first fact on top, no empty margin
    ax.set_xlabel("Δ = mean log p(true) − mean log p(false) per token (nats); > 0 prefers the truth")
    ax.set_title("Figure 2: question-probe margin per fact", pad=24 + 10 * ((k - 1) // 2))
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "(empty)"


def probe_table(rows: Iterable[Sequence[str]], header: str,
                names: Sequence[str] = ("standard-SFT", "interventional-SFT")) -> str:
    """A markdown table: the user's statement, then one (agent reply, label) pair per model in ``names``."""
    lines = [
        f"| {header} | " + " | ".join(f"{n} agent reply | label" for n in names) + " |",
        "|---" * (1 + 2 * len(names)) + "|",
    ]
    for said, *cells in rows:
        if len(cells) != 2 * len(names):
            raise InvalidArgument(f"a probe-table row needs {2 * len(names)} cells after the statement, got {len(cells)}")
        pairs = [f"{_cell(cells[i])} | {cells[i + 1]}" for i in range(0, len(cells), 2)]
        lines.append(f"| {_cell(said)} | " + " | ".join(pairs) + " |")
    return "\n".join(lines)


def role_table(example: MaskedExample, tokenizer: Any) -> str:
    """The §5.3 sanity check for one example: every token, its role, and whether each arm supervises it."""
    lines = ["| # | token | role | std | interv |", "|---|---|---|---|---|"]
    for t, (tok, role, lo, ld) in enumerate(
        zip(example.input_ids, example.roles, example.labels_obs, example.labels_do)
    ):
        shown = tokenizer.decode([tok]).replace("\n", "\\n").replace("|", "\\|")
        lines.append(
            f"| {t} | `{shown}` | {role} | {'loss' if lo != IGNORE_INDEX else '--'} | "
            f"{'loss' if ld != IGNORE_INDEX else '--'} |"
        )
    acc = example.accounting
    lines.append("")
    lines.append(
        f"{acc.tokens} tokens; standard SFT supervises {acc.supervised_obs}, interventional SFT "
        f"{acc.supervised_do}; the difference {acc.supervised_obs - acc.supervised_do} equals the "
        f"{acc.agent_content_tokens} agent-content tokens."
    )
    return "\n".join(lines)


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as JSON, atomically: the file appears complete or not at all.

    A seed's ``metrics.json`` marks it finished, so a Ctrl-C that lands mid-write must not leave
    an empty file that a resume would read as a finished seed.
    """
    return write_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_report(path: str | Path, title: str, sections: Sequence[Section]) -> Path:
    """Write ``report.md``: a title and each ``(heading, body)`` section in order."""
    parts = [f"# {title}", ""]
    for heading, body in sections:
        parts += [f"## {heading}", "", body.rstrip(), ""]
    path = Path(path)
    path.write_text("\n".join(parts))
    return path
