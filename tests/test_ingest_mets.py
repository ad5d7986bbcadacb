"""METS issues in the libraries' profiles: British Library (structLink arcs to page areas
naming ALTO word ranges) and Europeana Newspapers (areas inside article divisions, files
under ``file://./`` URLs). Fixtures: tests/fixtures (self-made, see the README there).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from semsearch.embedder.ingest import IngestStats, iter_articles
from semsearch.embedder.reading import BadInput

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BL = FIXTURES / "mets-bl" / "0000001_18550922_mets.xml"
EUROPEANA = FIXTURES / "mets-europeana" / "18210801_1" / "18210801_1-METS.xml"


def test_british_library_articles_come_from_structlink_arcs() -> None:
    articles = list(iter_articles([BL]))
    assert [a.title for a in articles] == [
        "LATEST INTELLIGENCE.",  # a block set large
        "THE HARVEST.",  # the MODS title, its printed line taken out of the body
        "Corn was sold at forty shillings a quarter.",  # neither: the first sentence
    ]
    assert {a.date for a in articles} == {"1855-09-22"}
    assert {a.source for a in articles} == {"The Test Gazette."}
    assert all("GAZETTE" not in a.text for a in articles)  # the masthead is in no article
    first, harvest, corn = articles
    # Indented first lines inside one ALTO block start paragraphs.
    assert [p.text[:8] for p in first.paragraphs] == ["The mail", "A public"]
    # Continued on page 2: one paragraph rejoined across the page break.
    (paragraph,) = harvest.paragraphs
    assert "THE HARVEST" not in harvest.text
    assert "every parish of the county, and prices" in paragraph.text
    assert [r.page for r in paragraph.regions] == [1, 2]
    # Page 2's first block is shared: the areas' word ranges split it between articles.
    assert "Corn was sold" not in harvest.text and corn.text.startswith("Corn was sold")


def test_old_style_smlink_elements_link_articles_too(tmp_path: Path) -> None:
    folder = tmp_path / "issue"
    shutil.copytree(BL.parent, folder)
    mets = folder / BL.name
    text = mets.read_text(encoding="utf-8")
    start, end = text.index("<mets:structLink>"), text.index("</mets:structLink>")
    links = {
        "art0001": ["pa0001001", "pa0001002"],
        "art0002": ["pa0001003", "pa0001004", "pa0002001"],
        "art0003": ["pa0002003", "pa0002002"],
    }
    old = "".join(
        f'<mets:smLink xlink:from="{article}" xlink:to="{area}"/>'
        for article, areas in links.items()
        for area in areas
    )
    mets.write_text(text[: start + len("<mets:structLink>")] + old + text[end:], encoding="utf-8")
    assert [a.id for a in iter_articles([mets])] == [a.id for a in iter_articles([BL])]


def test_europeana_profile_reads_headings_sections_and_advertisements() -> None:
    articles = list(iter_articles([EUROPEANA]))
    assert [(a.title, a.section) for a in articles] == [
        ("– ALLEMAGNE, NOUVELLES DE VIENNE.", None),  # two MODS titleInfo parts
        ("LA FOIRE DE BEAUCAIRE", None),
        ("Cours du 31 juillet", "Bourse de Paris."),  # the section's MODS title
        ("A VENDRE, une maison de campagne près de Sceaux.", "advertisement"),
    ]
    vienne, foire, _, advert = articles
    assert {a.date for a in articles} == {"1821-08-01"}  # MODS dateIssued 01.08.1821
    assert {a.source for a in articles} == {"Le Journal d'essai"}
    assert foire.kicker == "On nous écrit de Lyon"  # OVERLINE
    assert foire.subtitle == "Les marchands sont moins nombreux que l'an passé"  # SUBHEADLINE
    assert "ALLEMAGNE" not in vienne.text and len(vienne.paragraphs) == 3
    # The advertisement is a record of its own, never glued to an article.
    assert all("Sceaux" not in a.text for a in articles if a is not advert)
    assert all("JOURNAL D'ESSAI" not in a.text.upper() for a in articles)  # masthead


@pytest.mark.parametrize(
    ("href", "reason"),
    [
        ("file://./../outside.xml", "outside the METS folder"),
        ("file:///etc/outside.xml", "outside the METS folder"),
        ("../ALTO/../../outside.xml", "outside the METS folder"),
        ("file://server/share/page.xml", "only local files are read"),
        ("https://example.org/page.xml", "only local files are read"),
    ],
)
def test_paths_leaving_the_mets_folder_stay_refused(tmp_path: Path, href: str, reason: str) -> None:
    folder = tmp_path / "issue" / "18210801_1"
    shutil.copytree(EUROPEANA.parent, folder)
    (tmp_path / "issue" / "outside.xml").write_text("<alto/>", encoding="utf-8")
    mets = folder / EUROPEANA.name
    text = mets.read_text(encoding="utf-8").replace("file://./ALTO/18210801_1-0001.xml", href)
    mets.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput, match=reason):
        list(iter_articles([mets]))


def test_missing_alto_is_an_error_but_missing_images_are_not(tmp_path: Path) -> None:
    folder = tmp_path / "18210801_1"
    shutil.copytree(EUROPEANA.parent, folder)
    assert not (folder / "Viewing").exists()  # the page images are not shipped
    assert len(list(iter_articles([folder / EUROPEANA.name]))) == 4
    (folder / "ALTO" / "18210801_1-0001.xml").unlink()
    with pytest.raises(BadInput, match="named in the METS is missing"):
        list(iter_articles([folder / EUROPEANA.name]))


def test_an_area_naming_an_unknown_block_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "18210801_1"
    shutil.copytree(EUROPEANA.parent, folder)
    mets = folder / EUROPEANA.name
    mets.write_text(
        mets.read_text(encoding="utf-8").replace('BEGIN="P1_TB00012"', 'BEGIN="P1_TB09999"'),
        encoding="utf-8",
    )
    with pytest.raises(BadInput, match="P1_TB09999"):
        list(iter_articles([mets]))


def test_an_issue_folder_is_read_through_its_mets_only(tmp_path: Path) -> None:
    folder = tmp_path / "bl"
    shutil.copytree(BL.parent, folder)
    stats = IngestStats()
    articles = list(iter_articles([folder], stats=stats))
    assert stats.files == 1 and len(articles) == 3  # the ALTO pages are not read again


NDNP = FIXTURES / "ndnp" / "sn84038814" / "1858081301" / "1858081301.xml"


def test_ndnp_issue_pages_are_segmented_into_articles() -> None:
    # Library of Congress NDNP (Chronicling America): the issue METS names each page's
    # TIFF, JP2, PDF and ALTO (only the ALTO shipped) in a structMap without article
    # divisions, so the pages are segmented like printed pages.
    articles = list(iter_articles([NDNP]))
    assert {a.date for a in articles} == {"1858-08-13"}  # the issue MODS dateIssued
    pages = [{r.page for p in a.paragraphs for r in p.regions} for a in articles]
    assert {1} in pages and {2} in pages  # page order from the fileSec
    titles = [a.title for a in articles]
    # docWorks writes the masthead column as one block and sizes its headings per word:
    # the block is cut at them, so the publisher's notice and the weekly's stand apart.
    assert "DAILY DEMOCRAT" in titles and "THE WEEKLY 7 DEMOCRAT" in titles
    daily = articles[titles.index("DAILY DEMOCRAT")]
    # The masthead is set far larger than the imprint under it: the headline, not a kicker.
    assert daily.subtitle == "_ PUBLISHKD DAILY( MONDAYS KXCKPTKD) BY A S RANDALL & CO."
    assert daily.text.startswith("A. R. RANDALL, S. R. CHRISTIAN") and "WEEKLY" not in daily.text


def test_ndnp_editorial_headlines_in_body_type_open_articles() -> None:
    # Page 2 of the same issue (its editorial columns, cut down): docWorks wrote each
    # headline, set in the body type, as a one-line block centred over its column, or as
    # a centred line inside the column's block; the local items open with run-in heads.
    # Before, the columns came out as one 23,000-character piece under the masthead.
    articles = [
        a for a in iter_articles([NDNP]) if {r.page for p in a.paragraphs for r in p.regions} == {2}
    ]
    titles = [a.title for a in articles]
    assert titles == [
        "Itoiln *htioiuilDemocrat.",  # Daily National Democrat (the masthead, set large)
        "rniniv, n <«. I*»",  # MARYSVILLE, FRIDAY, AUG. 13 (the editorial page's dateline)
        "DEMOCRATIC COI N TY TICKET.",  # centred lines set off inside the masthead column
        "COMMITTEE NOTICE.",
        "TO OVK PAVROM.",  # TO OUR PATRONS. (a block of its own over column 1)
        "Jl.utvsviLi.K Park Oot itSK",  # MARYSVILLE PARK COURSE.— (run-in)
        "Kia onoitn’s Cornr",  # RECORDER'S COURT.— (run-in)
        "The LNompten “hue and cry.'’",  # The Lecompton "hue and cry." (over column 2)
        "Tile < 011 my Ticket.",  # The County Ticket.
        "The Mountains Rejoicing",  # a run-in at the top of a block
    ]
    patrons = articles[titles.index("TO OVK PAVROM.")]
    assert patrons.text.startswith("There has I n no change") and "pacing" not in patrons.text
    court = articles[titles.index("Kia onoitn’s Cornr")]
    assert court.text.startswith("I. Flckert was fined") and "pacing" not in court.text
    assert max(len(a.text) for a in articles) < 2_500


def test_alto_headings_declared_on_words_split_a_block(tmp_path: Path) -> None:
    styles = '<TextStyle ID="body" FONTSIZE="8"/><TextStyle ID="big" FONTSIZE="16"/>'
    lines = [("big", "LOCAL NEWS"), (None, "The council met on Monday and agreed")]
    lines += [(None, "to pave the road to the mill this year.")] * 3
    body = "".join(
        f'<TextLine HPOS="0" VPOS="{40 * n}" WIDTH="900" HEIGHT="30">'
        + "".join(
            f'<String CONTENT="{word}"' + (f' STYLEREFS="{style}"' if style else "") + "/>"
            for word in text.split()
        )
        + "</TextLine>"
        for n, (style, text) in enumerate(lines)
    )
    page = tmp_path / "page.xml"
    page.write_text(
        '<alto xmlns="http://www.loc.gov/standards/alto/ns-v2#">'
        f"<Styles>{styles}</Styles><Layout><Page ID='P1'><PrintSpace>"
        f'<TextBlock ID="TB1" STYLEREFS="body">{body}</TextBlock>'
        "</PrintSpace></Page></Layout></alto>",
        encoding="utf-8",
    )
    (article,) = iter_articles([page])
    assert article.title == "LOCAL NEWS"
    assert article.text.startswith("The council met")


KB = FIXTURES / "kb-didl" / "DDD_ddd_010179815_mpeg21"


def test_kb_didl_edition_gives_its_articles_from_the_alto_blocks() -> None:
    # KB (Delpher): didl.xml names the pages' ALTO files and each article's TextBlocks;
    # the file uses xsi:type without declaring xsi, as KB's files cut from OAI do.
    articles = list(iter_articles([KB / "didl.xml"]))
    assert [a.title for a in articles] == [
        # KB's title is only the first line, cut mid-word ("refide-"): the first sentence
        # names the notice instead.
        "De Notaris HARM JAN VAN BOLHUIS, refiderende te Middeljium .",
        "EXTRA VERKOOPING.",
        "Advertentie",
    ]
    assert {a.date for a in articles} == {"1813-11-16"}
    assert {a.source for a in articles} == {
        "Advertentieblad, bekendmakingen en onderscheidene berigten van Groningen"
    }
    _, sale, advert = articles
    assert advert.section == "advertisement"  # dc:subject advertentie: kept apart
    pages = [sorted({r.page for p in a.paragraphs for r in p.regions}) for a in articles]
    assert pages == [[1], [1, 2], [2]]  # the sale runs on from page 1 to page 2
    assert "EXTRA VERKOOPING" not in sale.text


def test_kb_edition_folder_reads_the_didl_only() -> None:
    # The ALTO pages and the article-text files are read through the DIDL, not as files.
    from_folder = [a.id for a in iter_articles([KB])]
    assert from_folder == [a.id for a in iter_articles([KB / "didl.xml"])]


def test_kb_didl_naming_a_missing_block_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "edition"
    shutil.copytree(KB, folder)
    didl = folder / "didl.xml"
    didl.write_text(
        didl.read_text(encoding="utf-8").replace('ID="P1_TB00006"', 'ID="P1_TB09999"'),
        encoding="utf-8",
    )
    with pytest.raises(BadInput, match="P1_TB09999"):
        list(iter_articles([didl]))


def test_only_namespace_errors_are_forgiven(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<alto><Layout><Page></Layout></alto>", encoding="utf-8")
    with pytest.raises(BadInput, match="not well-formed"):
        list(iter_articles([broken]))


def test_issue_dates_reach_back_to_the_first_newspapers() -> None:
    from semsearch.embedder.dates import normalize_date

    assert normalize_date("1750-05-15") == "1750-05-15"  # a Delpher edition's dc:date
    assert normalize_date("1599-01-01") is None


def _alto_page(path: Path, number: int, lines: list[tuple[str, int]]) -> Path:
    # One ALTO page; each (text, height) is a line of its own block, top to bottom.
    blocks = "".join(
        f'<TextBlock ID="B{n}"><TextLine HPOS="100" VPOS="{100 + 60 * n}" WIDTH="800"'
        f' HEIGHT="{height}">'
        + "".join(f'<String CONTENT="{word}"/>' for word in text.split())
        + "</TextLine></TextBlock>"
        for n, (text, height) in enumerate(lines)
    )
    path.write_text(
        '<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#"><Layout>'
        f'<Page ID="P{number}" PHYSICAL_IMG_NR="{number}"><PrintSpace>{blocks}'
        "</PrintSpace></Page></Layout></alto>",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("to", "back"),
    [
        ("（下转第2版）", "（上接第1版）"),
        ("(Continued on Page 2)", "(Continued from Page 1)"),
        ("（下转第2版）", "〈上接第]版）|"),  # as OCR reads it, on a line of its own
    ],
)
def test_an_article_continued_in_the_next_page_file_is_joined(
    tmp_path: Path, to: str, back: str
) -> None:
    first = _alto_page(
        tmp_path / "p1.xml",
        1,
        [("Council votes on the bridge", 60), ("The council met on Monday and agreed.", 30),
         (f"The vote was close. {to}", 30), ("Fair opens", 60), ("The fair opens today.", 30)],
    )  # fmt: skip
    second = _alto_page(
        tmp_path / "p2.xml",
        2,
        [*([(back[:-1], 30)] if back.endswith("|") else []),
         (f"{'' if back.endswith('|') else back} Work starts in May, the mayor said.", 30),
         ("Weather", 60), ("Rain is expected.", 30)],
    )  # fmt: skip
    articles = list(iter_articles([first, second]))
    titles = [a.title for a in articles]
    # In reading order: the article waits for its continuation, those after it with it.
    assert titles == ["Council votes on the bridge", "Fair opens", "Weather"]
    bridge = articles[titles.index("Council votes on the bridge")]
    assert bridge.text.endswith("The vote was close.\n\nWork starts in May, the mayor said.")
    # The continuation's boxes name page 2 of the other file: they are not kept.
    assert [sorted({r.page for r in p.regions}) for p in bridge.paragraphs] == [[1], [1], []]
    # Read alone, the first file keeps its article whole up to the jump, not lost.
    (alone,) = [a for a in iter_articles([first]) if a.title.startswith("Council")]
    assert alone.text.endswith("The vote was close.")
