"""Cross-lingual reuse on NTREX: is each English article's Chinese translation its rank-1 match?

``python -m bench.reuse_crosslingual`` rebuilds the 123 NTREX articles from
``../shared/eval/ntrex_en2zh_sentence`` (sentence ``qN`` is the English of ``sN``) and
``ntrex_en_headline2zh_doc`` (which sentences make each article), cuts each article into
passages of :data:`SENTENCES_PER_PASSAGE` sentences, embeds them with the bundled model and
ranks the 123 Chinese articles for each English one two ways: the cosine of article mean
vectors (what ``related`` uses), and passage by passage (each English passage's best
Chinese passage cosine, averaged). Writes docs/bench/8b-reuse-crosslingual.md.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

from bench.common import SHARED, table, write_section
from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings

SENTENCES_PER_PASSAGE = 3


def _jsonl(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8") as handle:
        return {row["_id"]: row["text"] for row in map(json.loads, handle)}


def articles() -> list[tuple[str, list[str], list[str]]]:
    """``(doc_id, english sentences, chinese sentences)`` of every NTREX article."""
    root = SHARED / "eval"
    zh = _jsonl(str(root / "ntrex_en2zh_sentence" / "corpus.jsonl"))
    en = _jsonl(str(root / "ntrex_en2zh_sentence" / "queries.jsonl"))
    bodies: dict[str, list[int]] = {}
    with (root / "ntrex_en_headline2zh_doc" / "qrels.tsv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            doc, sentence, _ = line.rstrip("\n").split("\t")
            bodies.setdefault(doc, []).append(int(sentence[1:]))
    out = []
    for doc, numbers in bodies.items():
        # The headline is the sentence just before the body.
        ordered = [min(numbers) - 1, *sorted(numbers)]
        out.append((doc, [en[f"q{n}"] for n in ordered], [zh[f"s{n}"] for n in ordered]))
    return out


def _passages(sentences: list[str], joiner: str) -> list[str]:
    step = SENTENCES_PER_PASSAGE
    return [joiner.join(sentences[i : i + step]) for i in range(0, len(sentences), step)]


def main() -> None:
    docs = articles()
    embedder = Embedder.from_settings(Settings(progress=False))
    en_passages = [_passages(e, " ") for _, e, _ in docs]
    zh_passages = [_passages(z, "") for _, _, z in docs]
    started = time.perf_counter()
    en_vectors = embedder.embed_passages([p for ps in en_passages for p in ps])
    zh_vectors = embedder.embed_passages([p for ps in zh_passages for p in ps])
    seconds = time.perf_counter() - started
    en_split = np.cumsum([len(ps) for ps in en_passages])[:-1]
    zh_split = np.cumsum([len(ps) for ps in zh_passages])[:-1]
    en_docs = np.split(np.asarray(en_vectors, dtype=np.float32), en_split)
    zh_docs = np.split(np.asarray(zh_vectors, dtype=np.float32), zh_split)

    def mean(rows: np.ndarray) -> np.ndarray:
        m = rows.mean(axis=0)
        return m / np.linalg.norm(m)

    en_means = np.stack([mean(d) for d in en_docs])
    zh_means = np.stack([mean(d) for d in zh_docs])
    article_scores = en_means @ zh_means.T
    passage_scores = np.asarray(
        [[float((e @ z.T).max(axis=1).mean()) for z in zh_docs] for e in en_docs]
    )
    n = len(docs)
    rows = []
    for name, scores in (
        ("article mean vectors", article_scores),
        ("passage by passage", passage_scores),
    ):
        rank1 = int((scores.argmax(axis=1) == np.arange(n)).sum())
        right = scores[np.arange(n), np.arange(n)]
        masked = scores.copy()
        masked[np.arange(n), np.arange(n)] = -np.inf
        margin = right - masked.max(axis=1)
        rows.append(
            [
                name,
                f"{rank1}/{n} = {rank1 / n:.1%}",
                float(np.median(right)),
                float(np.median(margin)),
                float(margin.min()),
            ]
        )
    load = os.getloadavg()[0]
    body = f"""
{n} NTREX-128 articles (WMT19 newstest), English original vs human Chinese translation, each
cut into passages of {SENTENCES_PER_PASSAGE} sentences ({sum(map(len, en_passages))} English,
{sum(map(len, zh_passages))} Chinese passages), embedded with the bundled model
({embedder.model_name}, {seconds:.0f} s for all passages; load average {load:.1f} on the
shared 2-core machine). For each English article, the 123 Chinese articles ranked by:

{table(["score", "translation at rank 1", "median score of the translation", "median margin over the best other", "smallest margin"], rows)}

Measurement only: the `reuse` report does not yet emit cross-lingual links (its candidates
and rules are character-based); this shows the passage vectors such a level would use.
"""
    write_section(
        "8b-reuse-crosslingual",
        "Cross-lingual reuse: NTREX articles",
        "python -m bench.reuse_crosslingual",
        body,
    )
    print(body)


if __name__ == "__main__":
    main()
