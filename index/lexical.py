"""Lexical side: the analyzers that turn text into the engine's terms.

Text is analysed in Python and handed to the tantivy engine (:mod:`index._engine`)
pre-tokenized, so its BM25 ranks the analyzer's terms, and :func:`exact_tokens` gives the
stream that phrases and required words are matched on.

Three analyzers exist; a collection records which one built its lexical index and analyses
queries with the same one (see :class:`Analyzer`):

- ``jieba``: jieba's search-mode words plus English words and numbers.
- ``jieba+bigrams``: those words plus every overlapping pair of Chinese characters, as
  Lucene's CJK analyzer indexes. Bigrams still match where the segmenter cut a name or a
  rare word differently in the query and in the text; on the tuning halves of the Chinese
  evaluation sets they raised hybrid nDCG@10 on the long-article, the Wikipedia and the
  XQuAD sets (``bench/fusion_tuning.py``).
- ``jieba+bigrams+fold`` (the default for new collections): the same after folding
  traditional characters to simplified (:func:`embedder.folding.fold_script`), so a
  simplified query finds traditional-script text and the reverse (``bench/folding.py``).
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

import jieba

from semsearch.embedder.folding import fold_script

# OCR'd newspaper columns break words with spaces (``传 统产业``); join CJK across them.
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
_WORD = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)
_CJK_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_CHAR = re.compile(r"[A-Za-z\u00c0-\u024f]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{2,}")
# Characters whose neighbouring pairs are always bigrams (the gap-joining range).
_PAIRABLE = re.compile(r"[\u3400-\u9fff]")
# What jieba keeps together as one block (its ``re_han_default``); any other character is
# a boundary jieba cuts at anyway, so cutting there too changes no term.
_JIEBA_BLOCK = re.compile(r"[\u4e00-\u9fd5a-zA-Z0-9+#&._%\-]")
# Longest piece handed to jieba at once: its HMM for words outside the dictionary copies
# paths at every character, quadratic in the block (a 100k run of 丨 took 40 s). Real text
# breaks far more often; a longer block is cut hard, so no term is longer than this either.
MAX_SEGMENT_CHARS = 200

# Frequent function words: they match nearly every passage, so they only add noise to an
# OR query. BM25's IDF would down-weight them anyway; dropping them also keeps queries short.
STOPWORDS = frozenset(
    ["的", "了", "和", "是", "在", "与", "及", "等", "也", "就", "都", "而", "又", "并", "其", "之", "这", "那", "有", "为", "对", "以", "于", "中", "上", "下", "我", "你", "他", "她", "它", "a", "an", "and", "are", "as", "at", "be", "by", "did", "do", "does", "for", "from", "had", "has", "have", "how", "i", "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with"]
)

_init_lock = threading.Lock()
_initialised = False


def warm_up() -> None:
    """Load jieba's dictionary now (about a second) rather than inside the first search."""
    global _initialised
    if _initialised:
        return
    with _init_lock:
        if not _initialised:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _initialised = True


def normalise(text: str) -> str:
    """Undo column-break spaces inside Chinese words and fold case.

    Args:
        text: Raw passage or query text.

    Returns:
        Text ready for segmentation.
    """
    return _CJK_GAP.sub("", text).lower()


def tokenize(text: str) -> list[str]:
    """Segment text into index terms: Chinese words (search mode), English words, numbers.

    Args:
        text: Any text.

    Returns:
        Terms in order, duplicates kept (BM25 needs term frequencies).
    """
    warm_up()
    terms: list[str] = []
    for piece in segments(normalise(text)):
        for token in jieba.cut_for_search(piece):
            token = token.strip()
            # ``_`` would survive unicode61 as a separator anyway; skip pure punctuation.
            if token and _WORD.search(token) and token != "_":
                terms.append(token)
    return terms


def segments(text: str, limit: int = MAX_SEGMENT_CHARS) -> list[str]:
    """Cut text into pieces of at most ``limit`` characters for the segmenter, in linear time.

    A piece ends after the last character jieba would cut at anyway (in the second half
    of the window); only a longer unbroken block is cut hard at ``limit``.

    Args:
        text: Normalised text.
        limit: Longest piece.

    Returns:
        The pieces, which join back to ``text``.
    """
    pieces: list[str] = []
    start = 0
    while len(text) - start > limit:
        cut = start + limit
        for end in range(start + limit, start + limit // 2, -1):
            if not _JIEBA_BLOCK.match(text, end - 1):
                cut = end
                break
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def query_terms(text: str) -> list[str]:
    """Distinct query terms without stopwords, in first-seen order.

    Args:
        text: The user's query.

    Returns:
        Terms to look up.
    """
    seen: dict[str, None] = {}
    for term in tokenize(text):
        if term not in STOPWORDS:
            seen.setdefault(term, None)
    return list(seen)


def bigrams(text: str) -> list[str]:
    """Every overlapping pair of Chinese characters, run by run, in order.

    Args:
        text: Any text (normalised here).

    Returns:
        The bigrams, duplicates kept; a lone character yields none (its word covers it).
    """
    out: list[str] = []
    for run in _CJK_RUN.findall(normalise(text)):
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


@dataclass(frozen=True)
class Analyzer:
    """How one lexical index turns text into terms; queries must use the same one.

    Attributes:
        name: The name recorded in the collection.
        bigrams: Add Chinese character bigrams to the words.
        fold: Fold traditional characters to simplified before segmenting.
    """

    name: str
    bigrams: bool
    fold: bool = False

    def index_terms(self, text: str) -> list[str]:
        """Terms of a passage or title, duplicates kept (BM25 needs term frequencies).

        Args:
            text: Passage or title text.

        Returns:
            The terms.
        """
        if self.fold:
            text = fold_script(text)
        terms = tokenize(text)
        return terms + bigrams(text) if self.bigrams else terms

    def covers_pair(self, first: str, second: str) -> bool:
        """Whether :meth:`index_terms` holds ``first + second`` wherever the two are
        neighbouring :func:`exact_tokens` (then the engine need not index the pair again).

        True for two Chinese characters under a folding bigram analyzer: exact tokens fold
        the same way, skip only whitespace, and the bigrams join Chinese across whitespace.
        """
        return (
            self.bigrams
            and self.fold
            and _PAIRABLE.fullmatch(first) is not None
            and _PAIRABLE.fullmatch(second) is not None
        )

    def query_terms(self, text: str, words: list[str] | None = None) -> list[str]:
        """Distinct terms to match, without stopwords (words first, then bigrams).

        Args:
            text: The user's query.
            words: Its words from :func:`query_terms`, when the caller has them already.

        Returns:
            The terms.
        """
        if self.fold:
            # Segment the folded query, as the text was: the caller's words are unfolded.
            text = fold_script(text)
            words = None
        if words is None:
            words = query_terms(text)
        if not self.bigrams:
            return words
        return list(dict.fromkeys([*words, *bigrams(text)]))


ANALYZERS: dict[str, Analyzer] = {
    a.name: a
    for a in (
        Analyzer("jieba", bigrams=False),
        Analyzer("jieba+bigrams", bigrams=True),
        Analyzer("jieba+bigrams+fold", bigrams=True, fold=True),
    )
}
DEFAULT_ANALYZER = "jieba+bigrams+fold"
# Collections built before analyzers were recorded used plain jieba words.
LEGACY_ANALYZER = "jieba"


def analyzer(name: str) -> Analyzer:
    """The analyzer called ``name``.

    Args:
        name: One of :data:`ANALYZERS`.

    Returns:
        The analyzer.

    Raises:
        ValueError: Unknown name (a collection from a newer semsearch).
    """
    try:
        return ANALYZERS[name]
    except KeyError:
        raise ValueError(
            f"unknown lexical analyzer {name!r}; this semsearch knows {', '.join(ANALYZERS)}"
        ) from None


# What a phrase is matched on (see :func:`exact_tokens`): one token per Han or kana
# character, per run of other letters and digits, and per other visible character.
_EXACT_TOKEN = re.compile(
    r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]"
    r"|[^\W_\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]+"
    r"|[^\s\w]|_"
)


def exact_tokens(text: str) -> list[str]:
    """The tokens phrases, ``+must`` parts and plain words are matched on, in order.

    Whitespace is no token, so a phrase holds across the spaces OCR puts inside words
    (``传 统产业``); Chinese is folded to simplified script, so a phrase holds in either
    script; a run of Latin letters or digits is one token, so ``AI`` does not match
    inside ``said``.

    Args:
        text: Passage, title or query text.

    Returns:
        The tokens, lowercased and folded.
    """
    return _EXACT_TOKEN.findall(fold_script(text).lower())


@dataclass(frozen=True)
class ScriptProfile:
    """Counts of CJK and Latin letters in a text; decides whether lexical matching can help."""

    cjk: int
    latin: int

    @property
    def cjk_share(self) -> float:
        """Fraction of letters that are CJK (0.5 when there are no letters at all)."""
        total = self.cjk + self.latin
        return self.cjk / total if total else 0.5


def script_profile(text: str) -> ScriptProfile:
    """Count CJK and Latin letters.

    Args:
        text: Any text.

    Returns:
        The profile.
    """
    return ScriptProfile(len(_CJK_CHAR.findall(text)), len(_LATIN_CHAR.findall(text)))
