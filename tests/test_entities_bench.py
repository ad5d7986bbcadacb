"""How bench/entities.py reads the PKU gold: persons joined, compounds by their outer tag."""

from __future__ import annotations

from pathlib import Path

from bench.entities import count_compounds, error_categories, parse_line
from semsearch.embedder.entities import EntityExtractor, EntityType
from tests.fake_tagger import DictionaryTagger

LINE = (
    "19980101-01-001-006/m  通过/p  [中央/n  人民/n  广播/vn  电台/n]nt  、/w  "
    "[中国/ns  国际/n  广播/vn  电台/n]nt  向/p  [香港/ns  特别/a  行政区/n]ns  "
    "[中国/ns  人民/n]nz  江/nr  泽民/nr  李/nr  鹏/nr  乔/nr  石/nr  澳门/ns"
)


def _gold(line: str, *, compounds: bool = True) -> list[tuple[str, str]]:
    row = parse_line(line, compounds=compounds)
    assert row is not None
    return sorted((kind.value, row.text[start:end]) for kind, start, end in row.gold)


def test_a_compound_is_one_mention_of_its_outer_tag_with_nothing_inside() -> None:
    row = parse_line(LINE)
    assert row is not None and row.text.startswith("通过中央人民广播电台")  # the id is no text
    assert _gold(LINE) == [
        ("org", "中国国际广播电台"),
        ("org", "中央人民广播电台"),
        ("person", "乔石"),
        ("person", "李鹏"),
        ("person", "江泽民"),
        ("place", "澳门"),
        ("place", "香港特别行政区"),
    ]


def test_the_parts_reading_counts_the_tokens_inside_compounds() -> None:
    assert _gold(LINE, compounds=False) == [
        ("person", "乔石"),
        ("person", "李鹏"),
        ("person", "江泽民"),
        ("place", "中国"),
        ("place", "中国"),
        ("place", "澳门"),
        ("place", "香港"),
    ]
    stripped = LINE.replace("[", "").replace("]nt", "").replace("]ns", "").replace("]nz", "")
    assert _gold(stripped) == _gold(stripped, compounds=False) == _gold(LINE, compounds=False)


def test_compounds_are_counted_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "pku.txt"
    path.write_text(LINE + "\n迈向/v  新/a  世纪/n\n", encoding="utf-8")
    assert count_compounds(path) == 4


def test_errors_are_counted_by_kind() -> None:
    row = parse_line("中国/ns  社会/n  科学院/n  院长/n  李/nr  铁映/nr  访问/v  俄/j")
    assert row is not None
    tagger = DictionaryTagger({"中国社会科学院": "ORG", "李铁": "PER", "俄": "LOC"})
    counts = error_categories(EntityExtractor(tagger=tagger), [row])
    assert counts == {
        "missed place: inside or over a found org": 1,
        "missed person: boundary": 1,
        "false org: over a gold place": 1,
        "false place: no gold there, one character": 1,
    }
    assert {kind for kind, _, _ in row.gold} == {EntityType.PLACE, EntityType.PERSON}
