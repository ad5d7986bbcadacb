"""The seed page with the real model: the three queries from the issue."""

from __future__ import annotations

import pytest

from semsearch.index import Collection

FIRST_TITLE = "2023年全市重大项目观摩活动举行"
SECOND_TITLE = "促进数字技术与实体经济深度融合全力以赴打造数字经济发展新高地"


def _first_title(coll: Collection, query: str, mode: str) -> str:
    return coll.search(query, mode=mode, k=3, collapse=True).results[0].title


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_digital_economy_core_industries(seed_collection: Collection, mode: str) -> None:
    hits = seed_collection.search("数字经济 核心产业", mode=mode, k=3, collapse=True).results
    assert hits[0].title == SECOND_TITLE
    assert "<mark>" in hits[0].snippet or mode == "dense"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_major_project_tour(seed_collection: Collection, mode: str) -> None:
    assert _first_title(seed_collection, "重大项目观摩", mode) == FIRST_TITLE


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_english_query_mayor_visit(seed_collection: Collection, mode: str) -> None:
    response = seed_collection.search(
        "the mayor's visit to digital economy companies", mode=mode, k=3, collapse=True
    )
    assert response.results[0].title == SECOND_TITLE
    if mode == "hybrid":
        assert response.lexical_weight == 0.0  # English over Chinese: lexical side skipped
