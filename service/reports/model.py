"""The report every kind produces and every writer consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Passage text shown next to a match: enough to see why, short enough for a table cell.
SNIPPET_CHARS = 160
# Above this many articles (or queries) a heatmap is unreadable and is left out.
HEATMAP_MAX = 40


@dataclass(frozen=True, kw_only=True)
class Heatmap:
    """A small similarity matrix; rows and columns are numbered, titles listed apart."""

    row_titles: list[str]
    col_titles: list[str]
    matrix: np.ndarray
    caption: str


@dataclass(kw_only=True)
class Report:
    """A finished report: machine rows and records plus what the HTML page shows.

    ``rows`` (flat, one per CSV line, keys = ``columns``) and ``records`` (nested, one per
    JSONL line) carry the same information; ``scores`` feed the histogram.
    """

    kind: str
    title: str
    summary: dict[str, Any]
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    records: list[dict[str, Any]]
    scores: np.ndarray
    score_label: str
    threshold: float | None = None
    heatmap: Heatmap | None = None
    notes: list[str] = field(default_factory=list)
    # Article texts by id for pages that show them (``reuse``); not written to CSV/JSONL.
    texts: dict[str, str] = field(default_factory=dict)


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis.

    Args:
        text: Passage text.
        limit: Maximum characters.

    Returns:
        The snippet.
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def score_summary(scores: np.ndarray) -> dict[str, float | None]:
    """Median and quartiles of a score sample, rounded for display.

    Args:
        scores: Scores (may be empty; non-finite values ignored).

    Returns:
        ``{"score_p25", "score_median", "score_p75"}``, None when empty.
    """
    finite = scores[np.isfinite(scores)]
    if not len(finite):
        return {"score_p25": None, "score_median": None, "score_p75": None}
    p25, p50, p75 = np.percentile(finite, [25, 50, 75])
    return {
        "score_p25": round(float(p25), 4),
        "score_median": round(float(p50), 4),
        "score_p75": round(float(p75), 4),
    }
