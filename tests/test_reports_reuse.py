"""Copy and reuse detection: normalisation, LSH candidates, alignment, levels, the reports."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest

from semsearch.index import ArticleFields, Collection, PassageVectors
from semsearch.service.reports import (
    Corpus,
    duplicates_report,
    load_corpus,
    reuse_report,
    write_report,
)
from semsearch.service.reports.align import align
from semsearch.service.reports.corpus import build_corpus
from semsearch.service.reports.levels import REUSE_MIN_CHARS, level_of, text_level
from semsearch.service.reports.normalise import normalise
from semsearch.service.reports.shingles import SPAN_FOUND, candidate_pairs
from semsearch.service.reports.textreuse import clusters, earliest, find_links, normalise_all
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.cli import fake_cli

# Two unrelated stories long enough to hold several LSH windows each.
STORY_A = (
    "郑州市举行二零二三年重大项目观摩活动，市领导分别带队，深入各区县产业园区和重点企业，"
    "实地察看项目建设进展情况。观摩组一行先后来到新能源汽车零部件、电子信息和生物医药等"
    "十余个项目现场，听取项目负责人汇报，详细了解投资规模、建设周期和预期效益。"
    "市委主要负责同志指出，重大项目是经济发展的压舱石，要坚持项目为王，抓好招商引资，"
    "推动更多优质项目落地见效，为全市高质量发展提供坚实支撑。"
)
STORY_B = (
    "今年春季以来，本市气温回升较快，各地农民抓住有利时机开展春耕备耕工作。记者在城郊"
    "多个乡镇看到，田间地头一派繁忙景象，农机手驾驶拖拉机来回穿梭，村民们忙着施肥播种。"
    "农业技术人员深入田间，指导农户科学选种、合理用肥，确保粮食稳产增收。据介绍，全市"
    "今年计划播种小麦玉米等粮食作物面积超过一百万亩，各类农资储备充足，供应渠道畅通。"
)
QUOTE = STORY_A[120:200]  # a span of STORY_A, reused inside STORY_B


def test_normalise_folds_script_spacing_and_punctuation_and_maps_offsets() -> None:
    plain = normalise("这是简体中文，ABC１２３。")
    noisy = normalise("這是 簡體中文, abc123")
    assert plain.text == noisy.text == "这是简体中文abc123"
    start, end = noisy.original_span(2, 6)
    assert "這是 簡體中文, abc123"[start:end] == "簡體中文"


def test_align_finds_the_shared_span_and_each_share() -> None:
    a, b = normalise(STORY_A).text, normalise(STORY_B[:60] + QUOTE + STORY_B[60:]).text
    result = align(a, b)
    quote = normalise(QUOTE).text
    assert len(result.spans) == 1
    span = result.spans[0]
    assert a[span.start : span.end] == b[span.other_start : span.other_end] == quote
    assert result.share == pytest.approx(len(quote) / len(a))
    assert result.other_share == pytest.approx(len(quote) / len(b))
    assert not align(a, normalise(STORY_B).text).spans


def test_align_joins_runs_across_ocr_misreads() -> None:
    rng = random.Random(1)
    noisy = "".join(
        ("口" if rng.random() < 0.01 else c) + (" " if rng.random() < 0.05 else "") for c in STORY_A
    )
    result = align(normalise(STORY_A).text, normalise(noisy).text)
    assert len(result.spans) <= 2 and result.share > 0.97 and text_level(result) == "copy"


def test_levels_copy_reuse_and_neither() -> None:
    a = normalise(STORY_A).text
    truncated = normalise(STORY_A[: len(STORY_A) // 2]).text
    assert text_level(align(truncated, a)) == "copy"
    host = normalise(STORY_B[:60] + QUOTE + STORY_B[60:]).text
    assert len(normalise(QUOTE).text) >= REUSE_MIN_CHARS
    assert text_level(align(host, a)) == "reuse"
    short_quote = normalise(STORY_B + STORY_A[120:150]).text
    assert text_level(align(short_quote, a)) is None
    assert level_of(None, 0.5, 0.332) == "same_event"
    assert level_of(None, 0.2, 0.332) == "related"
    assert level_of(align(truncated, a), 0.1, 0.332) == "copy"


def test_candidates_find_a_shared_span_without_all_pairs() -> None:
    filler = [normalise(STORY_B[i:] + STORY_B[:i]).text[:40] + str(i) for i in range(20)]
    host = normalise(STORY_B[:60] + QUOTE + STORY_B[60:]).text
    texts = [normalise(STORY_A).text, host, *filler]
    pairs = candidate_pairs(texts)
    assert (0, 1) in pairs
    assert len(normalise(QUOTE).text) >= SPAN_FOUND
    # Fillers share no 43-character span with STORY_A: none pairs with it.
    assert not any(0 in pair for pair in pairs - {(0, 1)})


def test_clusters_and_earliest_source() -> None:
    texts = [STORY_A, STORY_A[:150], STORY_B, STORY_B[:60] + QUOTE + STORY_B[60:]]
    links = find_links(normalise_all(texts))
    assert {(link.i, link.j): link.level for link in links} == {
        (0, 1): "copy",
        (0, 3): "reuse",
        (2, 3): "copy",
    }
    assert clusters(4, links, ("copy",)) == [[0, 1], [2, 3]]
    assert earliest([0, 1, 2], ["2024-02-01", "2024-01-01", None]) == 1
    assert earliest([0, 2], [None, "2024-01-01", None]) == 0


@pytest.fixture()
def reuse_index(tmp_path: Path) -> Path:
    fake = FakeEmbedder()
    items = [
        make_article("a", [STORY_A], title="观摩 <b>原稿</b>", date="2024-01-02"),
        make_article("a-copy", [STORY_A.replace("，", ", ")[:170]], date="2024-01-05"),
        make_article(
            "b",
            [STORY_B[:60] + QUOTE, "<script>alert(1)</script>" + STORY_B[60:]],
            date="2024-03-01",
        ),
        make_article("c", ["<script>alert(1)</script>" + STORY_B[::-1]], date="2023-12-01"),
    ]
    items[0][0].url = "javascript:alert(1)"
    path = tmp_path / "index"
    with Collection.create(path, fake) as collection:
        collection.upsert(items)
    return path


def test_reuse_report_spans_point_at_the_shared_text(reuse_index: Path, tmp_path: Path) -> None:
    corpus = load_corpus(reuse_index, FakeEmbedder())
    report = reuse_report(corpus, progress=False)
    by_pair = {(r["article_id"], r["other_id"]): r for r in report.records}
    assert set(by_pair) == {("a", "a-copy"), ("a", "b")}
    assert by_pair[("a", "a-copy")]["level"] == "copy"
    link = by_pair[("a", "b")]
    assert link["level"] == "reuse" and link["source_id"] == "a"
    texts = dict(zip(corpus.article_ids, corpus.texts, strict=True))
    (span,) = link["spans"]
    left = texts["a"][span["start"] : span["end"]]
    right = texts["b"][span["other_start"] : span["other_end"]]
    assert normalise(left).text == normalise(right).text == normalise(QUOTE).text
    assert link["share"] < 0.5 and link["other_share"] < 0.5

    write_report(report, tmp_path / "r.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text("utf-8").splitlines()]
    assert {"article_id", "other_id", "level", "spans", "share", "other_share", "source_id"} <= set(
        lines[0]
    )
    write_report(report, tmp_path / "r.csv")
    with (tmp_path / "r.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and rows[0]["spans"].count(":") >= 1
    write_report(report, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count('<div class="pair">') == 2 and "<mark>" in page
    assert "&lt;b&gt;原稿&lt;/b&gt;" in page and "<b>原稿" not in page
    assert "javascript:" not in page and "<script" not in page and "&lt;script&gt;" in page


def test_duplicates_groups_copies_by_default_and_same_event_on_request(
    reuse_index: Path,
) -> None:
    corpus = load_corpus(reuse_index, FakeEmbedder())
    copies = duplicates_report(corpus, threshold=0.332, progress=False)
    assert [sorted(m["article_id"] for m in g["members"]) for g in copies.records] == [
        ["a", "a-copy"]
    ]
    assert copies.summary["level"] == "copy"
    events = duplicates_report(corpus, threshold=-1.0, level="same_event", progress=False)
    assert events.summary["level"] == "same_event" and events.summary["articles_in_groups"] >= 2


def test_cli_report_reuse_and_duplicates_level(
    reuse_index: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_cli(FakeEmbedder())
    out = tmp_path / "links.jsonl"
    assert fake(["report", "reuse", "--index", str(reuse_index), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["copy_links"] == 1 and summary["reuse_links"] == 1
    groups = tmp_path / "g.jsonl"
    argv = ["report", "duplicates", "--level", "same-event", "--threshold", "-1"]
    assert fake([*argv, "--index", str(reuse_index), "--out", str(groups), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["level"] == "same_event"
    assert fake(["report", "reuse", "x", "--index", str(reuse_index), "--out", str(out)]) == 2
    assert "takes no INPUT" in capsys.readouterr().err


def test_api_article_reuse_lists_copies_and_reuse_with_spans(reuse_index: Path) -> None:
    from tests.helpers.api import assert_error, make_client

    client, runtime = make_client(reuse_index)
    with client:
        body = client.get("/articles/a/reuse").json()
        text_a = client.get("/articles/a").json()["text"]
        text_b = client.get("/articles/b").json()["text"]
        missing = client.get("/articles/nope/reuse")
    runtime.close()
    assert body["article"]["id"] == "a"
    assert [(x["other"]["id"], x["level"]) for x in body["links"]] == [
        ("a-copy", "copy"),
        ("b", "reuse"),
    ]
    (span,) = body["links"][1]["spans"]
    shared = text_a[span["start"] : span["end"]]
    assert normalise(shared).text == normalise(text_b[span["other_start"] : span["other_end"]]).text
    assert normalise(shared).text == normalise(QUOTE).text
    assert_error(missing, 404, "not_found")


def test_script_of_names_the_writing_system() -> None:
    from semsearch.service.reports.scripts import script_of

    assert script_of("郑州市举行重大项目观摩活动, GDP 增长") == "han"
    assert script_of("Warren plans to take a 'hard look' at running") == "latin"
    assert script_of("東京都は新しい計画を発表しました") == "japanese"
    assert script_of("Москва 2024") == "cyrillic"
    assert script_of("2024, 12:30 —") is None
    # Brand names in a Chinese headline: words, not letters, are weighed.
    assert script_of("Facebook CEO女友曝光上厕所时相识") == "han"
    assert script_of("AMG GT 63 S Edition 1 官图正式发布") == "han"
    assert script_of("白色牛仔裤具有无比的清洁感，手袋（ダイアナ）皮鞋") == "han"
    assert script_of("Xi Jinping 习近平 met Biden in San Francisco on Wednesday") == "latin"


def test_monotone_chain_keeps_order_and_allows_many_to_one() -> None:
    from semsearch.service.reports.crosslingual import monotone_chain

    sims = np.full((4, 3), 0.5)
    sims[0, 0], sims[1, 0], sims[2, 1], sims[3, 2] = 0.9, 0.88, 0.92, 0.9
    sims[0, 2] = 0.95  # out of order: taking it would drop two in-order pairs
    assert monotone_chain(sims, 0.8) == [(0, 0), (1, 0), (2, 1), (3, 2)]
    assert monotone_chain(sims, 0.99) == []


# Text after the passages (uncut, so no share changes) that makes each article long enough
# for a translation link (levels.TRANSLATION_MIN_WORDS).
_TAILS = {
    "latin": " " + " ".join(["More of the story follows in the next edition."] * 8),
    "han": "本报将在下一期继续报道此事的最新进展。" * 4,
}


def _handmade_corpus(long: bool = True) -> Corpus:
    """English article ``en`` (3 passages) translated by ``zh`` (2 passages, one carrying two
    English ones), an unrelated Chinese ``zh-other``, and ``zh-twin`` whose passages equal
    zh's (same script: never a translation candidate)."""
    rng = np.random.default_rng(5)
    base = rng.normal(size=(6, 16)).astype(np.float32)
    base[1] = base[0] + 0.2 * base[1]  # two English passages on one point: one Chinese passage
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    mixed = base[0] + base[1]
    rows = {
        "en": [base[0], base[1], base[2]],
        "zh": [mixed / np.linalg.norm(mixed), base[2]],
        "zh-other": [base[4], base[5]],
        "zh-twin": [mixed / np.linalg.norm(mixed), base[2]],
    }
    texts = {
        "en": "Warren plans a run. She said so Saturday. The Globe reports it.",
        "zh": "沃伦计划参选，她周六表示。环球报报道了此事。",
        "zh-other": "今年春季以来本市气温回升较快。各地农民开展春耕。",
        "zh-twin": "沃伦计划参选，她周六表示。环球报报道了此事。",
    }
    if long:
        texts = {a: t + _TAILS["latin" if a == "en" else "han"] for a, t in texts.items()}
    cuts = {"en": [(0, 19), (20, 42), (43, 63)], "zh": [(0, 13), (13, 22)]}
    cuts["zh-other"] = [(0, 14), (14, 24)]
    cuts["zh-twin"] = cuts["zh"]
    owners = [a for a in rows for _ in rows[a]]
    spans = [c for a in rows for c in cuts[a]]
    vectors = np.vstack([v for a in rows for v in rows[a]]).astype(np.float32)
    exported = PassageVectors(
        fingerprint="handmade",
        owners=owners,
        passage_ids=np.arange(len(owners), dtype=np.int64),
        texts=[texts[a][s:e] for a, (s, e) in zip(owners, spans, strict=True)],
        vectors=vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
        articles={a: ArticleFields(title=a, url=None, date=None, source=None) for a in rows},
        starts=np.asarray([s for s, _ in spans], dtype=np.int64),
        ends=np.asarray([e for _, e in spans], dtype=np.int64),
    )
    return build_corpus("handmade", exported, texts)


def test_translation_links_align_passages_across_scripts_only() -> None:
    corpus = _handmade_corpus()
    report = reuse_report(corpus, levels=("translation",), progress=False)
    pairs = {(r["article_id"], r["other_id"]): r for r in report.records}
    assert set(pairs) == {("en", "zh"), ("en", "zh-twin")}
    link = pairs[("en", "zh")]
    assert link["level"] == "translation" and link["cross_lingual"] is True
    assert (link["script"], link["other_script"]) == ("latin", "han")
    assert link["spans"] == [
        {"start": 0, "end": 19, "other_start": 0, "other_end": 13},
        {"start": 20, "end": 42, "other_start": 0, "other_end": 13},
        {"start": 43, "end": 63, "other_start": 13, "other_end": 22},
    ]
    assert link["share"] == link["other_share"] == 1.0
    assert link["source_id"] in {"en", "zh", "zh-twin"} and link["score"] > 0.9
    assert report.summary["translation_links"] == 2
    # The same passages in articles of a few words each: too short for a translation.
    short = reuse_report(_handmade_corpus(long=False), levels=("translation",), progress=False)
    assert short.summary["translation_links"] == 0


def test_reuse_report_same_event_links_on_request(reuse_index: Path) -> None:
    corpus = load_corpus(reuse_index, FakeEmbedder())
    plain = reuse_report(corpus, progress=False)
    assert "same_event_links" not in plain.summary
    report = reuse_report(corpus, levels=("copy", "same_event"), threshold=-1.0, progress=False)
    levels = {(r["article_id"], r["other_id"]): r["level"] for r in report.records}
    assert levels[("a", "a-copy")] == "copy"  # the closer level wins; no second link
    events = [r for r in report.records if r["level"] == "same_event"]
    assert events and all(r["spans"] == [] and r["score"] is not None for r in events)
    assert "reuse" not in levels.values()


def test_cli_report_reuse_levels(
    reuse_index: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_cli(FakeEmbedder())
    out = tmp_path / "links.csv"
    argv = ["report", "reuse", "--index", str(reuse_index), "--out", str(out), "--json"]
    assert fake([*argv, "--levels", "copy,same-event", "--threshold", "-1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["levels"] == "copy,same_event" and summary["same_event_links"] >= 1
    assert fake([*argv, "--levels", "copy,nonsense"]) == 2
    assert "unknown level nonsense" in capsys.readouterr().err


def test_translation_pairs_stand_out_by_ratio_margin_not_raw_cosine() -> None:
    """A hub pair (high cosine, both passages as close to everything) does not align; a
    pair of lower cosine that stands out from its passages' nearest ones does."""
    from semsearch.service.reports.crosslingual import margin_matrix, monotone_chain, top_mean
    from semsearch.service.reports.levels import TRANSLATION_FLOOR, TRANSLATION_MARGIN

    sims = np.asarray([[0.86, 0.70], [0.70, 0.80]])
    means_a = np.asarray([0.87, 0.72])  # row 0 is a hub: its nearest all score ~0.87
    means_b = np.asarray([0.87, 0.72])
    margins = margin_matrix(sims, means_a, means_b, TRANSLATION_FLOOR)
    assert margins[0, 0] < TRANSLATION_MARGIN < margins[1, 1]
    assert margins[0, 1] == margins[1, 0] == 0.0  # below the cosine floor: no margin
    assert monotone_chain(margins, TRANSLATION_MARGIN) == [(1, 1)]
    # The raw-cosine rule of before (0.82) took the hub and missed the real pair.
    assert monotone_chain(sims, 0.82) == [(0, 0)]
    # Means: the k best, padded by the bound on unseen scores; nothing known is inf.
    assert top_mean([0.9, 0.5, 0.8], 2) == pytest.approx(0.85)
    assert top_mean([0.9], 3, lowest=0.6) == pytest.approx(0.7)
    assert top_mean([], 3) == float("inf")
    assert (
        margin_matrix(np.asarray([[0.9]]), np.asarray([np.inf]), np.asarray([0.8]), 0.5)[0, 0]
        == 0.0
    )
