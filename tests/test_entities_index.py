"""Named entities in a collection with the fake embedder and a dictionary tagger: storage,
engine facets and filters before the top-k cut, entity pages, deletes and enrich."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from semsearch.index import (
    Collection,
    Filters,
    IndexConfig,
    MatchConfig,
    SearchRequest,
    parse_entity,
)
from semsearch.index.errors import InputError
from semsearch.index.filters import entity_key
from tests.fake_tagger import fake_extractor
from tests.fakes import FakeEmbedder, make_article


def _corpus() -> list:
    return [
        make_article(
            "a1",
            ["何雄到巩义市调研数字经济", "阿里巴巴 项目 落地 巩义市"],
            title="何雄调研",
            date="2023-04-18",
            source="zzwb",
        ),
        make_article(
            "a2",
            ["何雄 观摩 管城区 项目", "李明 陪同 观摩 数字经济"],
            date="2023-04-19",
            source="zzwb",
        ),
        make_article("a3", ["蚂蚁集团 在 郑州 发布 数字经济 报告"], date="2023-05-02", source="wire"),
        make_article("a4", ["天气 晴朗 气温 回升"], date="2023-05-03", source="wire"),
    ]


@pytest.fixture()
def coll(tmp_path: Path) -> Iterator[Collection]:
    c = Collection.create(tmp_path / "c", FakeEmbedder(), entities=fake_extractor())
    c.upsert(_corpus())
    yield c
    c.close()


def _facet(response_facets: dict, name: str) -> dict[str, int]:
    return {v["value"]: v["count"] for v in response_facets[name]}


@pytest.mark.parametrize("mode", ["lexical", "hybrid", "dense"])
def test_entity_facets_count_matching_articles_per_name(coll: Collection, mode: str) -> None:
    response = coll.run(
        SearchRequest(query="数字经济", mode=mode, facets=("person", "place", "org"), k=1)
    )
    # Over the whole match set, not the one hit shown.
    assert len(response.results) == 1
    people = _facet(response.facets or {}, "person")
    places = _facet(response.facets or {}, "place")
    if mode == "lexical":
        assert people == {"何雄": 2, "李明": 1}
        assert places == {"巩义市": 1, "管城区": 1, "郑州": 1}
        assert _facet(response.facets or {}, "org") == {"阿里巴巴": 1, "蚂蚁集团": 1}
    # Every count is of articles: 何雄 is in two passages of a1 and one of a2.
    assert set(people.values()) <= {1, 2}


def test_entity_filter_keeps_articles_naming_it_before_the_cut(coll: Collection) -> None:
    only = Filters(entities=[parse_entity("person:何雄")])
    response = coll.run(SearchRequest(query="数字经济", mode="lexical", filters=only, count=True))
    assert {h.article_id for h in response.results} == {"a1", "a2"}
    assert response.total == 2
    # Several entities: an article must name them all.
    both = Filters(entities=[parse_entity("person:何雄"), parse_entity("place:管城区")])
    response = coll.run(SearchRequest(query="项目", mode="hybrid", filters=both, k=10))
    assert {h.article_id for h in response.results} == {"a2"}
    none = Filters(entities=[parse_entity("org:不存在的公司")])
    assert coll.run(SearchRequest(query="数字经济", mode="hybrid", filters=none)).results == []


def test_entity_filter_reads_traditional_script_and_ocr_spaces() -> None:
    assert parse_entity("person:何 雄") == ("person", "何雄")
    assert parse_entity("place:鞏義市") == ("place", "巩义市")
    assert entity_key(" 阿里巴巴 ") == "阿里巴巴"
    for bad in ("何雄", "people:何雄", "person:", "person:" + "名" * 101):
        with pytest.raises(InputError):
            parse_entity(bad)


def test_entity_page_counts_timeline_companions_and_latest(coll: Collection) -> None:
    page = coll.entity("person", "何雄")
    assert page is not None
    assert page.entity.articles == 2
    assert page.months == [("2023-04", 2)]
    companions = {(e.type, e.name): e.articles for e in page.cooccurring}
    assert companions[("place", "巩义市")] == 1 and companions[("person", "李明")] == 1
    assert ("person", "何雄") not in companions
    assert [a["id"] for a in page.latest] == ["a2", "a1"]
    assert page.latest[1]["mentions"] == 2  # the title and the first passage of a1
    assert coll.entity("person", "无名氏") is None
    top = coll.top_entities("person")
    assert [(e.name, e.articles) for e in top] == [("何雄", 2), ("李明", 1)]
    with pytest.raises(InputError):
        coll.top_entities("people")


def test_deleting_and_replacing_articles_drops_their_entities(coll: Collection) -> None:
    coll.delete(["a2"])
    page = coll.entity("person", "何雄")
    assert page is not None and page.entity.articles == 1
    assert coll.entity("person", "李明") is None
    response = coll.run(SearchRequest(query="数字经济", mode="lexical", facets=("person",)))
    assert _facet(response.facets or {}, "person") == {"何雄": 1}
    # New text: the old names go, the new ones come.
    coll.upsert([make_article("a1", ["李明 考察 郑州"], date="2023-06-01")])
    assert coll.entity("person", "何雄") is None
    filtered = coll.run(
        SearchRequest(query="考察", mode="lexical", filters=Filters(entities=[("person", "李明")]))
    )
    assert [h.article_id for h in filtered.results] == ["a1"]


def test_enrich_tags_a_collection_built_without_entities(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    with Collection.create(tmp_path / "c", embedder) as plain:
        plain.upsert(_corpus())
        assert plain.top_entities() == []
        calls = embedder.calls
        report = plain.enrich(fake_extractor(), batch_articles=3, limit=3)
        assert (report.articles, report.remaining) == (3, 1)
        report = plain.enrich(fake_extractor())
        assert (report.articles, report.remaining) == (1, 0)
        assert embedder.calls == calls  # nothing embedded again
        assert plain.enrich(fake_extractor()).articles == 0
        assert plain.enrich(fake_extractor(), everything=True).articles == 4
        response = plain.run(
            SearchRequest(
                query="数字经济", mode="lexical", facets=("org",),
                filters=Filters(entities=[("org", "蚂蚁集团")]),
            )
        )
        assert [h.article_id for h in response.results] == ["a3"]
        assert _facet(response.facets or {}, "org") == {"蚂蚁集团": 1}
    # The engine's names survive reopening (they are in its committed documents).
    with Collection.open(tmp_path / "c", embedder, read_only=True) as again:
        response = again.run(SearchRequest(query="项目", mode="lexical", facets=("person",)))
        assert _facet(response.facets or {}, "person") == {"何雄": 2, "李明": 1}


def test_an_article_matching_twice_counts_once(coll: Collection) -> None:
    # Both passages of a1 name 巩义市 and hold the word: one article.
    response = coll.run(SearchRequest(query="巩义市", mode="lexical", facets=("place", "person")))
    assert response.total_passages == 2 and response.total == 1
    assert _facet(response.facets or {}, "place") == {"巩义市": 1}
    assert _facet(response.facets or {}, "person") == {"何雄": 1}


def test_above_the_counting_limit_entity_facets_are_estimates(tmp_path: Path) -> None:
    config = IndexConfig(match=MatchConfig(count_limit=1))
    with Collection.create(
        tmp_path / "c", FakeEmbedder(), entities=fake_extractor(), config=config
    ) as c:
        c.upsert(_corpus())
        response = c.run(SearchRequest(query="数字经济", mode="lexical", facets=("person",)))
        assert response.total_relation == "approx"
        assert _facet(response.facets or {}, "person") == {"何雄": 2, "李明": 1}


def test_a_write_tags_its_articles_in_batches_as_each_would_be_alone(tmp_path: Path) -> None:
    names = ["何雄", "李明", "巩义市", "管城区", "郑州", "阿里巴巴", "蚂蚁集团"]
    corpus = [
        make_article(f"b{i}", [f"{names[i % 7]} 调研 {names[(i * 3) % 7]} 项目", f"第{i}段"])
        for i in range(70)  # three passes of the tagger
    ]
    # The same id twice in one pass, the second text wins.
    corpus.insert(5, make_article("b1", ["张昕 报道 郑州 天气"]))
    together = Collection.create(tmp_path / "together", FakeEmbedder(), entities=fake_extractor())
    alone = Collection.create(tmp_path / "alone", FakeEmbedder(), entities=fake_extractor())
    try:
        together.upsert(corpus)
        for item in corpus:
            alone.upsert([item])
        listed = together.top_entities(limit=100)
        assert listed == alone.top_entities(limit=100) and len(listed) == 8
        for ref in listed:
            assert together.entity(ref.type, ref.name) == alone.entity(ref.type, ref.name)
    finally:
        together.close()
        alone.close()
