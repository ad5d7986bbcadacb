"""Test pages made from the sample .txt page: three-column HTML → PDF (Chromium), image, ALTO.

Used by the tests and by bench/formats.py. The page's articles are laid out the way the
library itself reads the ``.txt`` page (its headings as headlines, its paragraphs in three
columns), so every path must give back the same two articles.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path
from xml.sax.saxutils import quoteattr

from semsearch.embedder.layout import LayoutBlock
from semsearch.embedder.newspaper import compile_banners, page_lines, parse_headings, split_page

SEED = Path(__file__).resolve().parents[1] / "data" / "samples"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_INSTALL = "apt-get install chromium fonts-noto-cjk"

_STYLE = """
@page { size: A3; margin: 14mm; }
body { font-family: "Noto Serif CJK SC", serif; font-size: 9pt; line-height: 1.5; margin: 0; }
.banner { font-size: 13pt; text-align: center; margin: 0 0 2mm; }
.kicker, .subtitle { font-size: 14pt; text-align: center; margin: 0 0 2mm; }
h1 { font-size: 22pt; text-align: center; margin: 0 0 3mm; font-weight: bold; }
.cols { column-count: 3; column-gap: 9mm; margin: 5mm 0 10mm; }
p { margin: 0; text-indent: 2em; text-align: justify; }
"""


def seed_page() -> Path:
    """The sample page shipped with the project."""
    pages = sorted(SEED.glob("*.txt"))
    if not pages:
        raise FileNotFoundError(f"no sample .txt page under {SEED}")
    return pages[0]


def page_html(page: Path, *, style: str = "") -> str:
    """The .txt page as a three-column newspaper page in HTML (headings span the columns).

    ``style`` is CSS added after the page's own (to vary leading, headline width, ...).
    """
    lines = page.read_text(encoding="utf-8").splitlines()
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><style>{_STYLE}{style}</style>"]
    parts.append("</head><body>")
    banners = compile_banners()
    for article in split_page(page_lines(lines)):
        heading_texts = [line.text for line in article.headings]
        headings = parse_headings(heading_texts, banners)
        for text in heading_texts:
            clean = text.strip()
            kind = "h1" if clean == headings.title else "div"
            css = (
                ""
                if kind == "h1"
                else (" class='banner'" if clean in headings.banners else " class='kicker'")
            )
            parts.append(f"<{kind}{css}>{html.escape(clean)}</{kind}>")
        parts.append("<div class='cols'>")
        parts.extend(f"<p>{html.escape(line.text.strip())}</p>" for line in article.body)
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render_pdf(page: Path, out: Path, *, style: str = "") -> Path:
    """Print the page's HTML (with ``style`` added, see :func:`page_html`) to PDF.

    Raises:
        RuntimeError: Chromium is not installed or failed.
    """
    if CHROMIUM is None:
        raise RuntimeError(f"chromium not installed ({CHROMIUM_INSTALL})")
    source = out.with_suffix(".html")
    source.write_text(page_html(page, style=style), encoding="utf-8")
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
        f"--print-to-pdf={out}", source.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, timeout=180, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"chromium failed: {done.stderr.decode(errors='replace')[-500:]}")
    return out


def render_image(pdf: Path, out: Path, *, dpi: int = 200) -> Path:
    """Rasterise the first page of a PDF (a 'scan' of the page) to PNG."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        document[0].render(scale=dpi / 72).to_pil().convert("L").save(out)
    finally:
        document.close()
    return out


def image_only_pdf(image: Path, out: Path, *, crop_top: float = 0.0) -> Path:
    """A PDF whose one page is the image (a scan saved as PDF, no text layer).

    Args:
        image: The page image.
        out: Where to write the PDF.
        crop_top: Share of the image height to cut off at the top (a smaller page OCRs
            faster).
    """
    import pypdfium2 as pdfium
    from PIL import Image

    with Image.open(image) as opened:
        picture = opened.convert("RGB")
    picture = picture.crop((0, int(picture.height * crop_top), picture.width, picture.height))
    document = pdfium.PdfDocument.new()
    try:
        width, height = picture.width * 72 / 200, picture.height * 72 / 200
        page = document.new_page(width, height)
        embedded = pdfium.PdfImage.new(document)
        embedded.set_bitmap(pdfium.PdfBitmap.from_pil(picture))
        embedded.set_matrix(pdfium.PdfMatrix().scale(width, height))
        page.insert_obj(embedded)
        page.gen_content()
        document.save(str(out))
    finally:
        document.close()
    return out


def write_alto(blocks: list[LayoutBlock], out: Path, *, width: float, height: float) -> Path:
    """Write blocks of one page as ALTO v4 (one String per line, blocks as TextBlocks)."""
    body: list[str] = []
    for number, block in enumerate(blocks):
        x0 = min(line.box[0] for line in block.lines)
        y0 = min(line.box[1] for line in block.lines)
        x1 = max(line.box[2] for line in block.lines)
        y1 = max(line.box[3] for line in block.lines)
        style = " STYLEREFS='head'" if block.heading else ""
        body.append(f"<TextBlock ID='b{number}'{style} {_alto_box((x0, y0, x1, y1))}>")
        for index, line in enumerate(block.lines):
            box = _alto_box(line.box)
            body.append(
                f"<TextLine ID='b{number}l{index}' {box}><String {box} "
                f"CONTENT={quoteattr(line.text)}/></TextLine>"
            )
        body.append("</TextBlock>")
    out.write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        "<alto xmlns='http://www.loc.gov/standards/alto/ns-v4#'>"
        "<Description><MeasurementUnit>pixel</MeasurementUnit></Description>"
        "<Styles><TextStyle ID='head' FONTSIZE='20'/></Styles>"
        f"<Layout><Page ID='p1' PHYSICAL_IMG_NR='1' WIDTH='{width:.0f}' HEIGHT='{height:.0f}'>"
        f"<PrintSpace>{''.join(body)}</PrintSpace></Page></Layout></alto>\n",
        encoding="utf-8",
    )
    return out


def write_mets(alto: Path, articles: list[list[int]], out: Path) -> Path:
    """Write a METS file whose logical structMap makes ``articles`` (block numbers) articles."""
    divs = []
    for number, blocks in enumerate(articles):
        areas = "".join(
            f"<mets:fptr><mets:area FILEID='alto1' BEGIN='b{block}' BETYPE='IDREF'/></mets:fptr>"
            for block in blocks
        )
        divs.append(f"<mets:div ID='art{number}' TYPE='ARTICLE'>{areas}</mets:div>")
    out.write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        "<mets:mets xmlns:mets='http://www.loc.gov/METS/' xmlns:xlink='http://www.w3.org/1999/xlink'>"
        "<mets:fileSec><mets:fileGrp USE='TEXT'><mets:file ID='alto1'>"
        f"<mets:FLocat LOCTYPE='URL' xlink:href={quoteattr(alto.name)}/>"
        "</mets:file></mets:fileGrp></mets:fileSec>"
        "<mets:structMap TYPE='LOGICAL'><mets:div TYPE='Newspaper'>"
        f"{''.join(divs)}</mets:div></mets:structMap></mets:mets>\n",
        encoding="utf-8",
    )
    return out


def _alto_box(box: tuple[float, float, float, float]) -> str:
    x0, y0, x1, y1 = box
    return f"HPOS='{x0:.1f}' VPOS='{y0:.1f}' WIDTH='{x1 - x0:.1f}' HEIGHT='{y1 - y0:.1f}'"
