"""The seed page with the real model: the three queries from the issue."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from embedder.records import Article, Passage
from index import Collection
from tests.fakes import make_article

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "samples" / "zhengzhou-evening-news-2023-04-20.txt"
# The second article starts at this headline on the seed page.
SECOND_HEADLINE = "何雄调研数字经济发展时强调"
BANNER_PARAGRAPHS = 2


def _seed_articles() -> list[tuple[Article, list[Passage]]]:
    """Two articles from the seed page (blank-line split; banners dropped)."""
    blocks = [b.strip() for b in SEED.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    blocks = blocks[BANNER_PARAGRAPHS:]
    cut = blocks.index(SECOND_HEADLINE)
    first, second = blocks[:cut], blocks[cut:]
    return [
        make_article("zzwb-2023-04-20-1", first[1:], title=first[0], date="2023-04-20", source="郑州晚报"),
        make_article("zzwb-2023-04-20-2", second[1:], title=second[0], date="2023-04-20", source="郑州晚报"),
    ]


def _real_embedder() -> object:
    model_dir = os.environ.get("SEMSEARCH_MODEL_DIR")
    if not model_dir or not Path(model_dir).exists():
        pytest.skip("SEMSEARCH_MODEL_DIR not set or missing: the real model is needed")
    try:
        from embedder.embedder import Embedder  # type: ignore[import-not-found]
        from embedder.settings import Settings

        return Embedder.from_settings(Settings(model=model_dir))
    except ImportError:
        from tests.fakes import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(model_dir)


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Collection:
    coll = Collection.create(tmp_path_factory.mktemp("seed") / "c", _real_embedder())  # type: ignore[arg-type]
    coll.upsert(_seed_articles())
    yield coll
    coll.close()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_digital_economy_core_industries(seed: Collection, mode: str) -> None:
    hits = seed.search("数字经济 核心产业", mode=mode, k=3, collapse=True).results
    assert hits[0].article_id == "zzwb-2023-04-20-2"
    assert "<mark>" in hits[0].snippet or mode == "dense"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_major_project_tour(seed: Collection, mode: str) -> None:
    assert seed.search("重大项目观摩", mode=mode, k=3, collapse=True).results[0].article_id == "zzwb-2023-04-20-1"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_english_query_mayor_visit(seed: Collection, mode: str) -> None:
    response = seed.search(
        "the mayor's visit to digital economy companies", mode=mode, k=3, collapse=True
    )
    assert response.results[0].article_id == "zzwb-2023-04-20-2"
    if mode == "hybrid":
        assert response.lexical_weight == 0.0  # English over Chinese: lexical side skipped
