"""Embedding speed and quality: plain sentence-transformers fp32 vs semsearch's backends.

Throughput on the first 2,000 People's Daily paragraphs of ``news-112k.jsonl``; quality as
dense nDCG@10 on two BEIR sets, both in the same run on the same threads. Engines take
turns on equal slices of the paragraphs, so a burst of load elsewhere on the machine
falls on all of them rather than on whichever ran at that moment.
Run: ``python -m bench.embed [--quick]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings

from .harness import load_beir, ndcg, news_texts, options, table, write_section

PARAGRAPHS = 2000
QUICK_PARAGRAPHS = 300
QUALITY_SETS = ("sohu2021_dd_retrieval", "xquad_en2zh_q2p")
QUICK_QUERIES = 100
BATCH = 32
# Turns each engine takes over the paragraphs (one slice each per turn).
ROUNDS = 4


def _fp32_model(settings: Settings):  # type: ignore[no-untyped-def]
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(settings.threads)
    return SentenceTransformer(settings.resolved_model(), device="cpu")


def _throughputs(
    engines: dict[str, Callable[[list[str]], np.ndarray]], texts: list[str]
) -> dict[str, float]:
    for encode in engines.values():
        encode(texts[:8])  # warm-up: first calls allocate
    spent = dict.fromkeys(engines, 0.0)
    step = -(-len(texts) // ROUNDS)
    for start in range(0, len(texts), step):
        part = texts[start : start + step]
        for name, encode in engines.items():
            began = time.perf_counter()
            encode(part)
            spent[name] += time.perf_counter() - began
    return {name: len(texts) / seconds for name, seconds in spent.items()}


def _dense_ndcg(encode_q, encode_p, name: str, limit: int | None) -> float:  # type: ignore[no-untyped-def]
    data = load_beir(name, limit_queries=limit)
    ids = list(data.corpus)
    docs = encode_p([f"{t}\n{x}".strip() for t, x in data.corpus.values()])
    qids = list(data.queries)
    scores = encode_q([data.queries[q] for q in qids]) @ docs.T
    rankings = {qid: [ids[i] for i in np.argsort(-scores[row])[:10]] for row, qid in enumerate(qids)}
    return ndcg(data.qrels, rankings, 10)


def main() -> None:
    """Run the benchmark and record it."""
    parser = options(__doc__)
    args = parser.parse_args()
    settings = Settings(cache=False, progress=False)
    texts = news_texts("pd1998_para", QUICK_PARAGRAPHS if args.quick else PARAGRAPHS)
    median_chars = int(np.median([len(t) for t in texts]))

    st = _fp32_model(settings)

    def st_passages(batch: list[str]) -> np.ndarray:
        return st.encode(batch, prompt_name="passage", batch_size=BATCH, normalize_embeddings=True)

    def st_queries(batch: list[str]) -> np.ndarray:
        return st.encode(batch, prompt_name="query", batch_size=BATCH, normalize_embeddings=True)

    fast = Embedder.from_settings(settings)
    int8 = Embedder.from_settings(settings.model_copy(update={"backend": "onnx-int8"}))
    fast_label = f"semsearch default ({fast.backend_name})"
    engines = {"sentence-transformers fp32 (torch)": st_passages, fast_label: fast.embed_passages}
    if fast.backend_name != "onnx-int8":
        engines["semsearch onnx-int8"] = int8.embed_passages
    rates = _throughputs(engines, texts)
    fp32_rate = rates["sentence-transformers fp32 (torch)"]
    rows = [[name, rate, rate / fp32_rate] for name, rate in rates.items()]

    limit = QUICK_QUERIES if args.quick else None
    compared = {fast.backend_name: fast, "onnx-int8": int8}
    quality = []
    for name in QUALITY_SETS:
        base = _dense_ndcg(st_queries, st_passages, name, limit)
        row: list[object] = [name, base]
        for embedder in compared.values():
            ours = _dense_ndcg(embedder.embed_queries, embedder.embed_passages, name, limit)
            row += [ours, ours - base]
        quality.append(row)
    headers = ["set", "fp32"]
    for backend in compared:
        headers += [backend, "difference"]

    body = (
        f"Throughput: {len(texts)} People's Daily paragraphs (median {median_chars} characters), "
        f"{settings.threads} threads, passages/second; engines interleaved in {ROUNDS} rounds.\n\n"
        + table(["engine", "passages/s", "× fp32"], rows)
        + "\n\nDense retrieval quality (exact search, nDCG@10"
        + (f", first {limit} queries" if limit else ", all queries")
        + "):\n\n"
        + table(headers, quality)
    )
    write_section(
        "embed", "Embedding", "python -m bench.embed" + (" --quick" if args.quick else ""), body
    )
    print(body)


if __name__ == "__main__":
    main()
