"""Golden test: the seed newspaper page becomes exactly two clean articles."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from semsearch.embedder.ingest import IngestOptions, IngestStats, iter_articles
from semsearch.embedder.records import Article

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "data" / "samples" / "zhengzhou-evening-news-2023-04-20.txt"
SHARED_SEED = REPO.parent / "shared" / "seeds" / SEED.name
CJK_GAP = re.compile(r"[\u4e00-\u9fff][ \t\u3000]+[\u4e00-\u9fff]")
CJK_ANY_GAP = re.compile(r"[\u4e00-\u9fff]\s+[\u4e00-\u9fff]")


def _ingest(path: Path, **options: object) -> list[Article]:
    return list(iter_articles([path], options=IngestOptions(**options)))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return _ingest(SEED)


def test_exactly_two_articles_with_headings(articles: list[Article]) -> None:
    assert [a.title for a in articles] == [
        "2023年全市重大项目观摩活动举行",
        "促进数字技术与实体经济深度融合全力以赴打造数字经济发展新高地",
    ]
    first, second = articles
    assert first.subtitle == "坚持“项目为王”加大推进力度 以项目建设高质量 支撑经济社会发展高质量"
    assert first.kicker is None
    assert second.kicker == "何雄调研数字经济发展时强调"
    assert second.subtitle is None


def test_banners_are_not_article_text(articles: list[Article]) -> None:
    for article in articles:
        for banner in ("新时代新征程新伟业", "深入学习贯彻党的二十大精神"):
            assert banner not in article.text
            assert banner != article.title
    assert articles[0].metadata["banners"] == ["新时代新征程新伟业", "深入学习贯彻党的二十大精神"]


def test_reporters_and_dates(articles: list[Article]) -> None:
    first, second = articles
    assert first.reporters == ["张昕", "王际宾", "董艳竹", "王治"]
    assert second.reporters == ["王际宾", "翟宝宽"]
    assert first.event_dates == ["2023-04-19"]
    assert second.event_dates == ["2023-04-18"]
    assert first.date == second.date == "2023-04-20"  # from the file name


def test_byline_lead_moves_out_of_the_body(articles: list[Article]) -> None:
    first, second = articles
    assert first.text.startswith("按照市委统一安排，2023年全市重大项目观摩活动4月19日举行")
    assert second.text.startswith("4月18日，市长何雄调研我市数字经济发展情况")
    assert first.metadata["byline"].startswith("本报讯（正观新闻·郑州晚报记者")
    assert "本报讯" not in first.text + second.text


@pytest.mark.parametrize(
    ("article", "joined"),
    [
        (0, "要按照省委、市委部署安排，牢固树立“项目为王”理念"),
        (1, "数链科技、蚂蚁集团北方技术服务中心、视源股份"),
        (1, "要突出抓好新型数字基建，优化升级网络基础设施"),
        (1, "要深化数据要素市场化配置改革，构建统一、开放、法治、安全、高效的数据要素市场体系"),
    ],
)
def test_broken_paragraphs_are_rejoined(articles: list[Article], article: int, joined: str) -> None:
    matches = [p for p in articles[article].paragraphs if joined in p.text]
    assert len(matches) == 1


def test_paragraph_structure(articles: list[Article]) -> None:
    first, second = articles
    assert len(first.paragraphs) == 7
    assert len(second.paragraphs) == 3
    fragments = [p for a in articles for p in a.paragraphs if p.fragment]
    assert [p.text[:12] for p in fragments] == ["新、以项目支撑产业、以项"]
    # Kept on its own, not glued to the paragraph before it.
    assert first.paragraphs[1].text.endswith("王鸿勋、李凤芝参加观摩。")


def test_no_whitespace_between_cjk_in_bodies(articles: list[Article]) -> None:
    for article in articles:
        assert not CJK_GAP.search(article.text)
        for paragraph in article.paragraphs:
            assert not CJK_ANY_GAP.search(paragraph.text), paragraph.text
    assert "改造提升传统产业" in articles[0].text
    assert "李党生、张红伟" in articles[0].text


def test_offsets_and_text_layout(articles: list[Article]) -> None:
    for article in articles:
        assert article.text == "\n\n".join(p.text for p in article.paragraphs)
        for paragraph in article.paragraphs:
            assert article.text[paragraph.start : paragraph.end] == paragraph.text
        assert "\n" not in article.text.replace("\n\n", "")


def test_original_text_is_kept(articles: list[Article]) -> None:
    raw = SEED.read_text(encoding="utf-8")
    assert "改造提升传 统产业" in articles[0].original
    assert "本报讯(正观新闻·郑州晚报记者张昕 王际宾董艳竹 王治)" in articles[0].original
    assert articles[1].original in raw


def test_ids_are_stable_content_hashes(articles: list[Article]) -> None:
    again = _ingest(SEED)
    assert [a.id for a in again] == [a.id for a in articles]
    assert all(a.id == a.content_hash() for a in articles)
    assert len({a.id for a in articles}) == 2


def test_gb18030_copy_gives_identical_result(articles: list[Article], tmp_path: Path) -> None:
    copy = tmp_path / SEED.name
    copy.write_bytes(SEED.read_text(encoding="utf-8").encode("gb18030"))
    assert _ingest(copy) == articles


def test_utf8_bom_copy_gives_identical_result(articles: list[Article], tmp_path: Path) -> None:
    copy = tmp_path / SEED.name
    copy.write_bytes(b"\xef\xbb\xbf" + SEED.read_bytes())
    assert _ingest(copy) == articles


def test_command_line_metadata_and_year(tmp_path: Path) -> None:
    undated = tmp_path / "page.txt"
    shutil.copy(SEED, undated)
    plain = _ingest(undated)
    assert plain[0].date is None
    # Without a publication date the year comes from the page ("2023年全市…").
    assert [a.event_dates for a in plain] == [["2023-04-19"], ["2023-04-18"]]
    given = _ingest(undated, date="2023/4/20", source="郑州晚报", section="要闻")
    assert {(a.date, a.source, a.section) for a in given} == {("2023-04-20", "郑州晚报", "要闻")}


def test_stats_count_articles_and_paragraphs() -> None:
    stats = IngestStats()
    list(iter_articles([SEED], stats=stats))
    assert (stats.files, stats.articles, stats.paragraphs, stats.skipped) == (1, 2, 10, 0)
    assert stats.bytes_read == SEED.stat().st_size


@pytest.mark.skipif(not SHARED_SEED.exists(), reason="../shared is absent")
def test_sample_copy_matches_shared_seed() -> None:
    assert SHARED_SEED.read_bytes() == SEED.read_bytes()
