"""A figure drawn off screen without touching matplotlib's global state.

The ``plot_*`` functions draw on a :class:`matplotlib.figure.Figure` with its own Agg canvas, so
they work on a headless machine and never switch the caller's backend (no ``matplotlib.use``)
nor register the figure with pyplot (nothing to close, no figure left open in a notebook).
"""

from __future__ import annotations

from typing import Any

__all__ = ["offscreen_figure"]


def offscreen_figure(nrows: int = 1, ncols: int = 1, **figure_options: Any) -> tuple[Any, Any]:
    """``(figure, axes)`` like ``pyplot.subplots``, on a private Agg canvas (``figure.savefig`` works)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**figure_options)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols)
