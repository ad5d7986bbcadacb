"""The entity rules without the model: tag view offsets, windows, reporters, abbreviations."""

from __future__ import annotations

import pytest

from semsearch.embedder.entities import EntityConfig, TaggerConfig
from semsearch.embedder.entities.rules import (
    PaperPlace,
    org_suffix,
    paper_place,
    reporter_spans,
    split_person,
)
from semsearch.embedder.entities.view import tag_view, windows
from semsearch.embedder.settings import Settings


def test_view_drops_ocr_spaces_between_han_and_keeps_offsets() -> None:
    text = "何雄实地观摩了巩义市、上街 区、新 郑市 and 2023 年"
    view = tag_view(text)
    assert "上街区" in view.text and "新郑市" in view.text
    # Spaces next to Latin letters or digits are kept: they separate words there.
    assert "and 2023" in view.text
    start = view.text.index("上街区")
    first, last = view.span(start, start + 3)
    assert text[first:last] == "上街 区"
    assert len(view.origin) == len(view.text)


def test_view_folds_traditional_script_with_original_offsets() -> None:
    text = "臺北市政府與國民黨"
    view = tag_view(text)
    assert view.text == "台北市政府与国民党"
    first, last = view.span(0, 5)
    assert text[first:last] == "臺北市政府"


def test_windows_cut_at_sentence_ends_within_the_limit() -> None:
    text = "甲乙丙丁。" * 10 + "长" * 50
    spans = windows(text, 16)
    assert all(end - start <= 16 for start, end in spans)
    # Whole sentences are packed: three of five characters fit in 16.
    assert spans[0] == (0, 15)
    assert text[spans[0][0] : spans[0][1]].endswith("。")
    covered = sum(end - start for start, end in spans)
    assert covered == len(text)
    assert windows("", 16) == []
    assert windows("短句。", 16) == [(0, 3)]


def test_reporter_list_in_a_byline_lead_is_split_into_names() -> None:
    byline = "本报讯(正观新闻·郑州晚报记者张昕 王际宾董艳竹 王治)"
    names = [byline[start:end] for start, end in reporter_spans(byline)]
    assert names == ["张昕", "王际宾", "董艳竹", "王治"]


def test_reporter_list_on_its_own_line_and_in_traditional_script() -> None:
    line = "本報記者 張昕 王治"
    names = [line[start:end] for start, end in reporter_spans(line)]
    assert names == ["張昕", "王治"]


def test_person_spans_run_together_are_split_at_surnames() -> None:
    assert split_person("张昕王际宾") == [(0, 2), (2, 5)]
    assert split_person("董艳竹王治") == [(0, 3), (3, 5)]
    # One name stays whole: short, compound surname, or no surname at each piece.
    assert split_person("王际宾") == [(0, 3)]
    assert split_person("欧阳修远") == [(0, 4)]
    assert split_person("内塔尼亚胡") == [(0, 5)]
    assert split_person("张昕王际宾", min_chars=6) == [(0, 5)]


@pytest.mark.parametrize(
    ("folded", "resolved"),
    [
        ("市委", "郑州市委"),
        ("市政府", "郑州市政府"),
        ("市人大常委会", "郑州市人大常委会"),
        ("市委宣传部", "郑州市委宣传部"),
        ("省委", None),  # a city paper does not say which province
        ("市场监管局", None),  # 市场 is not 市 + a body
        ("郑州市委", None),  # not bare
    ],
)
def test_bare_abbreviations_resolve_to_a_city_papers_city(
    folded: str, resolved: str | None
) -> None:
    assert PaperPlace("郑州", "city").resolve(folded) == resolved


def test_bare_abbreviations_resolve_to_a_provincial_papers_province() -> None:
    place = PaperPlace("河南", "province")
    assert place.resolve("省委") == "河南省委"
    assert place.resolve("市委") is None


def test_paper_place_from_source_or_byline() -> None:
    places = {"郑州", "河南", "黑龙江", "龙江"}
    is_place = places.__contains__
    assert paper_place(["郑州晚报"], is_place) == PaperPlace("郑州", "city")
    assert paper_place([None, "本报讯(正观新闻·郑州晚报记者张昕)"], is_place) == PaperPlace(
        "郑州", "city"
    )
    assert paper_place(["河南日报"], is_place) == PaperPlace("河南", "province")
    # The longest tail that is a place wins.
    assert paper_place(["黑龙江日报"], is_place) == PaperPlace("黑龙江", "province")
    # A paper named after no place, and a text naming no paper.
    assert paper_place(["人民日报", "新华社"], is_place) is None
    assert paper_place(["鄭州晚報"], is_place) == PaperPlace("郑州", "city")


def test_company_suffixes_after_an_organisation_are_taken_in() -> None:
    assert org_suffix("股份、阿里巴巴") == 2
    assert org_suffix("中心等地") == 2
    assert org_suffix("股份有限公司的") == 6
    assert org_suffix("等地") == 0


def test_entity_config_follows_the_settings() -> None:
    config = EntityConfig.from_settings(Settings(entity_threads=2, entity_batch_size=8))
    assert (config.tagger.threads, config.tagger.batch_size) == (2, 8)
    default = EntityConfig.from_settings(Settings())
    assert (default.tagger.threads, default.tagger.batch_size) == (1, 32)
    with pytest.raises(ValueError, match="threads"):
        TaggerConfig(threads=0)
