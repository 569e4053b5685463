"""A figure drawn off screen without touching matplotlib's global state.

The ``plot_*`` functions draw on a :class:`matplotlib.figure.Figure` with its own Agg canvas, so
they work on a headless machine and never switch the caller's backend (no ``matplotlib.use``)
nor register the figure with pyplot (nothing to close, no figure left open in a notebook).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._checks import expect_path
from .errors import InvalidArgument

__all__ = ["offscreen_figure", "save_figure"]


def offscreen_figure(nrows: int = 1, ncols: int = 1, **figure_options: Any) -> tuple[Any, Any]:
    """``(figure, axes)`` like ``pyplot.subplots``, on a private Agg canvas (``figure.savefig`` works)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**figure_options)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols)


def save_figure(fig: Any, path: str | os.PathLike, **savefig_options: Any) -> Path:
    """``fig.savefig(path)``, with a one-line :class:`InvalidArgument` naming the path when it
    cannot be written (a missing or unwritable folder, a directory in its place) instead of
    matplotlib's traceback. Returns the path."""
    out = Path(expect_path(path, "the figure's path"))
    if not str(os.fspath(path)).strip():
        raise InvalidArgument("the figure's path is empty: name a file such as run.png")
    suffix = out.suffix[1:].lower()
    known = fig.canvas.get_supported_filetypes()
    if suffix and suffix not in known:
        raise InvalidArgument(f"cannot write the figure to {str(out)!r}: matplotlib has no {suffix!r} format "
                              f"(use one of {', '.join(sorted(known))}, e.g. .png)")
    if out.is_dir():
        raise InvalidArgument(f"cannot write the figure to {str(out)!r}: it is a directory")
    folder = out.parent
    if not folder.is_dir():
        raise InvalidArgument(f"cannot write the figure to {str(out)!r}: the folder {str(folder)!r} does not exist")
    # written whole or not at all, and never through a link: a temporary file in the same folder
    # replaces the name (a symbolic link there is replaced, its target left alone)
    partial = out.with_name(out.name + ".partial")
    savefig_options.setdefault("format", suffix or "png")
    try:
        fig.savefig(partial, **savefig_options)
        os.replace(partial, out)
    except OSError as exc:
        raise InvalidArgument(f"cannot write the figure to {str(out)!r}: {exc.strerror or exc}") from None
    finally:
        if os.path.lexists(partial):
            os.unlink(partial)
    return out
