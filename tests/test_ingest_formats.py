"""Every input format, every encoding, every kind of bad input."""

from __future__ import annotations

import csv
import gzip
import json
import tracemalloc
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from semsearch.embedder.errors import InputError
from semsearch.embedder.ingest import IngestOptions, IngestStats, iter_articles, scan
from semsearch.embedder.records import Article

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "data" / "samples" / "zhengzhou-evening-news-2023-04-20.txt"
SHARED = REPO.parent / "shared"
BEIR_CORPUS = SHARED / "eval" / "cmrc2018_dev_q2p" / "corpus.jsonl"

RECORDS = [
    {
        "id": "a1",
        "title": "重大项目观摩",
        "text": "本报讯（记者 张昕）4月19日,观摩活动举行。\n要按照省\n委、市委部署安排推进。",
        "date": "2023-04-20",
        "source": "郑州晚报",
        "section": "要闻",
        "url": "https://example.com/a1",
        "author": "张昕",
        "page": "A02",
    },
    {"id": "a2", "title": "Second", "text": "An English paragraph. It has two sentences."},
]


def _ingest(paths: list[Path], **options: object) -> list[Article]:
    return list(iter_articles(paths, options=IngestOptions(**options)))  # type: ignore[arg-type]


def _write_jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _check_first_record(article: Article) -> None:
    assert article.id == "a1"
    assert article.title == "重大项目观摩"
    assert article.text == "4月19日，观摩活动举行。\n\n要按照省委、市委部署安排推进。"
    assert (article.date, article.source, article.section) == ("2023-04-20", "郑州晚报", "要闻")
    assert article.url == "https://example.com/a1"
    assert article.author == "张昕"
    assert article.reporters == ["张昕"]
    assert article.event_dates == ["2023-04-19"]
    assert article.metadata["page"] == "A02"


def test_jsonl_records(tmp_path: Path) -> None:
    articles = _ingest([_write_jsonl(tmp_path / "news.jsonl", RECORDS)])
    assert len(articles) == 2
    _check_first_record(articles[0])
    assert articles[1].text == "An English paragraph. It has two sentences."
    assert articles[1].metadata == {}


def test_csv_and_tsv_records(tmp_path: Path) -> None:
    header = ["id", "title", "text", "date", "source", "section", "url", "author", "page"]
    for name, delimiter in (("news.csv", ","), ("news.tsv", "\t")):
        path = tmp_path / name
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow(header)
            for row in RECORDS:
                writer.writerow([str(row.get(column, "")) for column in header])
        articles = _ingest([path])
        assert [a.id for a in articles] == ["a1", "a2"]
        _check_first_record(articles[0])
        assert "page" not in articles[1].metadata  # empty cells are not metadata


def test_beir_corpus_ids_and_gzip(tmp_path: Path) -> None:
    rows = [{"_id": "d7", "title": "", "text": "正文内容。", "metadata": {"lang": "zh"}}]
    path = tmp_path / "corpus.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(rows[0], ensure_ascii=False) + "\n")
    (article,) = _ingest([path])
    assert (article.id, article.title, article.text) == ("d7", "", "正文内容。")
    assert article.metadata == {"metadata": {"lang": "zh"}}


@pytest.mark.skipif(not BEIR_CORPUS.exists(), reason="../shared BEIR corpus is absent")
def test_real_beir_corpus_reads_every_record() -> None:
    lines = sum(1 for line in BEIR_CORPUS.open(encoding="utf-8") if line.strip())
    stats = scan([BEIR_CORPUS])
    assert stats.articles + stats.duplicates == lines
    first = next(iter_articles([BEIR_CORPUS]))
    assert first.id == json.loads(BEIR_CORPUS.open(encoding="utf-8").readline())["_id"]


def test_record_without_id_gets_content_hash_and_options_fill_gaps(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "x.jsonl", [{"title": "T", "text": "正文。"}])
    (article,) = _ingest([path], source="人民日报", date="2023-01-02", section="国内")
    assert article.id == article.content_hash()
    assert (article.source, article.date, article.section) == ("人民日报", "2023-01-02", "国内")
    (again,) = _ingest([path])
    assert again.id == article.id


def test_duplicates_are_yielded_once(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "d.jsonl", [RECORDS[1], RECORDS[1], {**RECORDS[1], "text": "Changed."}]
    )
    stats = IngestStats()
    articles = list(iter_articles([path, path], options=IngestOptions(on_duplicate="last"), stats=stats))
    assert [a.text for a in articles] == [RECORDS[1]["text"], "Changed."]
    assert articles[0].id == articles[1].id == "a2"
    assert articles[0].content_hash() != articles[1].content_hash()
    assert stats.duplicates == 4
    first = list(iter_articles([path], options=IngestOptions(on_duplicate="first")))
    assert [a.text for a in first] == [RECORDS[1]["text"]]


def test_an_id_read_twice_with_other_content_is_an_error(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "d.jsonl", [RECORDS[1], {**RECORDS[1], "text": "Changed."}])
    with pytest.raises(InputError, match=r"d\.jsonl:2: article id 'a2' was already read, with other content, at .*d\.jsonl:1"):
        list(iter_articles([path]))
    with pytest.raises(InputError, match="on_duplicate 'newest' is not one of error, first, last"):
        IngestOptions(on_duplicate="newest")  # type: ignore[arg-type]


HTML = """<!DOCTYPE html><html><head><meta charset="{charset}"><title>测试新闻 - 晚报</title>
<meta property="article:published_time" content="2023-04-20"></head><body>
<nav><a href="/">首页</a> <a href="/news">新闻</a> <a href="/sport">体育</a></nav>
<article><h1>全市重大项目观摩活动举行</h1>
<p>本报讯（记者 张昕）4月19日，全市重大项目观摩活动举行，
市领导分别带队，对各开发区重点项目进行集中观摩。</p>
<p>市领导强调，要坚持项目为王，持续优化营商环境，推动重大工程项目建设取得更大实效，为全年目标打下基础。</p>
</article><footer>版权所有 晚报 联系我们 广告服务</footer></body></html>"""


@pytest.mark.parametrize("charset", ["utf-8", "gbk"])
def test_html_main_text(tmp_path: Path, charset: str) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(HTML.replace("{charset}", charset).encode(charset))
    (article,) = _ingest([path])
    assert article.title == "全市重大项目观摩活动举行"
    assert article.date == "2023-04-20"
    assert article.reporters == ["张昕"]
    assert article.text.startswith("4月19日，全市重大项目观摩活动举行")
    assert len(article.paragraphs) == 2
    for chrome in ("首页", "版权所有"):
        assert chrome not in article.text


def test_big5_is_detected(tmp_path: Path) -> None:
    text = (
        "台北市政府今天宣布將於明年推動數位轉型計畫\n\n"
        "本報訊（記者 王小明）市府表示，計畫將提升市民生活品質與城市競爭力。\n"
    )
    path = tmp_path / "big5.txt"
    path.write_bytes(text.encode("big5"))
    (article,) = _ingest([path])
    assert article.title == "台北市政府今天宣布將於明年推動數位轉型計畫"
    assert "市府表示" in article.text


def test_encoding_override(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Café crème. Déjà vu.\n".encode("cp1252"))
    with pytest.raises(InputError, match="give its encoding") as raised:
        _ingest([path])
    assert raised.value.options == ("encoding",)
    (article,) = _ingest([path], encoding="cp1252")
    assert article.text == "Café crème. Déjà vu."
    with pytest.raises(InputError, match="unknown encoding"):
        IngestOptions(encoding="no-such-codec")
    with pytest.raises(InputError, match="date 'someday' is not a date"):
        IngestOptions(date="someday")


def test_directory_is_expanded(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    _write_jsonl(tmp_path / "sub" / "a.jsonl", RECORDS[1:])
    (tmp_path / ".hidden.jsonl").write_text("not json\n", encoding="utf-8")
    assert [a.id for a in _ingest([tmp_path])] == ["a2"]


# --- bad input -------------------------------------------------------------------------


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"  \n\n")
    binary = tmp_path / "image.txt"
    binary.write_bytes(bytes(range(256)) * 40)
    undecodable = tmp_path / "mixed.jsonl"
    undecodable.write_bytes(
        json.dumps(RECORDS[1]).encode() + b"\n" + b'{"id": "x", "text": "\xff\xfe\xfa"}\n'
    )
    not_json = tmp_path / "broken.jsonl"
    not_json.write_text(json.dumps(RECORDS[1]) + "\n{oops\n", encoding="utf-8")
    no_text = tmp_path / "notext.jsonl"
    no_text.write_text(json.dumps(RECORDS[1]) + "\n" + json.dumps({"id": "z", "title": "t"}) + "\n")
    no_column = tmp_path / "nocol.csv"
    no_column.write_text("id,body\n1,hello\n", encoding="utf-8")
    return {
        "empty": (empty, r"empty\.txt: file is empty"),
        "binary": (binary, r"image\.txt: binary file"),
        "undecodable": (undecodable, r"mixed\.jsonl:2: bytes not valid (utf-8|UTF-8)"),
        "not json": (not_json, r"broken\.jsonl:2: not valid JSON"),
        "no text": (no_text, r"notext\.jsonl:2: record has no text"),
        "no text column": (no_column, r"nocol\.csv:1: no 'text' column"),
        "missing": (tmp_path / "nope.jsonl", r"nope\.jsonl: no such file"),
    }


@pytest.mark.parametrize(
    "case", ["empty", "binary", "undecodable", "not json", "no text", "no text column", "missing"]
)
def test_bad_input_stops_with_one_line(tmp_path: Path, case: str) -> None:
    path, message = _bad_files(tmp_path)[case]
    with pytest.raises(InputError, match=message) as caught:
        scan([path])
    assert "\n" not in str(caught.value)


def test_skip_bad_skips_and_counts(tmp_path: Path) -> None:
    files = _bad_files(tmp_path)
    stats = IngestStats()
    articles = list(
        iter_articles(
            [p for p, _ in files.values()], options=IngestOptions(skip_bad=True), stats=stats
        )
    )
    # The good first line of broken/notext survives (the same record: yielded once); mixed.jsonl
    # is refused whole, its only non-ASCII bytes being invalid (no encoding can be trusted).
    assert [a.id for a in articles] == ["a2"]
    assert stats.duplicates == 1
    assert stats.files == 3  # broken, notext and nocol (refused at its header) were opened
    assert stats.skipped == len(files)
    assert stats.skip_reasons["not valid JSON"] == 1
    assert stats.skip_reasons["file is empty"] == 1
    assert any("broken.jsonl:2" in example for example in stats.skip_examples)


def test_scan_fails_before_anything_is_yielded(tmp_path: Path) -> None:
    good = _write_jsonl(tmp_path / "good.jsonl", RECORDS)
    bad = tmp_path / "late.jsonl"
    bad.write_text(json.dumps(RECORDS[1]) + "\n" * 5 + "not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"late\.jsonl:6: not valid JSON"):
        scan([good, bad])
    assert scan([good]).articles == 2


def test_large_jsonl_is_streamed(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    paragraph = "重大项目建设取得更大实效，推动经济社会发展跑出加速度。" * 20
    count = 4000
    with path.open("w", encoding="utf-8") as handle:
        for number in range(count):
            handle.write(
                json.dumps({"id": str(number), "text": paragraph}, ensure_ascii=False) + "\n"
            )
    size = path.stat().st_size
    tracemalloc.start()
    stats = IngestStats()
    for _ in iter_articles([path], stats=stats):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert stats.articles == count
    assert stats.bytes_read == size
    assert peak < size / 4, (peak, size)


def test_page_with_undecodable_line_reports_line(tmp_path: Path) -> None:
    path = tmp_path / "page.txt"
    path.write_bytes(SEED.read_bytes().replace("安伟强调".encode(), b"\xff\xfe", 1))
    with pytest.raises(InputError, match=r"page\.txt:\d+: bytes not valid utf-8"):
        scan([path])
    stats = scan([path], options=IngestOptions(skip_bad=True))
    assert (stats.articles, stats.skipped) == (2, 1)
