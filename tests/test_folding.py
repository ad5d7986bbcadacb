"""Traditional ⇄ simplified folding: the fold itself, the lexical index, highlights, page rules."""

from __future__ import annotations

import random
import re
from pathlib import Path

import opencc
import pytest

from semsearch import iter_articles, prepare_articles
from semsearch.embedder.folding import fold_script, fold_table
from semsearch.embedder.records import Article, Passage
from semsearch.index import Collection, SnippetStyle
from semsearch.index.snippets import make_snippet
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.paths import SEED

TO_TRADITIONAL = opencc.OpenCC("s2t")
STYLE = SnippetStyle(pre="[", post="]")
# Words whose characters differ between the scripts (经济/經濟), and a few that do not.
WORDS = (
    "经济", "发展", "数字", "技术", "产业", "项目", "城市", "铁路", "银行", "医院",
    "学校", "环境", "电视", "网络", "农业", "贸易", "会议", "选举", "记者", "报道",
    "调研", "观摩", "强调", "质量", "服务", "开发区", "营商", "资金", "图书馆", "历史",
    "体育", "气象", "港口",
)  # fmt: skip
SECOND_TITLE = "促进数字技术与实体经济深度融合全力以赴打造数字经济发展新高地"


def test_fold_keeps_length_and_offsets() -> None:
    traditional = "何雄調研數字經濟發展時強調，本報訊（記者 張昕）ABC 123"
    folded = fold_script(traditional)
    assert folded == "何雄调研数字经济发展时强调，本报讯（记者 张昕）ABC 123"
    assert len(folded) == len(traditional)
    assert fold_script(folded) == folded  # simplified text is left as it is
    assert fold_script("") == "" and fold_script("The mayor, 2023") == "The mayor, 2023"


def test_highlights_land_on_the_original_characters() -> None:
    text = "市長何雄調研數字經濟發展情況"
    assert make_snippet(text, ["数字", "经济"], STYLE) == "市長何雄調研[數字經濟]發展情況"
    # And the reverse: a traditional term marks simplified text.
    assert make_snippet("数字经济发展", ["發展"], STYLE) == "数字经济[发展]"


def _generated(n: int, seed: int = 7) -> list[tuple[tuple[Article, list[Passage]], list[str]]]:
    """Articles (with passages) of six random words each; odd ones in traditional script."""
    rng = random.Random(seed)
    out = []
    vocabulary = sorted(set(WORDS))
    for i in range(n):
        words = rng.sample(vocabulary, 6)
        sentence = "，".join(words) + "。"
        text = TO_TRADITIONAL.convert(sentence) if i % 2 else sentence
        out.append((make_article(f"a{i}", [text], title=f"稿件{i}"), words))
    return out


def _lexical_top(coll: Collection, query: str) -> str | None:
    hits = coll.search(query, mode="lexical", k=3).results
    return hits[0].article_id if hits else None


def test_generated_corpus_matches_across_scripts(tmp_path: Path) -> None:
    items = _generated(30)
    with Collection.create(tmp_path / "c", FakeEmbedder()) as coll:
        assert coll.info().lexical_analyzer == "jieba+bigrams+fold"
        coll.upsert([item for item, _ in items])
        for (article, _), words in items:
            simplified = " ".join(words)
            traditional = TO_TRADITIONAL.convert(simplified)
            # Either script finds the article, whichever script it was written in.
            assert _lexical_top(coll, simplified) == article.id
            assert _lexical_top(coll, traditional) == article.id
        (trad_article, _), words = items[1]
        hit = coll.search(words[0], mode="lexical", k=30, snippet_style=STYLE).results
        marked = {h.article_id: h.snippet for h in hit}[trad_article.id]
        assert f"[{TO_TRADITIONAL.convert(words[0])}]" in marked


def test_reanalyze_upgrades_a_collection_without_folding(tmp_path: Path) -> None:
    items = _generated(20)
    path = tmp_path / "c"
    with Collection.create(path, FakeEmbedder(), analyzer="jieba+bigrams") as coll:
        coll.upsert([item for item, _ in items])
        found_before = [_lexical_top(coll, " ".join(w)) == a.id for (a, _), w in items]
        # Without folding, simplified queries miss traditional articles (the odd ones).
        assert all(found_before[0::2]) and not any(found_before[1::2])
    with Collection.open(path, FakeEmbedder()) as coll:
        before = coll.info()
        assert coll.reanalyze() == before.passages
        assert coll.info().lexical_analyzer == "jieba+bigrams+fold"
        assert all(_lexical_top(coll, " ".join(w)) == a.id for (a, _), w in items)
        assert (coll.info().articles, coll.info().passages) == (before.articles, before.passages)
        assert coll.check().ok


@pytest.fixture(scope="module")
def traditional_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample page converted to traditional script with OpenCC (phrase-level ``s2t``)."""
    path = tmp_path_factory.mktemp("hant") / SEED.name
    path.write_text(TO_TRADITIONAL.convert(SEED.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def test_traditional_page_parses_like_its_simplified_original(traditional_page: Path) -> None:
    simplified = list(iter_articles([SEED]))
    traditional = list(iter_articles([traditional_page]))
    assert len(simplified) == len(traditional) == 2
    assert simplified[1].title == SECOND_TITLE
    for s, t in zip(simplified, traditional, strict=True):
        assert t.title == TO_TRADITIONAL.convert(s.title)
        assert t.kicker == (TO_TRADITIONAL.convert(s.kicker) if s.kicker else None)
        assert t.reporters == [TO_TRADITIONAL.convert(r) for r in s.reporters]
        assert (t.date, t.event_dates, len(t.paragraphs)) == (
            s.date,
            s.event_dates,
            len(s.paragraphs),
        )
        assert fold_script(t.text) == fold_script(s.text)
    assert traditional[1].kicker == "何雄調研數字經濟發展時強調"


@pytest.mark.slow
def test_simplified_query_finds_the_traditional_page(
    traditional_page: Path, real_embedder: object, tmp_path: Path
) -> None:
    with Collection.create(tmp_path / "c", real_embedder) as coll:  # type: ignore[arg-type]
        coll.upsert(prepare_articles([traditional_page], real_embedder))  # type: ignore[arg-type]
        for mode in ("lexical", "hybrid"):
            hit = coll.search("数字经济 核心产业", mode=mode, k=1, snippet_style=STYLE).results[0]
            assert hit.title == TO_TRADITIONAL.convert(SECOND_TITLE)
            marked = "".join(re.findall(r"\[([^\]]+)\]", hit.snippet))
            # The marks hold the original (traditional) characters of the matched terms.
            assert "數字" in marked and "產業" in marked and "数字" not in hit.snippet
        # Before folding the lexical side found nothing: simplified terms, traditional text.
        coll.reanalyze("jieba+bigrams")
        assert coll.search("数字经济", mode="lexical").results == []
        coll.reanalyze()
        assert coll.search("数字经济", mode="lexical").results


def test_character_table_alone_keeps_length(traditional_page: Path) -> None:
    # The fallback when OpenCC's phrase conversion would change a text's length.
    page = traditional_page.read_text(encoding="utf-8")
    folded = page.translate(fold_table())
    assert len(folded) == len(page) and "何雄调研数字经济发展时强调" in folded
    assert all(len(simplified) == 1 for simplified in fold_table().values())


def test_a_phrase_in_one_script_holds_in_the_other(tmp_path: Path) -> None:
    simplified = "全市重大项目观摩活动举行，坚持项目为王，推动数字经济发展。"
    traditional = TO_TRADITIONAL.convert(simplified)
    assert traditional != simplified
    with Collection.create(tmp_path / "c", FakeEmbedder()) as coll:
        records = [
            {"id": "s1", "title": "简体", "text": simplified},
            {"id": "t1", "title": "繁體", "text": traditional},
            {"id": "x1", "title": "其他", "text": "数字化转型推动经济"},
        ]
        coll.upsert(prepare_articles(records, FakeEmbedder()))
        for query in ('"数字经济"', '"數字經濟"'):
            for mode in ("lexical", "hybrid", "dense"):
                found = {h.article_id for h in coll.search(query, mode=mode, k=10).results}
                assert found == {"s1", "t1"}, (query, mode, found)
        excluded = coll.search('经济 -"數字經濟"', mode="lexical", k=10).results
        assert {h.article_id for h in excluded} == {"x1"}
