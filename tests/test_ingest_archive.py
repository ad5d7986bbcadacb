"""Archive input formats: PDF pages, ALTO/METS, hOCR, OCR of page images, hostile files.

The test pages are made from the sample .txt page (tests/pages.py): printed to PDF by
Chromium in three columns, its ALTO and METS written from that PDF's layout, and a 200-dpi
rendering of it recognised by Tesseract. Each must give the .txt page's two articles.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from bench.harness import character_error_rate
from semsearch.embedder.alto import split_paragraphs
from semsearch.embedder.errors import InputError
from semsearch.embedder.ingest import IngestOptions, IngestStats, iter_articles
from semsearch.embedder.layout import LayoutBlock, LayoutLine, layout_blocks
from semsearch.embedder.pdf import read_pdf
from semsearch.embedder.reading import BadInput
from semsearch.index import Collection
from tests.fakes import FakeEmbedder
from tests.helpers.cli import Cli

from . import pages

TESSERACT_SKIP = pytest.mark.skipif(
    shutil.which("tesseract") is None,
    reason="needs Tesseract (apt-get install tesseract-ocr tesseract-ocr-chi-sim)",
)


@pytest.fixture(scope="module")
def txt_articles() -> list:
    return list(iter_articles([pages.seed_page()]))


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The PDF, ALTO and METS test pages, made from the sample page."""
    if pages.CHROMIUM is None:
        pytest.skip(f"needs Chromium to print the test page ({pages.CHROMIUM_INSTALL})")
    folder = tmp_path_factory.mktemp("pages")
    pdf = pages.render_pdf(pages.seed_page(), folder / "page-2023-04-20.pdf")
    blocks = read_pdf(pdf, max_pages=4, ocr=None)
    alto = pages.write_alto(blocks, folder / "page.alto.xml", width=842, height=1191)
    second = next(i for i, b in enumerate(blocks) if i and b.heading and not blocks[i - 1].heading)
    mets = pages.write_mets(
        alto, [list(range(second)), list(range(second, len(blocks)))], folder / "issue.mets.xml"
    )
    whole = pages.write_mets(alto, [list(range(len(blocks)))], folder / "one.mets.xml")
    return {"pdf": pdf, "alto": alto, "mets": mets, "one_article_mets": whole, "dir": folder}


def test_pdf_text_layer_gives_the_txt_pages_articles_exactly(
    made: dict, txt_articles: list
) -> None:
    articles = list(iter_articles([made["pdf"]]))
    # Same content hash: same title and clean text, so columns were read in order.
    assert [a.id for a in articles] == [a.id for a in txt_articles]
    assert [a.kicker for a in articles] == [a.kicker for a in txt_articles]
    for article in articles:
        for paragraph in article.paragraphs:
            assert paragraph.regions and all(r.page == 1 for r in paragraph.regions)
            for x0, y0, x1, y1 in (box for r in paragraph.regions for box in r.boxes):
                assert 0 <= x0 < x1 <= 842 and 0 <= y0 < y1 <= 1191


def test_alto_v4_and_v2_namespaces_give_the_same_articles(
    made: dict, txt_articles: list, tmp_path: Path
) -> None:
    assert [a.id for a in iter_articles([made["alto"]])] == [a.id for a in txt_articles]
    v2 = tmp_path / "page-v2.xml"
    v2.write_text(
        made["alto"].read_text(encoding="utf-8").replace("ns-v4#", "ns-v2#"), encoding="utf-8"
    )
    assert [a.id for a in iter_articles([v2])] == [a.id for a in txt_articles]


def test_mets_structmap_decides_the_articles(made: dict, txt_articles: list) -> None:
    assert [a.id for a in iter_articles([made["mets"]])] == [a.id for a in txt_articles]
    # One ARTICLE div over every block: one article, though the page reads as two.
    (single,) = list(iter_articles([made["one_article_mets"]]))
    assert single.title == txt_articles[0].title
    assert txt_articles[1].title in single.text


def test_passages_carry_page_and_boxes_into_the_collection(made: dict, tmp_path: Path) -> None:
    from semsearch.embedder.ingest import prepare_articles

    embedder = FakeEmbedder()
    with Collection.create(tmp_path / "index", embedder) as collection:
        collection.upsert(prepare_articles([made["pdf"]], embedder))
        hit = collection.search("数字经济", k=1).results[0]
        assert hit.layout and hit.layout[0]["page"] == 1 and len(hit.layout[0]["boxes"][0]) == 4
        stored = collection.passage(hit.passage_id)
        assert stored is not None and stored.layout == hit.layout


def test_old_collections_get_the_layout_column_on_open(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    path = tmp_path / "index"
    with Collection.create(path, embedder) as collection:
        collection.upsert([(a, _passages(a)) for a in iter_articles([pages.seed_page()])])
    # An older release's file: the same tables without the column.
    with sqlite3.connect(path / "collection.sqlite") as conn:
        conn.execute("ALTER TABLE passages DROP COLUMN layout")
    with Collection.open(path, embedder, read_only=True) as collection:
        assert collection.passage(1) is not None and collection.passage(1).layout is None
    with Collection.open(path, embedder) as collection:
        assert collection.passage(1) is not None
    with sqlite3.connect(path / "collection.sqlite") as conn:
        assert "layout" in [row[1] for row in conn.execute("PRAGMA table_info(passages)")]


def _passages(article: object) -> list:
    from semsearch.embedder.passages import cut_passages

    embedder = FakeEmbedder()
    return cut_passages(article, count_tokens=embedder.count_tokens, max_tokens=512)  # type: ignore[arg-type]


def test_columns_are_read_before_the_next_row() -> None:
    # A spanning headline, two columns of body under it, then a second headline.
    def line(text: str, x0: float, y0: float, height: float = 10) -> LayoutLine:
        return LayoutLine(text, 1, (x0, y0, x0 + 100, y0 + height))

    lines = [
        line("右栏第二行。", 120, 64),
        line("大标题", 0, 0, 30),
        line("左栏第一行", 0, 50),
        line("右栏第一行", 120, 50),
        line("左栏第二行。", 0, 64),
        line("第二篇标题", 0, 100, 30),
    ]
    blocks = layout_blocks(lines)
    assert [b.text() for b in blocks] == [
        "大标题",
        "左栏第一行左栏第二行。",
        "右栏第一行右栏第二行。",
        "第二篇标题",
    ]
    assert [b.heading for b in blocks] == [True, False, False, True]


def test_a_headline_wrapped_over_two_rows_is_one_heading() -> None:
    # Set with generous leading, each headline line is a row of its own for XY-cut.
    def line(text: str, y0: float, height: float, x0: float = 0) -> LayoutLine:
        return LayoutLine(text, 1, (x0, y0, x0 + 300, y0 + height))

    lines = [
        line("全力以赴打造数字经", 0, 30),
        line("济发展新高地", 42, 30, x0=40),
        line("——副题一行", 90, 20),
        *(line(f"正文第{i}行。", 130 + 15 * i, 10) for i in range(6)),
    ]
    blocks = layout_blocks(lines)
    assert [b.text() for b in blocks[:2]] == ["全力以赴打造数字经济发展新高地", "——副题一行"]
    assert blocks[0].heading and blocks[1].heading and not blocks[2].heading


def test_generous_leading_does_not_read_across_columns() -> None:
    # Two columns, lines 10 high at a pitch of 20: each gap between lines is as wide as
    # a line, wider than a fixed row cut, yet it is leading, not a row boundary.
    lines = [
        LayoutLine(f"{side}栏第{i}行", 1, (x0, 20.0 * i, x0 + 100, 20.0 * i + 10))
        for side, x0 in (("左", 0.0), ("右", 120.0))
        for i in range(8)
    ]
    (left, right) = layout_blocks(lines)
    assert left.text().startswith("左栏第0行左栏第1行") and "右" not in left.text()
    assert right.text().startswith("右栏第0行")


def test_alto_blocks_split_at_indents_unless_the_text_is_centred() -> None:
    def block(starts: list[float]) -> LayoutBlock:
        return LayoutBlock(
            [LayoutLine(f"第{i}行", 1, (x0, 15.0 * i, 300.0, 15.0 * i + 10)) for i, x0 in enumerate(starts)]
        )

    indented = block([20, 0, 0, 20, 0])  # two paragraphs, first lines indented
    centred = block([40, 0, 60, 30, 50])  # verse or a notice: most lines start elsewhere
    assert [len(b.lines) for b in split_paragraphs([indented])] == [3, 2]
    assert [len(b.lines) for b in split_paragraphs([centred])] == [5]


@pytest.mark.parametrize(
    "style",
    [
        "body { line-height: 1.9; } h1 { font-size: 30pt; width: 60%; margin: 0 auto 3mm; }",
        "p { margin: 0 0 0.7em; text-indent: 0; } .cols { column-count: 4; }",
    ],
    ids=["leading-1.9-wrapped-headline", "spaced-paragraphs-4-columns"],
)
def test_pdf_layouts_give_the_txt_pages_titles_and_paragraphs(
    style: str, txt_articles: list, tmp_path: Path
) -> None:
    if pages.CHROMIUM is None:
        pytest.skip(f"needs Chromium to print the test page ({pages.CHROMIUM_INSTALL})")
    pdf = pages.render_pdf(pages.seed_page(), tmp_path / "page-2023-04-20.pdf", style=style)
    articles = list(iter_articles([pdf]))
    assert [a.title for a in articles] == [a.title for a in txt_articles]
    assert [a.kicker for a in articles] == [a.kicker for a in txt_articles]
    assert [[p.text for p in a.paragraphs] for a in articles] == [
        [p.text for p in a.paragraphs] for a in txt_articles
    ]


HOCR = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
 "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><meta name='ocr-system' content='tesseract'/></head>
<body><div class='ocr_page' id='page_1' title='image "x.png"; bbox 0 0 1000 800; ppageno 0'>
<div class='ocr_carea'><p class='ocr_par'>
<span class='ocr_line' title="bbox 300 20 700 80"><span class='ocrx_word' title='bbox 300 20 700 80'>市长调研数字经济</span></span>
</p></div>
<div class='ocr_carea'><p class='ocr_par'>
<span class='ocr_line' title="bbox 520 100 900 125"><span class='ocrx_word' title='bbox 520 100 900 125'>右栏：何雄先后来到盛见网络科技。</span></span>
<span class='ocr_line' title="bbox 20 100 400 125"><span class='ocrx_word' title='bbox 20 100 200 125'>本报讯(记者</span> <span class='ocrx_word' title='bbox 210 100 400 125'>王际宾) 4月18日,</span></span>
<span class='ocr_line' title="bbox 20 135 400 160"><span class='ocrx_word' title='bbox 20 135 400 160'>市长调研数字经济发展情况。</span></span>
</p></div></div></body></html>
"""


def test_hocr_lines_are_read_in_column_order(tmp_path: Path) -> None:
    path = tmp_path / "scan.hocr"
    path.write_text(HOCR, encoding="utf-8")
    (article,) = list(iter_articles([path]))
    assert article.title == "市长调研数字经济"
    assert article.text.index("市长调研数字经济发展情况") < article.text.index("右栏")
    assert article.paragraphs[0].regions[0].page == 1


@pytest.fixture(scope="module")
def page_image(made: dict) -> Path:
    return pages.render_image(made["pdf"], made["dir"] / "scan.png")


@pytest.mark.slow
@TESSERACT_SKIP
def test_ocr_of_the_page_image_gives_the_two_articles(page_image: Path, txt_articles: list) -> None:
    articles = list(iter_articles([page_image], options=IngestOptions(ocr=True)))
    assert [a.title for a in articles] == [a.title for a in txt_articles]
    for ocr, txt in zip(articles, txt_articles, strict=True):
        assert character_error_rate(txt.text, ocr.text) < 0.05
        assert ocr.paragraphs[0].regions[0].boxes  # pixels of the 200-dpi image


def test_page_image_without_ocr_names_the_flag(tmp_path: Path) -> None:
    from PIL import Image

    image = tmp_path / "scan.png"
    Image.new("L", (800, 1000), 255).save(image)
    with pytest.raises(BadInput, match="OCR") as caught:
        list(iter_articles([image]))
    assert caught.value.options == ("ocr",)


@pytest.mark.parametrize("name", ["notes.png", "notes.jpg", "NOTES.JPEG", "notes.tif", "empty.png"])
@pytest.mark.parametrize("ocr", [False, True])
def test_a_text_file_named_like_an_image_is_told_it_is_not_one(
    tmp_path: Path, name: str, ocr: bool
) -> None:
    # Issue 26 item 6: it was told it is a page image to read with --ocr.
    path = tmp_path / name
    path.write_text("" if name.startswith("empty") else "一段文字。\nplain text\n", encoding="utf-8")
    with pytest.raises(BadInput, match="not a PNG, JPEG or TIFF image") as caught:
        list(iter_articles([path], options=IngestOptions(ocr=ocr)))
    assert "OCR" not in str(caught.value) and caught.value.options == ()
    stats = IngestStats()
    assert list(iter_articles([path], options=IngestOptions(skip_bad=True), stats=stats)) == []
    assert stats.skipped == 1


def test_the_cli_says_a_text_file_named_png_is_not_an_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from semsearch.service.cli import main
    from tests.helpers.api import build_index

    index = build_index(tmp_path / "index")
    files = {p: p.stat().st_size for p in index.rglob("*") if p.is_file()}
    fake = tmp_path / "page.png"
    fake.write_text("一段文字。\n", encoding="utf-8")
    for extra in ([], ["--ocr"]):
        assert main(["ingest", str(fake), "--index", str(index), *extra]) == 2
        err = capsys.readouterr().err
        assert err == (
            f"semsearch: error: {fake}: named .png but not a PNG, JPEG or TIFF image (its first"
            f" bytes are {fake.read_bytes()[:8]!r}); if it holds text, name it .txt\n"
        )
    assert {p: p.stat().st_size for p in index.rglob("*") if p.is_file()} == files


def test_missing_tesseract_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    from semsearch.embedder import ocr

    image = tmp_path / "scan.png"
    Image.new("L", (800, 1000), 255).save(image)
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract binary on it
    ocr.tesseract.cache_clear()
    try:
        with pytest.raises(InputError, match=re.escape("apt-get install tesseract-ocr")):
            list(iter_articles([image], options=IngestOptions(ocr=True)))
    finally:
        ocr.tesseract.cache_clear()


# ------------------------------------------------------------------ hostile files


def test_truncated_pdf_is_refused_or_skipped(made: dict, tmp_path: Path) -> None:
    truncated = tmp_path / "cut.pdf"
    truncated.write_bytes(made["pdf"].read_bytes()[:4000])
    with pytest.raises(BadInput, match="not a readable PDF"):
        list(iter_articles([truncated]))
    stats = IngestStats()
    good = list(
        iter_articles([truncated, made["pdf"]], options=IngestOptions(skip_bad=True), stats=stats)
    )
    assert len(good) == 2 and stats.skipped == 1


def test_hundred_page_pdf_is_refused(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument.new()
    for _ in range(100):
        document.new_page(595, 842)
    path = tmp_path / "book.pdf"
    document.save(str(path))
    document.close()
    with pytest.raises(BadInput, match="100 pages") as caught:
        list(iter_articles([path]))
    assert caught.value.options == ("max_pages",)


def test_pdf_without_text_layer_asks_for_ocr(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument.new()
    document.new_page(595, 842)
    path = tmp_path / "scan.pdf"
    document.save(str(path))
    document.close()
    with pytest.raises(BadInput, match="no text layer") as caught:
        list(iter_articles([path]))
    assert caught.value.options == ("ocr",)


BOMB = """<?xml version="1.0"?>
<!DOCTYPE alto [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v3#"><Layout><Page><PrintSpace>
<TextBlock ID="b1"><TextLine><String CONTENT="&d;"/></TextLine></TextBlock>
</PrintSpace></Page></Layout></alto>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE alto [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v3#"><Layout><Page><PrintSpace>
<TextBlock ID="b1"><TextLine><String CONTENT="x"/>&secret;</TextLine></TextBlock>
</PrintSpace></Page></Layout></alto>
"""


@pytest.mark.parametrize("content", [BOMB, EXTERNAL], ids=["billion-laughs", "external-entity"])
def test_xml_entities_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "page.xml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInput, match="declares entities"):
        list(iter_articles([path]))
    mets = tmp_path / "issue.mets.xml"
    mets.write_text(
        content.replace("<alto", "<mets").replace("</alto>", "</mets>"), encoding="utf-8"
    )
    with pytest.raises(BadInput, match="declares entities"):
        list(iter_articles([mets]))


def test_mets_may_not_reach_outside_its_folder(made: dict, tmp_path: Path) -> None:
    mets = tmp_path / "issue.mets.xml"
    mets.write_text(
        made["mets"].read_text(encoding="utf-8").replace("page.alto.xml", "../../etc/passwd.xml"),
        encoding="utf-8",
    )
    with pytest.raises(BadInput, match="outside the METS folder"):
        list(iter_articles([mets]))


def test_image_that_is_not_a_page(tmp_path: Path) -> None:
    from PIL import Image

    icon = tmp_path / "icon.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(icon)
    with pytest.raises(BadInput, match="too small to be a page"):
        list(iter_articles([icon], options=IngestOptions(ocr=True)))
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(BadInput, match="not a readable image"):
        list(iter_articles([fake], options=IngestOptions(ocr=True)))


@TESSERACT_SKIP
def test_blank_image_has_no_text(tmp_path: Path) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (1200, 1600), 255).save(blank)
    with pytest.raises(BadInput, match="no text recognised"):
        list(iter_articles([blank], options=IngestOptions(ocr=True)))


# ------------------------------------------------------------- end to end, real model


@pytest.mark.slow
def test_cli_ingests_a_pdf_page_and_a_bad_pdf_changes_nothing(
    cli: Cli, made: dict, model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json


    index = str(tmp_path / "index")
    common = ["--index", index, "--model-dir", str(model_dir)]
    assert cli(["ingest", str(made["pdf"]), *common, "--json"]) == 0
    capsys.readouterr()
    assert cli(["search", "the mayor visited digital economy companies", *common, "--json"]) == 0
    hit = json.loads(capsys.readouterr().out)["results"][0]
    assert hit["title"] == "促进数字技术与实体经济深度融合全力以赴打造数字经济发展新高地"
    assert hit["layout"][0]["page"] == 1 and hit["layout"][0]["boxes"]
    before = cli(["info", "--index", index, "--json"]), capsys.readouterr().out
    truncated = tmp_path / "cut.pdf"
    truncated.write_bytes(made["pdf"].read_bytes()[:4000])
    assert cli(["ingest", str(truncated), str(made["alto"]), *common]) == 2
    err = capsys.readouterr().err
    assert err.startswith("semsearch: error:") and err.count("\n") == 1 and "cut.pdf" in err
    assert (cli(["info", "--index", index, "--json"]), capsys.readouterr().out) == before
    assert cli(["ingest", str(truncated), str(made["alto"]), *common, "--skip-bad"]) == 0
    assert "1 skipped" in capsys.readouterr().out


def test_character_error_rate_matches_the_textbook_edit_distance() -> None:
    import random

    def textbook(a: str, b: str) -> int:
        previous = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            current = [i]
            for j, cb in enumerate(b, 1):
                current.append(
                    min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
                )
            previous = current
        return previous[-1]

    rng = random.Random(7)
    for _ in range(500):
        a = "".join(rng.choice("新闻ab") for _ in range(rng.randint(0, 70)))
        b = "".join(rng.choice("新闻abc") for _ in range(rng.randint(0, 70)))
        assert character_error_rate(a, b) * max(1, len(a)) == pytest.approx(textbook(a, b))


@pytest.mark.slow
@TESSERACT_SKIP
def test_image_only_pdf_is_read_with_ocr(page_image: Path, txt_articles: list, tmp_path: Path) -> None:
    # The lower part of the page: the second article only, so the OCR takes less time.
    scan = pages.image_only_pdf(page_image, tmp_path / "scan.pdf", crop_top=0.38)
    with pytest.raises(BadInput, match="no text layer"):
        list(iter_articles([scan]))
    (article,) = list(iter_articles([scan], options=IngestOptions(ocr=True)))
    assert article.title == txt_articles[1].title
    assert character_error_rate(txt_articles[1].text, article.text) < 0.05
    (x0, y0, x1, y1) = article.paragraphs[0].regions[0].boxes[0]
    assert 0 <= x0 < x1 <= 842 and 0 <= y0 < y1  # PDF points, not image pixels


def test_api_returns_page_and_boxes(made: dict, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from semsearch.embedder.ingest import prepare_articles
    from semsearch.service.app import create_app
    from semsearch.service.config import ServiceSettings
    from semsearch.service.runtime import Runtime

    embedder = FakeEmbedder()
    with Collection.create(tmp_path / "index", embedder) as collection:
        collection.upsert(prepare_articles([made["pdf"]], embedder))
    settings = ServiceSettings(batch_window_ms=0, page_dirs=(tmp_path,))
    runtime = Runtime(tmp_path / "index", embedder, settings)
    try:
        with TestClient(create_app(runtime)) as client:
            hits = client.get("/search", params={"q": "数字经济", "k": 1}).json()["results"]
            layout = hits[0]["passage"]["layout"]
            assert layout[0]["page"] == 1 and len(layout[0]["boxes"][0]) == 4
            passage = client.get(f"/passages/{hits[0]['passage']['id']}").json()
            assert passage["layout"] == layout
    finally:
        runtime.close()


def test_a_folder_with_mets_reads_its_alto_only_through_the_mets(
    made: dict, txt_articles: list, tmp_path: Path
) -> None:
    folder = tmp_path / "issue"
    folder.mkdir()
    shutil.copy(made["alto"], folder / "page.alto.xml")
    shutil.copy(made["one_article_mets"], folder / "issue.mets.xml")
    stats = IngestStats()
    (article,) = list(iter_articles([folder], stats=stats))  # not the page's two as well
    assert stats.files == 1 and article.title == txt_articles[0].title


def test_page_route_draws_the_source_page_with_the_hit_marked(made: dict, tmp_path: Path) -> None:
    import io
    import json

    import numpy as np
    from fastapi.testclient import TestClient
    from PIL import Image

    from semsearch.embedder.ingest import prepare_articles
    from semsearch.embedder.page_image import BOX_COLOUR, PDF_SCALE
    from semsearch.service.app import create_app
    from semsearch.service.config import ServiceSettings
    from semsearch.service.runtime import Runtime

    # ALTO names no page picture here: its articles get no page file.
    assert all(a.page_file is None for a in iter_articles([made["alto"]]))
    pdf = Path(shutil.copy(made["pdf"], tmp_path / "edition.pdf"))
    hostile = tmp_path / "hostile.jsonl"
    # A record naming a page file of its own: it has no page regions, so it gets no pages.
    hostile.write_text(
        json.dumps({"id": "rec", "title": "t", "text": "数字经济", "page_file": str(pdf)}) + "\n",
        encoding="utf-8",
    )
    embedder = FakeEmbedder()
    with Collection.create(tmp_path / "index", embedder) as collection:
        collection.upsert(prepare_articles([pdf, hostile], embedder))
    settings = ServiceSettings(batch_window_ms=0, page_dirs=(tmp_path,))
    runtime = Runtime(tmp_path / "index", embedder, settings)

    def boxed(image: Image.Image) -> np.ndarray:
        return (np.asarray(image.convert("RGB")) == BOX_COLOUR).all(axis=2)

    try:
        with TestClient(create_app(runtime)) as client:
            hits = client.get("/search", params={"q": "数字经济", "k": 10}).json()["results"]
            hit = next(h for h in hits if h["passage"]["layout"])
            article_id, passage = hit["article"]["id"], hit["passage"]
            assert runtime.collection.page_file(article_id) == str(pdf.resolve())
            plain = client.get(f"/articles/{article_id}/pages/1")
            assert plain.status_code == 200 and plain.headers["content-type"] == "image/png"
            marked = client.get(f"/articles/{article_id}/pages/1", params={"passage": passage["id"]})
            assert marked.status_code == 200
            image = Image.open(io.BytesIO(marked.content))
            assert image.width == pytest.approx(842 * PDF_SCALE, abs=2)  # A3 in points
            assert not boxed(Image.open(io.BytesIO(plain.content))).any()
            mask = boxed(image)
            assert mask.sum() > 100
            x0, y0, x1, y1 = (round(v * PDF_SCALE) for v in passage["layout"][0]["boxes"][0])
            assert mask[y0 - 4 : y1 + 4, x0 - 4 : x1 + 4].any()  # the box is where the text is
            # No such page, no such passage, a record's own field, a file moved away.
            assert client.get(f"/articles/{article_id}/pages/2").status_code == 404
            assert client.get(f"/articles/{article_id}/pages/0").status_code == 422
            missing = client.get(f"/articles/{article_id}/pages/1", params={"passage": 10**6})
            assert missing.status_code == 404
            assert client.get("/articles/rec/pages/1").status_code == 404
            pdf.rename(tmp_path / "moved.pdf")
            gone = client.get(f"/articles/{article_id}/pages/1")
            assert gone.status_code == 404 and str(tmp_path) not in gone.text
    finally:
        runtime.close()
