"""Reading order and paragraphs on layouts the layout benchmark found hard (bench/layout.py):
articles set side by side next to a picture, one- and two-line paragraphs in a wide column,
photo credits closing captions, a closing quote cut off by a column break.
"""

from __future__ import annotations

from semsearch.embedder.cleaning import ends_sentence, is_headline_text, rejoin_paragraphs
from semsearch.embedder.layout import LayoutLine, layout_blocks, run_in_head
from semsearch.embedder.newspaper import compile_banners, parse_headings

BODY = 10.0


def _line(text: str, x: float, y: float, *, size: float = BODY, width: float = 150.0) -> LayoutLine:
    return LayoutLine(text, 1, (x, y, x + width, y + size))


def test_side_by_side_articles_are_read_one_after_the_other_despite_a_picture() -> None:
    # Left: a headline, a paragraph, a picture (no text), its caption and more text.
    # Right: an advertisement's large head and lines, centred, white space around them.
    # The picture's band is empty on both sides; a row cut there read the left article's
    # caption after the advertisement.
    left = [_line("左边文章的大标题", 0, 0, size=22), _line("第一段第一行文字。", 0, 30)]
    left += [_line(f"第一段第{n}行文字。", 0, 30 + 15 * n) for n in range(1, 4)]
    left += [_line("图为现场。（本报记者 李明摄）", 0, 160)]
    left += [_line(f"第二段第{n}行文字。", 0, 175 + 15 * n) for n in range(4)]
    right = [_line("广告大字", 200, 60, size=22), _line("咨询热线 0371-6553", 200, 90)]
    blocks = layout_blocks(left + right)
    texts = [block.text() for block in blocks]
    caption = next(n for n, text in enumerate(texts) if text.startswith("图为现场"))
    assert caption < texts.index("广告大字")
    assert texts[-2:] == ["广告大字", "咨询热线 0371-6553"]


def test_short_paragraphs_in_a_wide_column_start_at_their_indents() -> None:
    # Most lines are first lines (paragraphs of one or two lines), all indented alike.
    lines = []
    y = 0.0
    for number, count in enumerate((1, 2, 1, 2, 1)):
        for row in range(count):
            x = 20.0 if row == 0 else 0.0
            lines.append(_line(f"第{number}段第{row}行。", x, y, width=500 - x))
            y += 15
    blocks = layout_blocks(lines)
    assert [len(block.lines) for block in blocks] == [1, 2, 1, 2, 1]


def test_centred_lines_are_not_read_as_indented_paragraphs() -> None:
    offsets = (0, 15, 40, 25, 55, 10)
    lines = [_line("一行居中的文字", 100 + x, 15 * n, width=200) for n, x in enumerate(offsets)]
    assert len(layout_blocks(lines)) == 1


def test_a_photo_credit_after_the_sentence_ends_the_paragraph() -> None:
    assert ends_sentence("图为会议现场。（本报记者 李明摄）")
    assert ends_sentence("（新华社记者戴浩摄）")
    assert not ends_sentence("按照省（市）")
    paragraphs = ["图为会议现场。（本报记者 李明摄）", "与会学者认为，这是一个开始。"]
    assert len(list(rejoin_paragraphs(paragraphs))) == 2


def test_a_closing_quote_cut_off_by_a_column_break_rejoins_its_paragraph() -> None:
    joined = [p.text for p in rejoin_paragraphs(["他说：“我们一定办好。", "”", "下一段。"])]
    assert joined == ["他说：“我们一定办好。”", "下一段。"]


def test_side_by_side_headlines_wrapped_in_rows_of_their_own_stay_with_their_bodies() -> None:
    # Two articles side by side, each headline wrapped onto a second line at the same
    # heights: the headline lines form rows of their own above both bodies. A full-width
    # article above closes the gutter, so the page is cut into rows first.
    lines = [_line("上面的整版文章，一行到头。", 0, -60, width=350)]
    lines += [_line("左边标题第一行", 0, 0, size=22), _line("右边标题第一行", 200, 0, size=22)]
    lines += [_line("左边标题第二行", 0, 26, size=22), _line("右边标题第二行", 200, 26, size=22)]
    lines += [_line(f"左边正文第{n}行。", 0, 70 + 15 * n) for n in range(4)]
    lines += [_line(f"右边正文第{n}行。", 200, 70 + 15 * n) for n in range(4)]
    texts = [block.text() for block in layout_blocks(lines)][1:]
    assert texts == [
        "左边标题第一行左边标题第二行",
        "左边正文第0行。左边正文第1行。左边正文第2行。左边正文第3行。",
        "右边标题第一行右边标题第二行",
        "右边正文第0行。右边正文第1行。右边正文第2行。右边正文第3行。",
    ]


def test_a_centred_headline_over_columns_is_no_pair_of_side_by_side_articles() -> None:
    # The gap between the first two columns is open from top to bottom (banner and
    # headline are centred over the middle column) and a headline stands lower on the
    # left: still one article, read headline first.
    lines = [_line("中间的大标题", 170, 0, size=22, width=160)]
    for column in range(3):
        x = column * 170.0
        lines += [_line(f"第{column}栏第{n}行文字。", x, 40 + 15 * n) for n in range(6)]
    lines += [_line("左下另一篇的标题", 0, 150, size=22), _line("左下正文。", 0, 190)]
    texts = [block.text() for block in layout_blocks(lines)]
    assert texts[0] == "中间的大标题"
    assert texts.index("左下另一篇的标题") > texts.index(
        "第2栏第0行文字。第2栏第1行文字。第2栏第2行文字。第2栏第3行文字。第2栏第4行文字。第2栏第5行文字。"
    )


def test_run_in_heads_of_short_items() -> None:
    # Lines of the Daily National Democrat, 13 August 1858 (Chronicling America OCR).
    assert run_in_head("Kia onoitn’s Cornr,—I. Flckert was fined, on twq charges") == (
        "Kia onoitn’s Cornr",
        "I. Flckert was fined, on twq charges",
    )
    assert run_in_head("The Mountains Rejoicing. —We have re ceived ii letter") == (
        "The Mountains Rejoicing",
        "We have re ceived ii letter",
    )
    # Not heads: a sentence's own dash, a continuation, a Chinese dash, too long a phrase.
    assert run_in_head("tories—the other that Congress has not.— One believe") is None
    assert run_in_head("into the Territories of the United States. — Now what do") is None
    assert run_in_head("全省经济运行稳中向好。——记者") is None
    long_phrase = "This is a sentence of many words that runs on and on, and then.—More"
    assert run_in_head(long_phrase) is None


def test_headline_text_allows_a_full_stop_and_commas() -> None:
    assert is_headline_text("TO OVK PAVROM.") and is_headline_text(
        "To a Child, Embracing its Mother."
    )
    assert is_headline_text("Five Billions More?")
    assert not is_headline_text("For Members of Congress,")  # a list item, open at its end
    assert not is_headline_text("MARYSVILLE,")  # a dateline
    assert not is_headline_text("PRICES OF ADMISSION : Dress Circle")
    assert not is_headline_text("今年以来，全省经济运行稳中向好。")  # a sentence


def test_a_first_heading_line_set_far_larger_is_the_headline() -> None:
    lines = ["DAILY DEMOCRAT", "PUBLISHED DAILY BY", "A S RANDALL & CO."]
    banners = compile_banners()
    assert parse_headings(lines, banners).title == "PUBLISHED DAILY BY"  # text alone: kicker
    sized = parse_headings(lines, banners, sizes=[331, 113, 147])
    assert sized.title == "DAILY DEMOCRAT" and sized.kicker is None
    assert sized.subtitle == "PUBLISHED DAILY BY A S RANDALL & CO."
    # Kicker, headline, subtitle of a Chinese page keep their reading when sizes agree.
    three = parse_headings(
        ["何雄调研时强调", "打造数字经济发展新高地", "——副标题"], banners, [40, 60, 36]
    )
    assert three.kicker == "何雄调研时强调" and three.title == "打造数字经济发展新高地"


def test_a_mark_set_large_is_not_taken_for_the_headline() -> None:
    # Tesseract's page analysis of the sample page reads a logo as "rm" in a tall box.
    lines = ["rm", "2023年全市重大项目观摩活动举行", "坚持“项目为王”加大推进力度"]
    found = parse_headings(lines, compile_banners(), sizes=[90, 60, 40])
    assert found.title == "2023年全市重大项目观摩活动举行"
