"""The passages a parsed query's phrases, ``+must`` parts and exclusions let through.

Private: :func:`index._ranking.collect` and :mod:`index._matchset` call
:func:`constrained_ids` inside a read snapshot.

A text matches a passage when its characters occur in order in the passage text or its
article's title, whatever whitespace lies between them (OCR column breaks) and however
jieba segmented either side: the same pattern the snippets highlight with decides. With
the bigram analyzer an FTS5 phrase query over the text's character bigrams finds the
candidates fast; otherwise (a one-character text, the legacy analyzer) every passage is a
candidate. Either way each candidate is verified against its stored text.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from semsearch.embedder.folding import fold_script
from semsearch.index import lexical, store
from semsearch.index.query import ParsedQuery
from semsearch.index.snippets import term_regex

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
# Keeps a title and its passage apart so a text cannot match across the two.
_SEPARATOR = "\x00"


def constrained_ids(conn: Any, parsed: ParsedQuery, tombstones: np.ndarray) -> np.ndarray | None:
    """Live passages satisfying every required clause, outside every excluded article.

    Args:
        conn: Connection of the read snapshot.
        parsed: The parsed query.
        tombstones: Deleted passage ids of the snapshot.

    Returns:
        Sorted passage ids, or None when the query has no constraint.
    """
    if not parsed.constrained:
        return None
    analyzer = lexical.analyzer(store.analyzer_name(conn))
    allowed: np.ndarray | None = None
    for clause in parsed.required:
        ids = np.unique(
            np.concatenate([_matching(conn, analyzer, text) for text in clause])
        )
        allowed = ids if allowed is None else np.intersect1d(allowed, ids, assume_unique=True)
    if allowed is None:
        allowed = np.asarray(store.all_passage_ids(conn), dtype=np.int64)
    if parsed.excluded:
        hit = np.unique(np.concatenate([_matching(conn, analyzer, t) for t in parsed.excluded]))
        articles = set(store.article_ids_of(conn, hit.tolist()).values())
        dropped = np.asarray(store.passage_ids_of(conn, sorted(articles)), dtype=np.int64)
        allowed = np.setdiff1d(allowed, dropped, assume_unique=False)
    return np.setdiff1d(allowed, tombstones)


def _matching(conn: Any, analyzer: lexical.Analyzer, text: str) -> np.ndarray:
    """Ids of passages whose text or title holds ``text`` (in either Chinese script)."""
    # Folded on both sides, as the highlights are: a simplified phrase holds in a
    # traditional-script passage that the folding analyzer already returned as a candidate.
    pattern = term_regex([fold_script(text)])
    if pattern is None:
        return np.zeros(0, dtype=np.int64)
    match = _candidate_match(analyzer, text)
    rows = store.passage_texts(conn, match)
    found = [pid for pid, body, title in rows if pattern.search(fold_script(f"{title}{_SEPARATOR}{body}"))]
    return np.asarray(found, dtype=np.int64)


def _candidate_match(analyzer: lexical.Analyzer, text: str) -> str | None:
    """An FTS5 expression every passage holding ``text`` matches (None: scan them all)."""
    if not analyzer.bigrams:
        return None  # jieba alone may segment the text differently in context
    # The index holds the folding analyzer's bigrams in simplified script.
    normal = lexical.normalise(fold_script(text) if analyzer.fold else text)
    parts: list[str] = []
    runs = _CJK_RUN.findall(normal)
    for run in runs:
        if len(run) < 2:
            return None  # a lone character has no bigram to look up
        grams = " ".join(run[i : i + 2] for i in range(len(run) - 1))
        parts.append(f'"{grams}"')
    if not runs:
        # Only when no Chinese is next to them: jieba may cut ``5G网络`` apart in context.
        parts.extend('"' + w.replace('"', '""') + '"' for w in lexical.tokenize(normal))
    return " AND ".join(parts) if parts else None
