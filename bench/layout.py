"""Layout benchmark: generated newspaper issues read back through every layout path.

Issues are drawn by :mod:`bench.layout_pages` from real texts (People's Daily 1998 articles
and the sample page) on A3, A4 and tabloid paper: 1–5 columns, headlines wrapped over 1–3
lines, pictures with captions, advertisements, page banners, and articles continued on the
next page. Each is printed to PDF by Chromium, written as ALTO and as METS in two profiles
(:mod:`bench.layout_alto`), and rendered at 200 dpi for OCR (the first 16 pages, 1 with
``--quick``: Tesseract is the slow path). Every path is read with ``iter_articles`` (no embedding) and
scored against the generation's truth by :mod:`bench.layout_score`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from semsearch.embedder.ingest import IngestOptions, iter_articles
from semsearch.embedder.records import Article
from tests import pages

from .harness import load_average, options, table, write_section
from .layout_alto import assign_blocks, write_mets_bl, write_mets_europeana
from .layout_pages import build_issue, load_stories, print_issue
from .layout_score import Score, score_issue

# Issues drawn (every third continues an article onto a second page), and pages read by OCR.
ISSUES, QUICK_ISSUES = 24, 6
OCR_PAGES, QUICK_OCR_PAGES = 16, 1
PATHS = (
    "PDF text layer",
    "ALTO pages (no METS)",
    "METS + ALTO, British Library profile",
    "METS + ALTO, Europeana/BnF profile",
    "OCR of 200-dpi page images (--ocr)",
)


def _read(paths: list[Path], *, ocr: bool = False) -> list[Article]:
    return list(iter_articles(paths, options=IngestOptions(ocr=ocr)))


def run(
    issues: int, ocr_pages: int, folder: Path, seconds: dict[str, float]
) -> tuple[dict[str, Score], dict[str, int]]:
    """Generate, write, read and score; returns the scores per path and the page counts.

    ``seconds`` receives the reading time per path.
    """
    stories = load_stories()
    scores = {path: Score() for path in PATHS}
    counts = dict.fromkeys(PATHS, 0)
    ocr_left = ocr_pages
    for number in range(issues):
        issue = build_issue(f"i{number:03d}", stories, number, continued=number % 3 == 1)
        where = folder / issue.name
        where.mkdir()
        pdf = print_issue(issue, where)
        layout = assign_blocks(issue, pdf)
        bl = write_mets_bl(issue, layout, where / "bl")
        europeana = write_mets_europeana(issue, layout, where / "europeana")
        altos = sorted((where / "europeana" / "ALTO").glob("*.xml"))
        # (path, files, OCR on) for each reading of this issue.
        readings: list[tuple[str, list[Path], bool]] = [
            (PATHS[0], [pdf], False),
            (PATHS[1], altos, False),
            (PATHS[2], [bl], False),
            (PATHS[3], [europeana], False),
        ]
        if ocr_left >= len(issue.pages):
            images = [
                pages.render_image(_page_pdf(pdf, n, where), where / f"page{n}.png")
                for n in range(1, len(issue.pages) + 1)
            ]
            readings.append((PATHS[4], images, True))
            ocr_left -= len(issue.pages)
        for path, files, ocr in readings:
            began = time.perf_counter()
            articles = _read(files, ocr=ocr)
            seconds[path] = seconds.get(path, 0.0) + time.perf_counter() - began
            scores[path].add(score_issue(issue, articles))
            counts[path] += len(issue.pages)
    return scores, counts


def _page_pdf(pdf: Path, number: int, folder: Path) -> Path:
    # render_image draws a PDF's first page: give it the page alone.
    import pypdfium2 as pdfium

    source = pdfium.PdfDocument(str(pdf))
    single = pdfium.PdfDocument.new()
    try:
        single.import_pages(source, [number - 1])
        out = folder / f"page{number}.pdf"
        single.save(str(out))
    finally:
        single.close()
        source.close()
    return out


def main() -> None:
    """Measure and write the docs section."""
    parser = options(__doc__, quick="fewer issues, one OCR page")
    args = parser.parse_args()
    issues = QUICK_ISSUES if args.quick else ISSUES
    ocr_pages = QUICK_OCR_PAGES if args.quick else OCR_PAGES
    load_before = load_average()[0]
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        timings: dict[str, float] = {}
        scores, counts = run(issues, ocr_pages, Path(tmp), timings)
    seconds = time.perf_counter() - began
    load_after = load_average()[0]
    rows = [
        [
            path,
            counts[path],
            s.articles,
            s.found,
            s.split,
            s.merged,
            s.extra,
            f"{100 * s.title_rate:.1f}%",
            f"{s.precision:.3f}",
            f"{s.recall:.3f}",
            f"{s.f1:.3f}",
            f"{100 * s.cer:.2f}%",
            f"{timings[path] / counts[path]:.2f}",
        ]
        for path, s in scores.items()
        if counts[path]
    ]
    body = table(
        [
            "path",
            "pages",
            "articles",
            "found",
            "split",
            "merged",
            "extra",
            "titles exact",
            "para P",
            "para R",
            "para F1",
            "CER",
            "s / page",
        ],
        rows,
    )
    body += (
        f"\n\n{issues} generated issues (every third continues an article on a second page); "
        "the same issues for every path but OCR, which reads the first "
        f"{counts[PATHS[4]]} pages. Targets: titles exact ≥ 95% on the text-layer paths, "
        "paragraph F1 ≥ 0.9, no article merged across a headline.\n\n"
        "*found*: one piece holds the article (≥ 80% of its 4-grams) and nothing else; "
        "*split*: several pieces hold it (the jump lines 下转/上接 join an article's parts "
        "within a file and across the page files read together, ALTO pages and page images; "
        "in METS the division does); *merged*: pieces "
        "holding two articles; *extra*: pieces holding none (an advertisement or banner read "
        "as an article; METS advertisements are records of their own by design). Titles: "
        "the headline against the title of the piece holding the first paragraph. Paragraph "
        "boundaries: starts after an article's first, matched by their first 10 characters "
        "within 2 edits. CER: the article's paragraphs against the text of the pieces holding "
        "it (a byline lead the reader moves to the reporters counts as an error).\n\n"
        "*s / page*: reading time per page (parsing, layout, segmentation, cleaning; no "
        "printing, no embedding; OCR includes Tesseract). "
        f"Whole run {seconds:.0f} s (Chromium printing, reading, OCR); 1-minute load average "
        f"{load_before:.1f} at the start, {load_after:.1f} at the end (2 cores, shared)."
    )
    command = "python -m bench.layout" + (" --quick" if args.quick else "")
    write_section("layout", "Layout benchmark: generated pages, every path", command, body)
    print(body)


if __name__ == "__main__":
    main()
