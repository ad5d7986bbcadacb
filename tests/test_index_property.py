"""Search results against brute-force numpy under random add/replace/delete sequences."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch.index import Collection
from semsearch.index.config import IndexConfig, KindPolicy, MergePolicy
from tests.fakes import FakeEmbedder, make_article

WORDS = ["经济", "项目", "数字", "产业", "城市", "交通", "mayor", "economy", "2023", "科技", "人才", "市场"]
# Quantised kinds reorder near-ties; a returned hit may fall this far below the exact k-th.
# SQ8 here is trained on a dozen vectors, so later vectors outside the trained per-dimension
# range are clipped: a loose bound (real data trains on far more; bench/index.py measures).
SCORE_TOLERANCE = {"flat": 1e-5, "hnsw": 1e-5, "hnsw_sq8": 0.1, "hnsw_fp16": 2e-3, "ivf_flat": 1e-5, "ivf_sq8": 0.1}
# Small IVF so every list is probed: results must then be exact up to quantisation.
KIND_PARAMS = {"ivf_flat": {"nlist": 2, "nprobe": 2}, "ivf_sq8": {"nlist": 2, "nprobe": 2}}

paragraph = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
operation = st.one_of(
    st.tuples(st.just("upsert"), st.integers(0, 9), st.lists(paragraph, min_size=1, max_size=4)),
    st.tuples(st.just("delete"), st.integers(0, 9), st.just([])),
)


def _check_against_numpy(coll: Collection, live: dict[str, list[str]], kind: str) -> None:
    embedder = coll.embedder
    assert embedder is not None
    texts = [(aid, i, t) for aid, paras in live.items() for i, t in enumerate(paras)]
    for query in ("经济 项目", "mayor economy 2023", "科技 人才"):
        response = coll.search(query, mode="dense", k=5)
        hits = response.results
        assert len(hits) == min(5, len(texts))
        assert all(h.article_id in live and live[h.article_id][h.ordinal] == h.text for h in hits)
        if not texts:
            continue
        qv = embedder.embed_queries([query])[0]
        exact = np.sort(embedder.embed_passages([t for _, _, t in texts]) @ qv)[::-1]
        kth = exact[min(5, len(exact)) - 1]
        for hit in hits:
            true_score = float(embedder.embed_passages([hit.text])[0] @ qv)
            assert true_score >= kth - SCORE_TOLERANCE[kind]
    assert coll.check().ok
    info = coll.info()
    assert info.articles == len(live) and info.passages == len(texts)


# "tight": fold every two segments of a tier and seal from 6 vectors, so a few writes
# give multi-segment collections with merged, sealed (of each kind) and appendable parts.
# "background": the same, merged by the collection's thread while the test writes and reads.
POLICIES = {
    "default": MergePolicy(),
    "tight": MergePolicy(merge_factor=2, seal_vectors=6),
    "background": MergePolicy(merge_factor=2, seal_vectors=6),
}


@pytest.mark.parametrize("policy", list(POLICIES))
@pytest.mark.parametrize("kind", list(SCORE_TOLERANCE))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=8))
def test_random_updates_match_bruteforce(
    kind: str, policy: str, ops: list
) -> None:
    config = IndexConfig(merge=POLICIES[policy])
    with tempfile.TemporaryDirectory() as tmp:
        coll = Collection.create(
            Path(tmp) / "c",
            FakeEmbedder(),
            kind=kind,
            params=KIND_PARAMS.get(kind),
            background_merges=policy == "background",
            config=config,
        )
        live: dict[str, list[str]] = {}
        # Seed enough vectors to train IVF lists.
        seed = [make_article(f"s{i}", [f"{WORDS[i % 12]} {WORDS[(i * 5) % 12]}"]) for i in range(12)]
        coll.upsert(seed)
        live.update({a.id: [p.text for p in ps] for a, ps in seed})
        for op, number, paragraphs in ops:
            aid = f"a{number}"
            if op == "upsert":
                coll.upsert([make_article(aid, paragraphs)])
                live[aid] = list(paragraphs)
            else:
                coll.delete([aid])
                live.pop(aid, None)
        _check_against_numpy(coll, live, kind)  # background merges may still be running
        assert coll.wait_for_merges(60)
        _check_against_numpy(coll, live, kind)
        if policy != "default":  # the 12 seed vectors were sealed as the collection's kind
            assert any(s["sealed"] and s["kind"] == kind for s in coll.info().segments)
        coll.close()
        reopened = Collection.open(Path(tmp) / "c", FakeEmbedder(), config=config)
        _check_against_numpy(reopened, live, kind)
        reopened.close()


def test_automatic_kind_by_size() -> None:
    kinds = KindPolicy()
    choose_kind, flat_max, float_max = kinds.choose, kinds.flat_max_vectors, kinds.float_max_vectors

    assert choose_kind(0) == choose_kind(flat_max) == "flat"
    assert choose_kind(flat_max + 1) == choose_kind(float_max) == "hnsw"
    # Float HNSW would pass 1 GB near here; half-precision codes keep 1M within it.
    assert choose_kind(float_max + 1) == choose_kind(1_000_000) == "hnsw_fp16"
