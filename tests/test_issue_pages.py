"""The page view for METS issues and KB editions: the page images they name (when shipped),
with boxes in ALTO units scaled onto them."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from semsearch.embedder.errors import InputError
from semsearch.embedder.ingest import iter_articles
from semsearch.embedder.page_image import BOX_COLOUR, page_png
from semsearch.embedder.reading import BadInput

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EUROPEANA = FIXTURES / "mets-europeana" / "18210801_1"
KB = FIXTURES / "kb-didl" / "DDD_ddd_010179815_mpeg21"


def _scan(path: Path, size: tuple[int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, "white").save(path)  # JPEG 2000 by the suffix, as named


def test_a_mets_issue_with_its_page_images_gets_a_page_view(tmp_path: Path) -> None:
    issue = tmp_path / "18210801_1"
    shutil.copytree(EUROPEANA, issue)
    mets = issue / "18210801_1-METS.xml"
    assert all(a.page_file is None for a in iter_articles([mets]))  # images not shipped
    # The access copy at a quarter of the 2000 x 3000 master the ALTO measures.
    _scan(issue / "Viewing" / "18210801_1-0001.jp2", (500, 750))
    articles = list(iter_articles([mets]))
    assert {a.page_file for a in articles} == {str(mets.resolve())}
    region = articles[0].paragraphs[0].regions[0]
    png = Image.open(io.BytesIO(page_png(mets, region.page, region.boxes)))
    assert png.size == (500, 750)
    x0, y0, _, _ = region.boxes[0]
    assert png.convert("RGB").getpixel((round(x0 / 4) + 1, round(y0 / 4) + 1)) == BOX_COLOUR


def test_a_kb_edition_draws_the_page_its_article_is_on(tmp_path: Path) -> None:
    edition = tmp_path / "edition"
    shutil.copytree(KB, edition)
    didl = edition / "didl.xml"
    _scan(edition / "DDD_010179815_001_access.jp2", (400, 600))
    articles = list(iter_articles([didl]))
    # Only the article printed on page 1 alone can be drawn: page 2 has no image.
    drawable = [a.title for a in articles if a.page_file]
    assert drawable == ["De Notaris HARM JAN VAN BOLHUIS, refiderende te Middeljium ."]
    assert Image.open(io.BytesIO(page_png(didl, 1))).size == (400, 600)
    with pytest.raises(InputError, match="image of page 2 is not there"):
        page_png(didl, 2)


def test_a_page_image_outside_the_issue_folder_is_not_drawn(tmp_path: Path) -> None:
    issue = tmp_path / "issue"
    shutil.copytree(EUROPEANA, issue)
    mets = issue / "18210801_1-METS.xml"
    text = mets.read_text(encoding="utf-8")
    mets.write_text(
        text.replace("file://./Viewing/18210801_1-0001.jp2", "../outside.jp2"), encoding="utf-8"
    )
    _scan(tmp_path / "outside.jp2", (500, 750))
    with pytest.raises(BadInput, match="outside the METS folder"):
        list(iter_articles([mets]))  # the issue is refused, as for an ALTO path
    with pytest.raises(InputError, match="outside the METS folder"):
        page_png(mets, 1)


def test_the_page_route_draws_a_mets_page_with_the_hit_marked(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from semsearch.embedder.ingest import prepare_articles
    from semsearch.index import Collection
    from semsearch.service.app import create_app
    from semsearch.service.config import ServiceSettings
    from semsearch.service.runtime import Runtime

    from .fakes import FakeEmbedder

    issue = tmp_path / "pages" / "18210801_1"
    shutil.copytree(EUROPEANA, issue)
    _scan(issue / "Viewing" / "18210801_1-0001.jp2", (500, 750))
    embedder = FakeEmbedder()
    index = tmp_path / "index"
    with Collection.create(index, embedder) as collection:
        collection.upsert(prepare_articles([issue / "18210801_1-METS.xml"], embedder))
    settings = ServiceSettings(
        api_key=SecretStr("k"), batch_window_ms=0, page_dirs=(tmp_path / "pages",)
    )
    with TestClient(create_app(Runtime(index, embedder, settings))) as client:
        hit = client.get("/search", params={"q": "Vienne", "k": 1}).json()["results"][0]
        article = client.get(f"/articles/{hit['article']['id']}").json()
        assert article["has_pages"]
        passage = article["passages"][0]["id"]
        got = client.get(f"/articles/{hit['article']['id']}/pages/1", params={"passage": passage})
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(got.content)).size == (500, 750)


@pytest.mark.slow
def test_library_profiles_are_searchable_with_the_real_model(
    tmp_path: Path, real_embedder: object
) -> None:
    # NDNP and KB issues as the libraries publish them, through ingest and a hybrid search.
    from semsearch.embedder.ingest import prepare_articles
    from semsearch.index import Collection

    issues = [FIXTURES / "ndnp", KB]
    with Collection.create(tmp_path / "index", real_embedder) as collection:  # type: ignore[arg-type]
        collection.upsert(prepare_articles(issues, real_embedder))  # type: ignore[arg-type]
        dutch = collection.search("verkooping van lakens en katoenen", k=1)
        english = collection.search("weekly newspaper subscription terms", k=3)
    assert dutch.results[0].title == "EXTRA VERKOOPING."
    assert "THE WEEKLY 7 DEMOCRAT" in [hit.title for hit in english.results]
