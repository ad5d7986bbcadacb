"""Centring article vectors before the same-event test (removing the common news direction).

Embedding models put all news of one language in a narrow cone: with multilingual-e5-small
two unrelated Chinese news articles still score ~0.89 and two different articles from one
newspaper page ~0.96, above most same-event pairs. Subtracting the mean vector of a broad
news sample before the cosine spreads that cone (different seed articles 0.57, an edited
copy 0.99) at the same ROC AUC on the labelled pairs. The centroid is fixed, not taken from
the collection, so a score does not depend on what else the collection holds.
"""

from __future__ import annotations

import base64

import numpy as np

# Mean article vector of the 2,000 SOHU 2021 calibration texts (both sides of the dd and dc
# pairs; labels unused), multilingual-e5-small, float16, base64. Regenerate with
# ``python -m bench.reports`` (it prints the value when it differs).
NEWS_CENTROID_MODEL = "sha256:3db677445f0f61d69f0b0efe52254be6"
NEWS_CENTROID_B64 = (
    "7SrEmfepFaj6LG2gpJrwJo0sBRCbKIKcyCwkp5isrSi6KvWocqasqxco5SJ7qqUpLy10KRCquyheKmOrBqkyqUsp"
    "CassLagoiqqxqS4m4KqHpFAlXCrcLUspliuAphwpOqvApmqmmylkKHYqrSEWrO+m0qwqrU0r5iwFFNAiRSd2Lf4m"
    "LCv5KJWpRKJjpVosOCMqqbwh9pfaKhqnvScgqqisAqlSqDYnLawUKfQqZqsELFAgBip4K2ylO6qFq7Gq/qeMKWws"
    "N56fLL+q6p2/q26qICx+LKirYCe2qeuq7Sn8KLYoQq1YqR+cxKwfKn2rTyg9qbeoPaUkq/iq3CkPJp+m/6AVKAAm"
    "rZ0lJT4ofSyVqxYWqKYKqDColilwqaoqRCm+KI4sNqtwKg6pfyRRq5YqTSkjK5yoWKS7qL8q3Sq7qu6sAaw6qMus"
    "V6xmKfYrBKr9pHWiLym/qesj/iAaLKemaiFiLoAqSqP7pBSs96gQrLejlaksJhAlagJbo4gqUauuqOqn4CEgrD4q"
    "QCeIKugQ66viJjgiMypPprCsVynsqbspPCherc+ssCvgrAYUG50zKmWr+SZDJFmkmCJSriiZ3CupKfelO6oGJ32q"
    "hag3qRWtKKzErYYhyyg0KhCtu4qsq3EgeqweLG2qT6hFKYSk1isEKRGsqamorX+nzSZmLMMt46icJ44nlJ+DLWgr"
    "NCyyHcypvZxFrKueaKl6JDEt16oTqy2oqii4LcKrGKnlKVQoUyR3J5gqxaUGqJEpsKhxpw2oQwx9KcGrnSi7IsSa"
    "BC0vrQcoCKgdnMcpAp5rr/IqSiIAoK4nwys9LpQpyqlgqZwdCylsBkcpAamKp7OpmaYAp26qMCxQKbap2qkDLRAo"
    "wiCRqO+qlyknq32olKooKl+rHqoJKUEu7aLPK7SmQ6wCIkOoXqehJ+aW/6yIIqkrOqYOJ8GodqozLCcqPaxPpwMs"
    "gCkbLPYiFCIcGvMp/qzRK7AoG6tlHtqnOKjdrBgrEqg4qhsphixVKqsq"
)
_EPS = 1e-12


def encode_centroid(vector: np.ndarray) -> str:
    """The base64 float16 form of a centroid, as stored in :data:`NEWS_CENTROID_B64`."""
    return base64.b64encode(np.asarray(vector, dtype=np.float16).tobytes()).decode("ascii")


def news_centroid(fingerprint: str, fallback: np.ndarray) -> np.ndarray:
    """The reference centroid for a model.

    Args:
        fingerprint: The model fingerprint of the vectors.
        fallback: Vectors whose mean is used for another model (then the calibrated
            threshold does not strictly apply).

    Returns:
        ``(dimension,)`` float32.
    """
    if fingerprint == NEWS_CENTROID_MODEL:
        raw = base64.b64decode(NEWS_CENTROID_B64)
        return np.frombuffer(raw, dtype=np.float16).astype(np.float32)
    if len(fallback) == 0:
        return np.zeros(fallback.shape[1] if fallback.ndim == 2 else 0, dtype=np.float32)
    return np.asarray(fallback.mean(axis=0), dtype=np.float32)


def centre(vectors: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    """Subtract ``centroid`` and re-normalise rows.

    Args:
        vectors: ``(n, d)`` L2-normalised vectors.
        centroid: ``(d,)``.

    Returns:
        ``(n, d)`` float32, L2-normalised.
    """
    shifted = np.asarray(vectors, dtype=np.float32) - centroid
    norms = np.maximum(np.linalg.norm(shifted, axis=1, keepdims=True), _EPS)
    return np.ascontiguousarray(shifted / norms, dtype=np.float32)
