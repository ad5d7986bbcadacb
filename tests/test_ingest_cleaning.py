"""Cleaning, dates and newspaper heading/byline rules on small inputs."""

from __future__ import annotations

import pytest

from semsearch.embedder.cleaning import (
    clean_heading,
    clean_text,
    ends_sentence,
    join_continuation,
    looks_like_fragment,
    normalize_punctuation,
    normalize_width,
    rejoin_paragraphs,
    remove_cjk_spaces,
)
from semsearch.embedder.dates import date_from_filename, extract_event_dates, normalize_date
from semsearch.embedder.newspaper import (
    compile_banners,
    page_lines,
    parse_credit,
    parse_headings,
    split_byline,
    split_names,
    split_page,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("改造提升传 统产业", "改造提升传统产业"),
        ("李党生、 张红伟", "李党生、张红伟"),
        ("GDP 增长 5.2% in Q1 2023", "GDP 增长 5.2% in Q1 2023"),
        ("Hello   world  2023", "Hello world 2023"),
        ("“项目为王” 理念", "“项目为王”理念"),
        ("全角　空格", "全角空格"),
        ("ＡＢＣ１２３公司", "ABC123公司"),
    ],
)
def test_remove_cjk_spaces(raw: str, clean: str) -> None:
    assert remove_cjk_spaces(normalize_width(raw)) == clean


def test_english_quotes_keep_their_space() -> None:
    assert remove_cjk_spaces("“a” “b”") == "“a” “b”"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("按照市委统一安排,2023年", "按照市委统一安排，2023年"),
        ('坚持"项目为王"理念', "坚持“项目为王”理念"),
        ('他说"好', '他说"好'),  # odd count: not paired
        ("区县(市)要压实", "区县（市）要压实"),
        ("价格为3.5元,涨了", "价格为3.5元，涨了"),
        ("Hello, world (test).", "Hello, world (test)."),
        ("是吗?对!", "是吗？对！"),
    ],
)
def test_normalize_punctuation(raw: str, normal: str) -> None:
    assert normalize_punctuation(raw) == normal


def test_clean_heading_keeps_phrase_spaces() -> None:
    assert clean_heading(' 以项目建设高质量  支撑"发展" ') == "以项目建设高质量 支撑“发展”"


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        ("参加观摩。", True),
        ("“数字引擎”。”", True),
        ("要按照省", False),
        ("被称为“项目为王”", False),
        ("他说：", True),
        ("Done!", True),
    ],
)
def test_ends_sentence(text: str, ends: bool) -> None:
    assert ends_sentence(text) is ends


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("新、以项目支撑产业", True),
        ("、以项目支撑产业", True),
        ("，进一步", True),
        ("一、加强组织领导", False),
        ("何雄实地观摩了巩义市", False),
        ("continued from page 2.", True),
    ],
)
def test_looks_like_fragment(text: str, fragment: bool) -> None:
    assert looks_like_fragment(text) is fragment


def test_join_continuation() -> None:
    assert join_continuation("要按照省", "委、市委部署安排") == "要按照省委、市委部署安排"
    assert join_continuation("the exam-", "ple shows") == "the example shows"
    assert join_continuation("two words", "here") == "two words here"


def test_rejoin_keeps_subheadings_and_fragments_apart() -> None:
    paragraphs = list(
        rejoin_paragraphs(
            ["第一段结束。", "新、以项目支撑产业。", "坚持创新驱动", "他说，要按照省", "委部署。"]
        )
    )
    assert [(p.text, p.fragment) for p in paragraphs] == [
        ("第一段结束。", False),
        ("新、以项目支撑产业。", True),
        ("坚持创新驱动", False),
        ("他说，要按照省委部署。", False),
    ]


def test_clean_text_whole_pipeline() -> None:
    assert (
        clean_text(" 安伟强调,要立足改造提升传 统产业、 发展 ")
        == "安伟强调，要立足改造提升传统产业、发展"
    )


@pytest.mark.parametrize(
    ("given", "iso"),
    [
        ("2023-04-20", "2023-04-20"),
        ("2023/4/20", "2023-04-20"),
        ("20230420", "2023-04-20"),
        ("2023年4月20日", "2023-04-20"),
        ("2023-04-20T08:00:00+08:00", "2023-04-20"),
        ("2023-02-30", None),
        ("yesterday", None),
    ],
)
def test_normalize_date(given: str, iso: str | None) -> None:
    assert normalize_date(given) == iso


def test_dates_from_file_names_and_text() -> None:
    assert date_from_filename("zhengzhou-evening-news-2023-04-20.txt") == "2023-04-20"
    assert date_from_filename("page-20230420.txt") == "2023-04-20"
    assert date_from_filename("page-12.txt") is None
    text = ["4月18日，调研。2022年12月30日开工，4月18日再去；14月1日无效。"]
    assert extract_event_dates(text, published="2023-04-20") == ["2023-04-18", "2022-12-30"]
    # A January paper reporting December means last December.
    assert extract_event_dates(["12月30日"], published="2024-01-02") == ["2023-12-30"]
    assert extract_event_dates(["4月18日"]) == []
    assert extract_event_dates(["4月18日"], year_hint=2021) == ["2021-04-18"]


@pytest.mark.parametrize(
    ("token", "names"),
    [
        ("王际宾董艳竹", ["王际宾", "董艳竹"]),
        ("张昕王治", ["张昕", "王治"]),
        ("王治", ["王治"]),
        ("欧阳晓明", ["欧阳晓明"]),
        ("某某某某某", ["某某某某某"]),
    ],
)
def test_split_names(token: str, names: list[str]) -> None:
    assert split_names(token) == names


def test_parse_credit_roles() -> None:
    assert parse_credit("正观新闻·郑州晚报记者张昕 王际宾董艳竹 王治") == [
        "张昕",
        "王际宾",
        "董艳竹",
        "王治",
    ]
    assert parse_credit("记者 李明 通讯员 赵强、孙丽 文/图") == ["李明", "赵强", "孙丽"]


def test_split_byline() -> None:
    byline, rest = split_byline("新华社北京4月19日电（记者 张三）国务院今天发布……")
    assert byline is not None and byline.reporters == ["张三"]
    assert rest == "国务院今天发布……"
    assert split_byline("按照市委统一安排，活动举行。") == (None, "按照市委统一安排，活动举行。")


def test_parse_headings_forms() -> None:
    banners = compile_banners(["本版专题"])
    three = parse_headings(["本版专题", "引题一行", "主标题", "——副标题"], banners)
    assert (three.kicker, three.title, three.subtitle, three.banners) == (
        "引题一行",
        "主标题",
        "副标题",
        ["本版专题"],
    )
    dash = parse_headings(["主标题", "——副标题"], banners)
    assert (dash.kicker, dash.title, dash.subtitle) == (None, "主标题", "副标题")
    page_header = parse_headings(["2023年4月20日 星期四", "A02", "独立标题"], banners)
    assert page_header.title == "独立标题" and len(page_header.banners) == 2


def test_split_page_subheading_stays_in_article() -> None:
    page = "\n".join(
        [
            "大标题",
            "",
            "本报讯（记者 张三）第一段。",
            "",
            "坚持创新驱动",
            "",
            "第二段。",
            "",
            "",
            "",
            "另一篇标题",
            "",
            "另一篇正文。",
        ]
    )
    articles = list(split_page(page_lines(page.splitlines())))
    assert [[line.text for line in a.headings] for a in articles] == [["大标题"], ["另一篇标题"]]
    assert [line.text for line in articles[0].body] == [
        "本报讯（记者 张三）第一段。",
        "坚持创新驱动",
        "第二段。",
    ]


def test_an_article_continued_on_a_later_page_is_joined_by_its_jump_lines() -> None:
    from semsearch.embedder.newspaper import PageLine, join_continued, split_page

    lines = [
        PageLine("第一篇的标题", 0),
        PageLine("本报讯 第一篇开头的一段。", 1),
        PageLine("第一篇第二段，接下来转版。（下转第2版）", 1),
        PageLine("第二篇的标题", 2),
        PageLine("本报讯 第二篇只有这一段。", 1),
        PageLine("（上接第1版）第一篇的后半段在第二版。", 1),
    ]
    articles = list(join_continued(split_page(lines)))
    assert [[line.text for line in a.body] for a in articles] == [
        ["本报讯 第一篇开头的一段。", "第一篇第二段，接下来转版。", "第一篇的后半段在第二版。"],
        ["本报讯 第二篇只有这一段。"],
    ]
