"""Figures for the HTML report: matplotlib rendered to inline SVG (self-contained, crisp).

Axis labels stay ASCII: rows and columns of a heatmap are numbered and the HTML lists the
titles, so no CJK font is needed on the machine that renders the figure.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

import matplotlib.pyplot as plt
import numpy as np

HISTOGRAM_BINS = 40
FIGURE_DPI = 96
THRESHOLD_COLOUR = "#c0392b"
# Heatmap tick labels are shown up to this many rows/columns; beyond, every other one.
DENSE_TICKS = 20


def _svg(figure: plt.Figure) -> str:
    buffer = io.StringIO()
    # Text as paths: the SVG looks the same everywhere without font lookups.
    with matplotlib.rc_context({"svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE for inline use


def histogram_svg(scores: np.ndarray, label: str, threshold: float | None) -> str | None:
    """Histogram of similarity scores with the threshold marked.

    Args:
        scores: Scores to plot.
        label: X-axis label.
        threshold: Vertical line position, or None.

    Returns:
        An inline ``<svg>`` element, None without finite scores.
    """
    finite = scores[np.isfinite(scores)]
    if not len(finite):
        return None
    figure, axes = plt.subplots(figsize=(7.5, 3.2), dpi=FIGURE_DPI)
    axes.hist(finite, bins=HISTOGRAM_BINS, color="#4a78a8", edgecolor="white")
    if threshold is not None:
        axes.axvline(threshold, color=THRESHOLD_COLOUR, linestyle="--", linewidth=1.5)
        axes.annotate(
            f"threshold {threshold:.3f}",
            xy=(threshold, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(4, -12),
            textcoords="offset points",
            color=THRESHOLD_COLOUR,
        )
    axes.set_xlabel(label)
    axes.set_ylabel("count")
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def heatmap_svg(matrix: np.ndarray) -> str:
    """Heatmap of a similarity matrix, rows and columns numbered from 1.

    Args:
        matrix: ``(rows, cols)`` similarities.

    Returns:
        An inline ``<svg>`` element.
    """
    rows, cols = matrix.shape
    side = min(9.0, max(3.5, 0.28 * max(rows, cols) + 2))
    figure, axes = plt.subplots(
        figsize=(side + 1.2, side * rows / max(cols, 1) + 0.8), dpi=FIGURE_DPI
    )
    image = axes.imshow(matrix, cmap="viridis", aspect="auto", interpolation="nearest")
    for axis, count in ((axes.set_yticks, rows), (axes.set_xticks, cols)):
        step = 1 if count <= DENSE_TICKS else 2
        positions = list(range(0, count, step))
        axis(positions, [str(p + 1) for p in positions])
    axes.tick_params(labelsize=8)
    figure.colorbar(image, ax=axes, label="cosine")
    return _svg(figure)
