"""The same-event rule: centred-cosine pairs from an article k-NN search.

Shared by ``duplicates`` (same-event groups) and ``reuse`` (``same_event`` links).
"""

from __future__ import annotations

import numpy as np

from semsearch.service.reports import knn

# Calibrated on the 1,000 labelled SOHU 2021 news pairs (../shared/eval/pairs/sohu2021-dd-
# and -dc-test.jsonl; label 5 = same event is positive, 3 and 0 negative) with the bundled
# multilingual-e5-small (onnx-int8), article vectors built as for reports and centred on the
# news centroid: the threshold maximising F1 (0.3318; dd half alone 0.417, dc half 0.317).
# Measured at 0.332: precision 0.615, recall 0.892, F1 0.728; ROC AUC 0.807 (dd 0.850, dc
# 0.778). Caveat: two different articles of one newspaper page score 0.57, above this; the
# score separates an edited copy (0.985) from them but SOHU same-event pairs do not.
# Reproduce with ``python -m bench.reports`` (docs/bench/reports.md).
DUPLICATE_THRESHOLD = 0.332
# A pair links only when its score is within this margin of each end's best match: an
# article with a near-copy (centred cosine ~0.98) is not also grouped with an article that is
# merely on the same topic or page (~0.57 for the seed page's two stories, which SOHU-level
# thresholds cannot tell from same-event pairs). Same-event groups without a copy have
# similar pairwise scores and are unaffected.
RELATIVE_MARGIN = 0.3
# Neighbours examined per article: a group larger than this is still found, as each member
# links to some of the others.
EVENT_CANDIDATES = 10


def event_pairs(found: knn.Neighbours, threshold: float) -> dict[tuple[int, int], float]:
    """Same-event pairs ``(i, j)``, ``i < j``, of a k-NN result over event vectors.

    A pair holds when its centred cosine reaches ``threshold`` and lies within
    :data:`RELATIVE_MARGIN` of both ends' best match.

    Args:
        found: Article k-NN result over centred vectors (self excluded).
        threshold: Same-event threshold.

    Returns:
        Score by pair.
    """
    rows, cols = np.nonzero((found.scores >= threshold) & (found.ids >= 0))
    best = found.scores.max(axis=1, initial=-np.inf) if found.scores.size else found.scores
    candidates: dict[tuple[int, int], float] = {}
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        j = int(found.ids[r, c])
        score = float(found.scores[r, c])
        if score >= max(best[r], best[j]) - RELATIVE_MARGIN:
            candidates[(min(r, j), max(r, j))] = score
    return candidates
