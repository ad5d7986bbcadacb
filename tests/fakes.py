"""Test doubles: a deterministic, fast embedder conforming to ``embedder.base.TextEmbedder``."""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Sequence

import numpy as np

from semsearch.embedder.records import Article, Paragraph, Passage

FAKE_DIMENSION = 64
NGRAM_SIZES = (1, 2)
_SPACE = re.compile(r"\s+")


class FakeEmbedder:
    """Hashed character n-grams -> L2-normalised vectors; texts sharing n-grams are close.

    ``calls`` counts embedded passages, so tests can see when re-embedding happens.
    """

    def __init__(self, dimension: int = FAKE_DIMENSION, name: str = "fake-ngram") -> None:
        self._dimension = dimension
        self._name = name
        self.calls = 0

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self._name}:{self._dimension}".encode()).hexdigest()

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return 512

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            clean = _SPACE.sub("", text.lower())
            for size in NGRAM_SIZES:
                for i in range(len(clean) - size + 1):
                    gram = clean[i : i + size].encode("utf-8")
                    bucket = zlib.crc32(gram) % self._dimension
                    sign = 1.0 if zlib.adler32(gram) % 2 else -1.0
                    out[row, bucket] += sign
            if not out[row].any():
                out[row, zlib.crc32(text.encode("utf-8")) % self._dimension] = 1.0
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_passages(self, texts: Sequence[str], *, progress: bool | None = None) -> np.ndarray:
        self.calls += len(texts)
        return self._embed(texts)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t) for t in texts]


def make_article(
    article_id: str,
    paragraphs: Sequence[str],
    *,
    title: str | None = None,
    date: str | None = None,
    source: str | None = None,
    section: str | None = None,
    metadata: dict[str, object] | None = None,
) -> tuple[Article, list[Passage]]:
    """Build an article with one passage per paragraph (offsets into the joined text)."""
    text = "\n\n".join(paragraphs)
    paras: list[Paragraph] = []
    passages: list[Passage] = []
    cursor = 0
    for index, body in enumerate(paragraphs):
        paras.append(Paragraph(index=index, text=body, start=cursor, end=cursor + len(body)))
        passages.append(
            Passage(
                article_id=article_id,
                ordinal=index,
                paragraph_index=index,
                start=cursor,
                end=cursor + len(body),
                text=body,
            )
        )
        cursor += len(body) + 2
    article = Article(
        id=article_id,
        title=title if title is not None else f"title {article_id}",
        text=text,
        paragraphs=paras,
        date=date,
        source=source,
        section=section,
        metadata=dict(metadata or {}),
    )
    return article, passages
