"""Sentence splitting and the token-budget chunker that turns articles into passages.

A paragraph that fits the model's budget is one passage. A longer one is cut at sentence
ends (``。！？；`` and ``!?;``, ``.`` before a space), packing whole sentences; a sentence
that alone exceeds the budget is cut at clause punctuation, and as a last resort at the
longest prefix that fits. Budgets are measured with the caller's tokenizer, never in
characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from semsearch.embedder.records import Article, Passage

CountTokens = Callable[[list[str]], Sequence[int]]
Span = tuple[int, int]

_SENTENCE_END_RE = re.compile(r"(?:[。！？；!?;]+|…+|\.(?=\s))[”’」』）)】》\"']*")
_CLAUSE_END_RE = re.compile(r"[，,、：:]+[”’」』）)】》\"']*")


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _split_at(pattern: re.Pattern[str], text: str, start: int, end: int) -> list[Span]:
    spans: list[Span] = []
    cursor = start
    for match in pattern.finditer(text, start, end):
        span = _trim(text, cursor, match.end())
        if span:
            spans.append(span)
        cursor = match.end()
    tail = _trim(text, cursor, end)
    if tail:
        spans.append(tail)
    return spans


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Return the sentence spans of ``text[start:end]`` as offsets into ``text``.

    Args:
        text: The article text.
        start: Start of the region (e.g. a paragraph).
        end: End of the region; default the end of the text.

    Returns:
        ``(start, end)`` spans, whitespace trimmed, closing quotes kept with their sentence.
    """
    return _split_at(_SENTENCE_END_RE, text, start, len(text) if end is None else end)


class _Chunker:
    """Cuts over-long paragraphs of one text into spans that fit ``max_tokens``."""

    def __init__(self, text: str, count_tokens: CountTokens, max_tokens: int, overlap: int):
        self.text = text
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.overlap = overlap
        # Prompt and special tokens: paid once per passage, not per sentence.
        self.overhead = int(count_tokens([""])[0])
        if self.overhead >= max_tokens:
            raise ValueError(
                f"max_tokens={max_tokens} leaves no room after {self.overhead} prompt tokens"
            )

    def count(self, spans: Sequence[Span]) -> list[int]:
        return [int(n) for n in self.count_tokens([self.text[a:b] for a, b in spans])]

    def fits(self, span: Span) -> bool:
        return self.count([span])[0] <= self.max_tokens

    def pieces(self, span: Span) -> list[Span]:
        """Sentences (or smaller pieces) of a span, each fitting the budget on its own."""
        result: list[Span] = []
        sentences = split_sentences(self.text, *span)
        for sentence, tokens in zip(sentences, self.count(sentences), strict=True):
            if tokens <= self.max_tokens:
                result.append(sentence)
            else:
                result.extend(self._cut_sentence(sentence))
        return result

    def _cut_sentence(self, span: Span) -> list[Span]:
        clauses = _split_at(_CLAUSE_END_RE, self.text, *span)
        result: list[Span] = []
        for clause, tokens in zip(clauses, self.count(clauses), strict=True):
            result.extend([clause] if tokens <= self.max_tokens else self._hard_cut(clause))
        return self.pack(result, overlap=0)

    def _hard_cut(self, span: Span) -> list[Span]:
        # Longest fitting prefix of a run-on text without any punctuation. The search grows
        # its window from the budget (in characters) by doubling before bisecting, so each
        # probe is at most twice the piece it finds: linear in the text, where bisecting over
        # the whole rest of the text tokenized it again for every piece (quadratic).
        result: list[Span] = []
        start, end = span
        while start < end:
            low, high = self._bracket(start, end)
            while low < high:
                middle = (low + high + 1) // 2
                if self.fits((start, middle)):
                    low = middle
                else:
                    high = middle - 1
            result.append((start, low))
            start = low
        return result

    def _bracket(self, start: int, end: int) -> Span:
        """``(fits, too long)`` ends of the prefix search: the longest prefix lies between."""
        low, step = start + 1, self.max_tokens
        while True:
            probe = min(start + step, end)
            if not self.fits((start, probe)):
                return low, probe - 1
            if probe == end:
                return end, end
            low, step = probe, step * 2

    def pack(self, pieces: Sequence[Span], *, overlap: int) -> list[Span]:
        """Greedily join consecutive pieces into spans that fit, repeating ``overlap`` pieces."""
        if not pieces:
            return []
        costs = [max(n - self.overhead, 1) for n in self.count(pieces)]
        groups: list[tuple[int, int]] = []
        first = 0
        while first < len(pieces):
            last, total = first, self.overhead + costs[first]
            while last + 1 < len(pieces) and total + costs[last + 1] <= self.max_tokens:
                last += 1
                total += costs[last]
            groups.append((first, last))
            if last + 1 >= len(pieces):
                break
            # Overlap repeats trailing pieces, but each passage must still move forward.
            first = max(last + 1 - overlap, first + 1)
        spans: list[Span] = []
        for a, b in groups:
            spans.extend(self._verified(pieces[a : b + 1]))
        return spans

    def _verified(self, pieces: Sequence[Span]) -> list[Span]:
        # Token counts are not exactly additive across a seam; halve until the real count fits.
        span = (pieces[0][0], pieces[-1][1])
        if len(pieces) == 1 or self.fits(span):
            return [span]
        middle = len(pieces) // 2
        return self._verified(pieces[:middle]) + self._verified(pieces[middle:])


def cut_passages(
    article: Article,
    *,
    count_tokens: CountTokens,
    max_tokens: int,
    overlap_sentences: int = 0,
) -> list[Passage]:
    """Cut an article into passages that each fit the model's token budget.

    Args:
        article: A cleaned article; passages point into ``article.text``.
        count_tokens: Returns, for each text, the tokens the model sees when it is embedded
            as a passage (prompt and special tokens included), e.g. ``Embedder.count_tokens``.
        max_tokens: The budget, e.g. 512.
        overlap_sentences: Sentences repeated at the start of the next piece of a long
            paragraph (context across the cut).

    Returns:
        Passages in reading order, ``ordinal`` from 0; a fitting paragraph is one passage.

    Raises:
        ValueError: The budget leaves no room for text, or overlap is negative.
    """
    if overlap_sentences < 0:
        raise ValueError("overlap_sentences must be >= 0")
    if not article.paragraphs:
        return []
    chunker = _Chunker(article.text, count_tokens, max_tokens, overlap_sentences)
    spans_by_paragraph: list[tuple[int, list[Span]]] = []
    counts = chunker.count([(p.start, p.end) for p in article.paragraphs])
    for paragraph, tokens in zip(article.paragraphs, counts, strict=True):
        span = (paragraph.start, paragraph.end)
        if tokens <= max_tokens:
            spans_by_paragraph.append((paragraph.index, [span]))
        else:
            packed = chunker.pack(chunker.pieces(span), overlap=overlap_sentences)
            spans_by_paragraph.append((paragraph.index, packed))
    passages: list[Passage] = []
    for paragraph_index, spans in spans_by_paragraph:
        for start, end in spans:
            passages.append(
                Passage(
                    article_id=article.id,
                    ordinal=len(passages),
                    paragraph_index=paragraph_index,
                    start=start,
                    end=end,
                    text=article.text[start:end],
                    regions=article.paragraphs[paragraph_index].regions,
                )
            )
    return passages
