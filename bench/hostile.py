"""Hostile input sizes (issue 26, items 2-4): time and peak RSS against input size.

``python -m bench.hostile [--quick]`` runs each case in a child process (peak RSS from
``os.wait4``) and writes docs/bench/hostile.md:

- drawing page 1 of a PDF whose page is 14,400 x 14,400 points (the page route's
  ``page_png``), with the default bounds and with the old full-scale rendering (2 pixels a
  point, then shrunk), and ``semsearch ingest --ocr`` of one such blank page;
- ``semsearch ingest`` (the real model) of a .txt of N one-character lines and of an ALTO
  page of N tiny blocks: wall time, peak RSS, collection size;
- ``prepare_articles`` (cleaning and passage cutting with the real model's tokenizer, no
  embedding) of one record of N characters without punctuation.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
from pathlib import Path

from bench.harness import load_average, options, run_child, table, write_section

NOTE = "Wall times of `semsearch ingest` include loading the model (about 7 s) and hit the embedding cache for one-character passages seen in an earlier row, so they vary with the machine's load more than with size; collection size is the figure that shows growth, and it is linear (about 1.7 KB a passage). Cutting times under a load above the core count are noisy (the 320,000 row); 1,000,000 characters took 15.7 s where the issue's `POST /articles` of the same size ran past 14 minutes."
CHARS = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可也你能而子说"

DRAW = """
import sys
from pathlib import Path
from semsearch.embedder.page_bounds import PageBounds
from semsearch.embedder.page_image import page_png
png = page_png(Path(sys.argv[1]), 1, [(50, 50, 400, 90)], PageBounds(max_side=int(sys.argv[2]),
               max_pixels=10**10))
print(len(png))
"""

CUT = """
import sys, time
from semsearch.embedder.embedder import Embedder
from semsearch.embedder.ingest import prepare_articles
from semsearch.embedder.settings import Settings
embedder = Embedder.from_settings(Settings(progress=False))
record = {"id": "r", "title": "t", "text": "字" * int(sys.argv[1])}
start = time.perf_counter()
items = list(prepare_articles([record], embedder))
print(f"{time.perf_counter() - start:.2f} {len(items[0][1])}")
"""


def child(args: list[str], *, python: bool = True) -> tuple[float, float, int, str]:
    """Run a child; return (wall seconds, peak RSS MB, exit code, stdout+stderr tail)."""
    command = [sys.executable, "-c", *args] if python else args
    run = run_child(command)
    return run.wall_s, run.peak_mb, run.returncode, run.output.strip()[-300:]


def huge_pdf(path: Path, *, text: bool) -> Path:
    import pypdfium2 as pdfium

    if text:
        from tests.text_pdf import text_pdf

        return text_pdf(path, "Huge page", ["body line"] * 10, width=14_400, height=14_400)
    document = pdfium.PdfDocument.new()
    document.new_page(14_400, 14_400)
    document.save(str(path))
    document.close()
    return path


def short_lines(path: Path, count: int) -> Path:
    rng = random.Random(count)
    path.write_text("\n".join(rng.choice(CHARS) for _ in range(count)) + "\n", encoding="utf-8")
    return path


def tiny_blocks(path: Path, count: int) -> Path:
    from semsearch.embedder.layout import LayoutBlock, LayoutLine
    from tests.pages import write_alto

    rng = random.Random(count)
    blocks = [
        LayoutBlock(lines=[LayoutLine(rng.choice(CHARS), 1, (x, y, x + 10, y + 10))])
        for x, y in ((rng.uniform(0, 1990), rng.uniform(0, 1990)) for _ in range(count))
    ]
    return write_alto(blocks, path, width=2000, height=2000)


def ingest(source: Path, index: Path, *extra: str) -> tuple[float, float, int, float]:
    binary = str(Path(sys.executable).with_name("semsearch"))
    wall, rss, code, _ = child(
        [binary, "ingest", str(source), "--index", str(index), "--no-progress", *extra],
        python=False,
    )
    size = sum(f.stat().st_size for f in index.rglob("*") if f.is_file()) if index.exists() else 0
    return wall, rss, code, size / 1e6


def main() -> None:
    parser = options(__doc__, quick="smaller sizes")
    args = parser.parse_args()
    lines = (1500, 3000) if args.quick else (1500, 3000, 6000, 12000)
    blocks = (2500, 5000) if args.quick else (2500, 5000, 10000, 20000)
    cuts = (40_000, 80_000) if args.quick else (40_000, 80_000, 160_000, 320_000, 1_000_000)
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        folder = Path(tmp)
        pdf = huge_pdf(folder / "huge.pdf", text=True)
        blank = huge_pdf(folder / "huge-blank.pdf", text=False)
        draw_rows = []
        for label, side in (("default bounds (4,000 px side)", 4000), ("old: 2 px/pt", 28_800)):
            wall, rss, code, out = child([DRAW, str(pdf), str(side)])
            draw_rows.append([label, f"{wall:.1f}", f"{rss:.0f}", code, out.splitlines()[-1]])
        wall, rss, code, _size = ingest(blank, folder / "blank-index", "--ocr")
        draw_rows.append(["`ingest --ocr` of a blank page", f"{wall:.1f}", f"{rss:.0f}", code, "-"])
        growth_rows = []
        for count in lines:
            source = short_lines(folder / f"lines{count}.txt", count)
            wall, rss, code, size = ingest(source, folder / f"lines{count}")
            kb = source.stat().st_size / 1000
            growth_rows.append(
                [
                    f".txt, {count} one-char lines",
                    f"{kb:.0f}",
                    f"{wall:.1f}",
                    f"{rss:.0f}",
                    f"{size:.1f}",
                    code,
                ]
            )
            shutil.rmtree(folder / f"lines{count}", ignore_errors=True)
        for count in blocks:
            source = tiny_blocks(folder / f"blocks{count}.alto.xml", count)
            wall, rss, code, size = ingest(source, folder / f"blocks{count}")
            kb = source.stat().st_size / 1000
            growth_rows.append(
                [
                    f"ALTO, {count} tiny blocks",
                    f"{kb:.0f}",
                    f"{wall:.1f}",
                    f"{rss:.0f}",
                    f"{size:.1f}",
                    code,
                ]
            )
            shutil.rmtree(folder / f"blocks{count}", ignore_errors=True)
        cut_rows = []
        for count in cuts:
            wall, rss, code, out = child([CUT, str(count)])
            seconds, passages = out.splitlines()[-1].split() if code == 0 else ("-", "-")
            cut_rows.append([f"{count:,}", seconds, passages, f"{rss:.0f}", code])
    load = load_average()
    body = "\n\n".join(
        [
            "Drawing page 1 of a PDF whose page is 14,400 x 14,400 points (issue 26 item 2; "
            "before: 12 s and +6.5 GB RSS through the route):",
            table(["drawing", "wall s", "peak RSS MB", "exit", "PNG bytes"], draw_rows),
            "Many short lines (item 3; before, with the fake embedder: 3,000 lines 145.5 MB "
            "in 11.8 s, 6,000 lines 555 MB in 21.9 s, ALTO of 5,000 blocks 389.6 MB in "
            "18.9 s; the issue measured 201 MB / 785 MB / 565 MB with the real model). "
            "`semsearch ingest` with the real model into a new collection:",
            table(["input", "KB", "wall s", "peak RSS MB", "collection MB", "exit"], growth_rows),
            "Passage cutting of one record of N `字` (no punctuation) with the real model's "
            "tokenizer, `prepare_articles` only (item 4; before: 1.0 s for 40,000 and 15.3 s "
            "for 160,000 characters):",
            table(["characters", "cut s", "passages", "peak RSS MB", "exit"], cut_rows),
            NOTE,
            f"Load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (2 cores, "
            "shared with other sessions' jobs).",
        ]
    )
    command = "python -m bench.hostile" + (" --quick" if args.quick else "")
    write_section("hostile", "Hostile input sizes", command, body)
    print(body)


if __name__ == "__main__":
    main()
