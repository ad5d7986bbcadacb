"""The general repairs of the tagger's spans (embedder/entities/repair.py), without the model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from semsearch.embedder.entities import EntityConfig, EntityExtractor, EntityType
from semsearch.embedder.entities.model import Span
from semsearch.embedder.entities.repair import RepairConfig, repair_spans

ON = RepairConfig()


def _words(text: str, spans: list[Span]) -> list[tuple[str, str]]:
    return [(span.label, text[span.start : span.end]) for span in spans]


def _spans(*words: tuple[str, str]) -> tuple[str, list[Span]]:
    """Text and covering spans from (label, word) pairs."""
    spans, cursor = [], 0
    for label, word in words:
        spans.append(Span(label, cursor, cursor + len(word)))
        cursor += len(word)
    return "".join(word for _, word in words), spans


def _covers(text: str, spans: list[Span]) -> bool:
    return [s.start for s in spans[1:]] == [s.end for s in spans[:-1]] and spans[-1].end == len(
        text
    )


@pytest.mark.parametrize(
    ("words", "name"),
    [
        # person · person
        (
            (("n", "主谋"), ("PER", "哈马"), ("w", "·"), ("PER", "阿马杜"), ("w", "。")),
            "哈马·阿马杜",
        ),
        # person · plain word
        ((("n", "总理"), ("PER", "川"), ("w", "·"), ("n", "立派"), ("v", "表示")), "川·立派"),
        # the dot glued to the word after it
        ((("p", "以"), ("PER", "约翰"), ("w", "·加朗"), ("v", "为首")), "约翰·加朗"),
        # the dot glued to the name before it, three parts
        ((("PER", "艾哈迈德·"), ("PER", "苏哈·奥马尔"), ("t", "此前")), "艾哈迈德·苏哈·奥马尔"),
    ],
)
def test_a_transliterated_name_is_one_person_across_its_middle_dots(
    words: tuple[tuple[str, str], ...], name: str
) -> None:
    text, spans = _spans(*words)
    fixed = repair_spans(text, spans, ON)
    assert ("PER", name) in _words(text, fixed)
    assert _covers(text, fixed)
    off = repair_spans(text, spans, replace(ON, join_dotted_names=False))
    assert ("PER", name) not in _words(text, off)


def test_a_dot_before_a_place_or_punctuation_does_not_join() -> None:
    text, spans = _spans(("PER", "张三"), ("w", "·"), ("LOC", "北京"))
    assert _words(text, repair_spans(text, spans, ON)) == _words(text, spans)
    text, spans = _spans(("PER", "李四·"), ("w", "，"))
    assert _words(text, repair_spans(text, spans, ON)) == [("PER", "李四"), ("w", "·"), ("w", "，")]


@pytest.mark.parametrize(
    ("word", "name"),
    [
        ("周总理", "周"),
        ("何大爷", "何"),
        ("李先生", "李"),
        ("王副主席", "王"),
        ("张明教授", "张明"),
    ],
)
def test_a_trailing_title_is_taken_off_the_name(word: str, name: str) -> None:
    text, spans = _spans(("p", "在"), ("PER", word), ("w", "，"))
    fixed = _words(text, repair_spans(text, spans, ON))
    assert fixed[1] == ("PER", name)
    assert fixed[2] == ("n", word[len(name) :])
    kept = _words(text, repair_spans(text, spans, replace(ON, person_titles=())))
    assert kept[1] == ("PER", word)


def test_a_title_alone_stays_a_person() -> None:
    # Nothing would remain of the name: the span is left as the tagger gave it.
    text, spans = _spans(("PER", "主席"), ("w", "，"))
    assert _words(text, repair_spans(text, spans, ON)) == _words(text, spans)


def test_a_photo_credit_mark_is_taken_off_only_where_the_credit_ends() -> None:
    text, spans = _spans(("w", "（"), ("n", "记者"), ("PER", "李欣摄"), ("w", "）"))
    assert _words(text, repair_spans(text, spans, ON))[2:] == [
        ("PER", "李欣"),
        ("n", "摄"),
        ("w", "）"),
    ]
    assert ("PER", "李欣摄") in _words(
        text, repair_spans(text, spans, replace(ON, strip_photo_credit=False))
    )
    # Inside a sentence ``摄`` may end a name; only a closing bracket, space or end marks a credit.
    text, spans = _spans(("PER", "王摄"), ("v", "说"))
    assert _words(text, repair_spans(text, spans, ON)) == _words(text, spans)


def test_one_character_organisations_are_dropped() -> None:
    text, spans = _spans(("LOC", "北京"), ("t", "１月３日"), ("ORG", "电"), ("ORG", "新华社"))
    fixed = _words(text, repair_spans(text, spans, ON))
    assert fixed == [("LOC", "北京"), ("t", "１月３日"), ("n", "电"), ("ORG", "新华社")]
    kept = _words(text, repair_spans(text, spans, replace(ON, min_org_chars=1)))
    assert ("ORG", "电") in kept


def test_off_changes_nothing_and_bad_values_are_refused() -> None:
    text, spans = _spans(("PER", "周总理"), ("ORG", "电"), ("PER", "约翰"), ("w", "·加朗"))
    assert repair_spans(text, spans, RepairConfig.off()) == spans
    with pytest.raises(ValueError, match="min_org_chars"):
        RepairConfig(min_org_chars=0)
    with pytest.raises(ValueError, match="empty title"):
        RepairConfig(person_titles=("",))


class _Fixed:
    """Returns given spans for one text (the extractor's use of the repairs)."""

    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans

    def tag(self, texts: object) -> list[list[Span]]:
        return [self.spans]


def test_the_extractor_applies_the_repairs_of_its_config() -> None:
    text, spans = _spans(("n", "总理"), ("PER", "川"), ("w", "·"), ("n", "立派"), ("PER", "周总理"))
    found = EntityExtractor(EntityConfig(), _Fixed(spans)).extract_texts([text])[0]
    assert [(m.type, m.printed) for m in found] == [
        (EntityType.PERSON, "川·立派"),
        (EntityType.PERSON, "周"),
    ]
    raw = EntityExtractor(EntityConfig(repair=RepairConfig.off()), _Fixed(spans))
    assert [m.printed for m in raw.extract_texts([text])[0]] == ["川", "周总理"]


@pytest.mark.parametrize(
    ("words", "names"),
    [
        # after the role word, up to the credit's end word
        ((("n", "记者"), ("PER", "刘前"), ("d", "刚"), ("v", "摄"), ("w", "）")), ["刘前刚"]),
        # a list of the role's names: the second one after ``、``
        (
            (
                ("n", "记者"),
                ("PER", "尚绪谦"),
                ("w", "、"),
                ("PER", "刘也"),
                ("d", "刚"),
                ("v", "报道"),
            ),
            ["尚绪谦", "刘也刚"],
        ),
    ],
)
def test_a_credit_name_cut_short_is_completed(
    words: tuple[tuple[str, str], ...], names: list[str]
) -> None:
    text, spans = _spans(*words)
    fixed = repair_spans(text, spans, ON)
    assert [word for label, word in _words(text, fixed) if label == "PER"] == names
    assert _covers(text, fixed)
    off = repair_spans(text, spans, replace(ON, complete_credit_names=False))
    assert _words(text, off) == _words(text, spans)


def test_a_name_outside_a_credit_or_too_long_is_not_completed() -> None:
    # Not after a role word: ``李明`` + ``说`` stays as tagged.
    text, spans = _spans(("n", "局长"), ("PER", "李明"), ("v", "说"), ("w", "，"))
    assert _words(text, repair_spans(text, spans, ON)) == _words(text, spans)
    # After a role word, but the run would pass the longest name.
    text, spans = _spans(("n", "记者"), ("PER", "李明"), ("v", "走进"), ("n", "车间"))
    assert _words(text, repair_spans(text, spans, ON)) == _words(text, spans)


def test_a_reporter_who_speaks_is_not_a_credit() -> None:
    text, spans = _spans(("n", "记者"), ("PER", "李明"), ("v", "说"), ("w", "，"))
    assert _words(text, repair_spans(text, spans, ON)) == _words(text, spans)


@pytest.mark.parametrize("doctrine", ["理论", "思想", "主义"])
def test_a_doctrine_named_after_a_person_is_no_person(doctrine: str) -> None:
    text, spans = _spans(("p", "以"), ("PER", "邓小平"), ("n", doctrine), ("v", "为"))
    assert "PER" not in [label for label, _ in _words(text, repair_spans(text, spans, ON))]
    kept = repair_spans(text, spans, replace(ON, doctrine_words=()))
    assert ("PER", "邓小平") in _words(text, kept)
    # The person followed by another word stays a person.
    text, spans = _spans(("PER", "邓小平"), ("n", "同志"))
    assert ("PER", "邓小平") in _words(text, repair_spans(text, spans, ON))
