"""Chronicling America (NDNP) pages: articles found against what a reader sees on the page.

NDNP issues carry no article structure, so their pages are segmented from the ALTO layout.
This scores that on two real pages of two titles and two centuries, from the NDNP test
batches in marriott-library/newspaper_works_fixtures (Apache-2.0; the newspapers are in
the public domain), not shipped here (1.3 and 0.8 MB of ALTO):

- *Daily National Democrat* (Marysville, Calif.), 13 August 1858, page 2 (``0007.xml``),
  its four editorial columns: masthead and tickets, editorials under centred headlines in
  body type, local items under run-in heads (``RECORDER'S COURT.—``).
- *The Park Record* (Park City, Utah), 2 August 1935, page 2 (``1289.xml``), its first
  and last columns: a household column, fillers under centred heads, advertisements.

The expected titles are written from the page text itself, as the OCR spells them (the
reading in the comment). An expected head is *found* when an article has it as its title,
*merged* when it sits inside another article, *missed* otherwise; an article in the
columns whose title is no expected head is a *split* (a piece broken off an article).

Run: ``python -m bench.ndnp --batches DIR`` with DIR the fixtures' ``spec/fixtures/files/
ndnp`` folder (``git clone https://github.com/marriott-library/newspaper_works_fixtures``).
"""

from __future__ import annotations

import argparse
import difflib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from semsearch.embedder.ingest import iter_articles
from semsearch.embedder.records import Article

from .corpus import BENCH_DIR
from .harness import (
    options,
    table,
    write_section,
)

# Where `make bench` looks for the fixtures' NDNP batches (a clone made by hand: nothing
# here downloads them).
DEFAULT_BATCHES = BENCH_DIR / "newspaper_works_fixtures" / "spec" / "fixtures" / "files" / "ndnp"

# Titles match when their letters agree this closely (the expected titles are spelt as
# the OCR spells them; a little slack for a kicker or a stray mark read with them).
SAME_TITLE_RATIO = 0.9


@dataclass(frozen=True)
class Page:
    """A scored page: its issue METS, page number, the columns scored and what they hold."""

    name: str
    mets: str  # relative to the batches folder
    page: int
    # The scored columns: where an article's first line may start, as (x0, y0, x1, y1) in
    # ALTO units.
    columns: tuple[tuple[float, float, float, float], ...]
    expected: tuple[str, ...]


PAGES = (
    Page(
        "Daily National Democrat, 1858-08-13, p. 2, editorial columns 1-4",
        "batch_test_ver01/data/sn84038814/00279557177/1858081301/1858081301.xml",
        2,
        ((1900, 0, 10500, 31000), (10500, 0, 13500, 12100)),
        (
            "Itoiln *htioiuilDemocrat.",  # Daily National Democrat (masthead, editor, office)
            "\\ s ,„ c y Nottre",  # AGENCY NOTICE.— (run-in)
            "Democratic *t:»le Ticket.",  # Democratic State Ticket.
            "DEMOCRATIC COI N TY TICKET.",  # DEMOCRATIC COUNTY TICKET.
            "COMMITTEE NOTICE.",
            "TO OVK PAVROM.",  # TO OUR PATRONS.
            "Tin Tin: mu",  # a run-in head whose dash the OCR lost (THE THEATRE?)
            "Jl.utvsviLi.K Park Oot itSK",  # MARYSVILLE PARK COURSE.—
            "Kia onoitn’s Cornr",  # RECORDER'S COURT.—
            "t Ai \\\\ oiiK",  # AT WORK.—
            "Int: Meanimi or tue Z.mk ary-Montgomery A winna ex'*",  # THE MEANING OF THE
            # ZACHARY-MONTGOMERY AMENDMENT.—
            "The LNompten “hue and cry.'’",  # The Lecompton "hue and cry." (over 2 columns)
            "Tile < 011 my Ticket.",  # The County Ticket.
            "The Mountains Rejoicing",
            "A Fact",
            "Republican Nominee",
            "toNsisTENCT",  # CONSISTENCY.—
            "Raised the h lau",  # Raised the Flag.—
            "Jolin Curry.",  # [Communication.] John Currey.
            "Tkainok W. I’ahk",  # Trenor W. Park.—
            "Camp Meeting in San Joaquin",
            "*lale fair.",  # State Fair.
            "Attention Kurekns.",  # Attention Eurekas.
        ),
    ),
    Page(
        "The Park Record, 1935-08-02, p. 2, columns 1 and 6",
        "batch_local/sn85058233/17082901001/1935080201/1935080201.xml",
        2,
        ((1300, 0, 4000, 28000), (15600, 0, 18000, 28000)),
        (
            "Housewife's Idea Box",
            'Thoi. "Lait Word."',  # Those "Last Words."
            "Quisle, Pleasant",  # Quick, Pleasant / Successful Elimination: an advertisement
            "OINTMENT",  # an advertisement (Cuticura)
            "SALT UKE'S NEWEST HOSTELRY",  # an advertisement (Hotel Temple Square)
            "Sally Se,",  # an advertisement
            "Dover, Delaware",
            "THIS WEEK'S PRIZE STORY",
            "Silver Center of Persia",
            "i Westminster College",  # an advertisement
            "The Natives of Chosen",
            '"Coconut" Spanish Name',
            "At 400",  # At 400 Utah Oil Refining Service Stations: an advertisement
            "Fish Can Taste",
            "Must Know Science of MiniuJ",
            "Have to Take It (",
            "Aa Average Family ia C-J",  # An Average Family in C-J,
        ),
    ),
)


@dataclass
class Score:
    """Counts for one page."""

    expected: int = 0
    found: int = 0
    merged: int = 0
    missed: int = 0
    split: int = 0
    articles: int = 0
    longest: int = 0  # characters of the longest article in the columns


def _letters(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())


def _same(title: str, head: str) -> bool:
    a, b = _letters(title), _letters(head)
    return bool(a and b) and difflib.SequenceMatcher(None, a, b).ratio() >= SAME_TITLE_RATIO


def _in_columns(article: Article, page: Page) -> bool:
    regions = [region for paragraph in article.paragraphs for region in paragraph.regions]
    if not regions or not regions[0].boxes or regions[0].page != page.page:
        return False
    x, y = regions[0].boxes[0][:2]
    return any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in page.columns)


def score(articles: list[Article], page: Page) -> tuple[Score, list[str]]:
    """Score the articles of an issue on one page's columns; the second value lists what
    went wrong, for reading."""
    mine = [article for article in articles if _in_columns(article, page)]
    result = Score(expected=len(page.expected), articles=len(mine))
    result.longest = max((len(article.text) for article in mine), default=0)
    notes: list[str] = []
    matched: set[int] = set()
    for head in page.expected:
        index = next(
            (i for i, a in enumerate(mine) if i not in matched and _same(a.title, head)), None
        )
        if index is not None:
            matched.add(index)
            result.found += 1
        elif any(_letters(head) in _letters(a.text) for a in mine):
            result.merged += 1
            notes.append(f"merged: {head}")
        else:
            result.missed += 1
            notes.append(f"missed: {head}")
    for index, article in enumerate(mine):
        if index not in matched:
            result.split += 1
            notes.append(f"split: {article.title[:50]}")
    return result, notes


def main() -> None:
    """Score both pages and write the docs section."""
    parser = options(__doc__, quick="record as a development pass", record=True)
    parser.add_argument(
        "--batches", type=Path, default=DEFAULT_BATCHES, help=f"the ndnp fixtures folder (default {DEFAULT_BATCHES})"
    )
    # The name it had before the harness spelled the option for every benchmark.
    parser.add_argument("--no-write", dest="no_record", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.batches.is_dir():
        print(
            f"skip: no NDNP batches at {args.batches} (git clone "
            "https://github.com/marriott-library/newspaper_works_fixtures there, or pass --batches)"
        )
        return
    load = os.getloadavg()[0]
    rows: list[list[object]] = []
    for page in PAGES:
        began = time.perf_counter()
        articles = list(iter_articles([args.batches / page.mets]))
        seconds = time.perf_counter() - began
        result, notes = score(articles, page)
        print(page.name, result)
        for note in notes:
            print("   ", note)
        rows.append([page.name, result.expected, result.found, result.merged, result.missed,
                     result.split, result.articles, result.longest, f"{seconds:.1f}"])  # fmt: skip
    header = ["page", "expected", "found", "merged", "missed", "split", "articles", "longest",
              "issue read (s)"]  # fmt: skip
    text = table(header, rows)
    text += (
        "\n\nThe expected titles are read off each page's text, spelt as its OCR spells "
        "them (bench/ndnp.py lists them with their reading). *found*: an article has it as "
        "its title; *merged*: it sits inside another article; *missed*: in no article of the "
        "columns; *split*: an article starting in the columns under no expected title; "
        "*longest*: characters of the longest article there. Before the body-type headlines "
        "and run-in heads were read (commit 20ce0dc): 1858 found 1, merged 22, one piece of "
        "23,114 characters; 1935 found 1, merged 8, missed 8, split 3. Pages from "
        "marriott-library/newspaper_works_fixtures (NDNP test batches), not shipped. "
        f"Load average {load:.1f} at the start (2 shared cores).\n"
    )
    print(text)
    if not args.no_record:
        write_section(
            "ndnp",
            "Chronicling America (NDNP) pages: articles from the ALTO layout",
            "python -m bench.ndnp --batches newspaper_works_fixtures/spec/fixtures/files/ndnp"
            + (" --quick" if args.quick else ""),
            text,
        )


if __name__ == "__main__":
    main()
