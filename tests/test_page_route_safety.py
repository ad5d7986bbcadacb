"""The page route draws only files ingest read, under the operator's directories, bounded.

Issue 26, items 1 and 2: a record re-sent with ``"page_file"`` once made the route draw any
file the server could read; a page of 14,400 points once took gigabytes to draw.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import SecretStr

from semsearch.embedder.ingest import prepare_articles
from semsearch.embedder.page_bounds import PageBounds
from semsearch.embedder.page_image import page_png
from semsearch.embedder.records import Article, Paragraph, Passage
from semsearch.index import Collection
from semsearch.service.app import create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.page_access import allowed_page_file
from semsearch.service.runtime import Runtime
from tests.fakes import FakeEmbedder

from .text_pdf import text_pdf

KEY = "page-test-key"
BODY = [f"The harbour board met on Tuesday to weigh item {i} of the budget" for i in range(10)]


def _snapshot(index: Path) -> list[tuple]:
    """Every article row but its metadata, every passage and page file row."""
    columns = "id, title, text, date, source, section, url, author, content_hash"
    with sqlite3.connect(index / "collection.sqlite") as conn:
        articles = conn.execute(f"SELECT {columns} FROM articles ORDER BY id").fetchall()
        passages = conn.execute("SELECT * FROM passages ORDER BY id").fetchall()
        files = conn.execute("SELECT * FROM page_files ORDER BY article_id").fetchall()
    return [*articles, *passages, *files]


@pytest.fixture()
def paged(tmp_path: Path) -> Iterator[tuple[TestClient, Path, Path, Runtime]]:
    """A collection with one article read from a PDF under an allowed directory."""
    pages = tmp_path / "pages"
    pages.mkdir()
    pdf = text_pdf(pages / "edition-2023-04-20.pdf", "Harbour board approves budget", BODY)
    embedder = FakeEmbedder()
    index = tmp_path / "index"
    with Collection.create(index, embedder) as collection:
        collection.upsert(prepare_articles([pdf], embedder))
    settings = ServiceSettings(api_key=SecretStr(KEY), batch_window_ms=0, page_dirs=(pages,))
    runtime = Runtime(index, embedder, settings)
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client, index, pdf, runtime
    runtime.close()


def _only_article(client: TestClient) -> dict:
    hits = client.get("/search", params={"q": "harbour budget", "k": 5}).json()["results"]
    return client.get(f"/articles/{hits[0]['article']['id']}").json()


def test_a_record_cannot_name_the_file_the_page_route_draws(
    paged: tuple[TestClient, Path, Path, Runtime], tmp_path: Path
) -> None:
    client, index, _, _ = paged
    article = _only_article(client)
    url = f"/articles/{article['id']}/pages/1"
    before_png = client.get(url)
    assert before_png.status_code == 200
    secret = tmp_path / "secret.png"
    Image.new("RGB", (300, 300), (0, 200, 0)).save(secret)
    before = _snapshot(index)
    resend = {k: article[k] for k in ("id", "title", "text", "date")}
    for forged in (str(secret), "secret.png", str(tmp_path / "pages" / "other.png")):
        report = client.post(
            "/articles",
            json={"articles": [{**resend, "page_file": forged}]},
            headers={"X-API-Key": KEY},
        )
        assert report.status_code == 200 and report.json()["unchanged"] == 1
        after = client.get(url)
        # Still the ingested PDF, never the forged file.
        assert after.status_code == 200 and after.content == before_png.content
    # Only the record's own (inert) metadata field changed; passages and page file did not.
    assert _snapshot(index) == before
    assert client.get(f"/articles/{article['id']}").json()["passages"] == article["passages"]


def test_a_jsonl_record_never_gets_a_page_file(tmp_path: Path) -> None:
    record = tmp_path / "r.jsonl"
    record.write_text(
        json.dumps({"id": "r", "title": "t", "text": "words", "page_file": "/etc/passwd"}) + "\n",
        encoding="utf-8",
    )
    ((article, _),) = prepare_articles([record], FakeEmbedder())
    assert article.page_file is None and article.metadata["page_file"] == "/etc/passwd"


def test_the_route_draws_only_under_the_allowed_directories(
    paged: tuple[TestClient, Path, Path, Runtime], tmp_path: Path
) -> None:
    client, index, pdf, _ = paged
    article_id = _only_article(client)["id"]
    url = f"/articles/{article_id}/pages/1"
    assert client.get(url).status_code == 200
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for dirs in ((), (elsewhere,), (pdf,)):  # none, another folder, the file itself
        runtime_settings = ServiceSettings(batch_window_ms=0, page_dirs=dirs)
        other = Runtime(index, FakeEmbedder(), runtime_settings)
        try:
            with TestClient(create_app(other)) as narrow:
                refused = narrow.get(url)
                assert refused.status_code == 404 and str(tmp_path) not in refused.text
        finally:
            other.close()
    # A link inside an allowed folder that leads out of it is refused; '..' cannot climb.
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(pdf.read_bytes())
    link = pdf.parent / "link.pdf"
    link.symlink_to(outside)
    assert allowed_page_file(str(link), [pdf.parent]) is None
    assert allowed_page_file(str(pdf.parent / ".." / "outside.pdf"), [pdf.parent]) is None
    assert allowed_page_file("edition.pdf", [Path(".")]) is None  # relative: never
    assert allowed_page_file(str(pdf), [pdf.parent]) == pdf.resolve()


def test_a_same_content_write_keeps_what_ingest_derived(tmp_path: Path) -> None:
    text = "报道正文第一段。"
    paragraph = Paragraph(index=0, text=text, start=0, end=len(text))
    derived = Article(
        id="a", title="标题", text=text, paragraphs=[paragraph], kicker="引题",
        reporters=["张昕"], author="张昕", metadata={"byline": "本报讯(记者 张昕)"},
        page_file=str(tmp_path / "p.pdf"),
    )  # fmt: skip
    passages = [Passage(article_id="a", ordinal=0, paragraph_index=0, start=0, end=8, text=text)]
    with Collection.create(tmp_path / "index", FakeEmbedder()) as collection:
        collection.upsert([(derived, passages)])
        bare = Article(id="a", title="标题", text=text, paragraphs=[paragraph], metadata={"x": 1})
        assert collection.upsert([(bare, passages)]).metadata_only == 1
        stored = collection.get_article("a")
        assert stored is not None
        assert stored["metadata"] == {
            "x": 1, "kicker": "引题", "reporters": ["张昕"], "byline": "本报讯(记者 张昕)"
        }  # fmt: skip
        assert stored["author"] == "张昕" and collection.page_file("a") == derived.page_file
        # A changed article replaces its passages: the old page file goes with them.
        changed = Article(id="a", title="新标题", text=text, paragraphs=[paragraph])
        collection.upsert([(changed, passages)])
        assert collection.page_file("a") is None
        collection.upsert([(derived, passages)])
        assert collection.delete(["a"]) == 1 and collection.page_file("a") is None


def test_a_huge_pdf_page_is_drawn_within_the_side_limit(tmp_path: Path) -> None:
    # 14,400 points square: at the usual 2 pixels a point that is 829 million pixels.
    huge = text_pdf(tmp_path / "huge.pdf", "Huge page", BODY, width=14_400, height=14_400)
    png = page_png(huge, 1, [(50, 50, 400, 90)], PageBounds(max_side=1000))
    with Image.open(io.BytesIO(png)) as drawn:
        assert drawn.size == (1000, 1000)


def test_a_page_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    from semsearch.embedder.errors import InputError

    big = tmp_path / "big.png"
    Image.new("L", (3000, 3000)).save(big)
    with pytest.raises(InputError, match="larger than the limit of 1,000,000 pixels"):
        page_png(big, 1, (), PageBounds(max_side=1000, max_pixels=1_000_000))
    shrunk = page_png(big, 1, (), PageBounds(max_side=500, max_pixels=10_000_000))
    with Image.open(io.BytesIO(shrunk)) as drawn:
        assert drawn.size == (500, 500)


def test_renders_beyond_the_limit_answer_busy(
    paged: tuple[TestClient, Path, Path, Runtime],
) -> None:
    client, _, _, _ = paged
    url = f"/articles/{_only_article(client)['id']}/pages/1"
    state = client.app.state.semsearch  # type: ignore[attr-defined]
    held = [state.page_renders.acquire(blocking=False) for _ in range(2)]
    try:
        assert all(held)
        busy = client.get(url)
        assert busy.status_code == 503 and busy.json()["error"]["code"] == "busy"
        assert busy.headers["Retry-After"]
    finally:
        for _ in held:
            state.page_renders.release()
    assert client.get(url).status_code == 200


def test_page_dirs_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_PAGE_DIRS", os.pathsep.join(["/srv/a", "/srv/b"]))
    assert ServiceSettings().page_dirs == (Path("/srv/a"), Path("/srv/b"))


def test_ingest_of_a_huge_blank_page_with_ocr_exits_2_with_one_line(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pypdfium2 as pdfium

    from semsearch.service.cli import main

    huge = tmp_path / "huge-blank.pdf"
    document = pdfium.PdfDocument.new()
    document.new_page(14_400, 14_400)
    document.save(str(huge))
    document.close()
    index = tmp_path / "index"
    # The default context: the page is refused while reading, before any model would load.
    code = main(["ingest", str(huge), "--ocr", "--index", str(index), "--model-dir", str(model_dir)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("semsearch: error: ")
    assert "larger than the limit of 50,000,000 pixels" in err and "Traceback" not in err
    assert not (index / "collection.sqlite").exists()
