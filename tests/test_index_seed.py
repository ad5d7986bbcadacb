"""The seed page with the real model: the three queries from the issue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from embedder.embedder import Embedder
from embedder.ingest import iter_articles
from embedder.passages import cut_passages
from index import Collection

from .conftest import SEED

FIRST_TITLE = "2023年全市重大项目观摩活动举行"
SECOND_TITLE = "促进数字技术与实体经济深度融合全力以赴打造数字经济发展新高地"


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Iterator[Collection]:
    """The seed page read, cleaned and cut as `semsearch ingest` does, indexed for real."""
    coll = Collection.create(tmp_path_factory.mktemp("seed") / "c", real_embedder)
    coll.upsert(
        (
            article,
            cut_passages(
                article,
                count_tokens=real_embedder.count_tokens,
                max_tokens=real_embedder.max_tokens,
            ),
        )
        for article in iter_articles([SEED])
    )
    yield coll
    coll.close()


def _first_title(coll: Collection, query: str, mode: str) -> str:
    return coll.search(query, mode=mode, k=3, collapse=True).results[0].title


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_digital_economy_core_industries(seed: Collection, mode: str) -> None:
    hits = seed.search("数字经济 核心产业", mode=mode, k=3, collapse=True).results
    assert hits[0].title == SECOND_TITLE
    assert "<mark>" in hits[0].snippet or mode == "dense"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_major_project_tour(seed: Collection, mode: str) -> None:
    assert _first_title(seed, "重大项目观摩", mode) == FIRST_TITLE


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_english_query_mayor_visit(seed: Collection, mode: str) -> None:
    response = seed.search(
        "the mayor's visit to digital economy companies", mode=mode, k=3, collapse=True
    )
    assert response.results[0].title == SECOND_TITLE
    if mode == "hybrid":
        assert response.lexical_weight == 0.0  # English over Chinese: lexical side skipped
