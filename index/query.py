"""The query syntax: ``"exact phrase"``, ``+must``, ``-exclude``, ``-"phrase"`` and ``OR``.

One parser serves the CLI, the HTTP API and the search page. A query splits into

- *plain words*, which only rank (as every query did before this syntax existed);
- *required clauses*: a quoted phrase or a ``+word`` must occur in the passage (its text
  or its article's title); ``A OR B`` joins parts into one clause that needs any of them;
- *exclusions*: ``-word`` / ``-"phrase"`` drop every article that holds them anywhere.

Required clauses and exclusions are hard constraints applied like filters, before the top-k
cut; the text of everything not excluded ranks the candidates, so a query that is only a
phrase is still ordered by relevance. A query with neither quotes, signs nor ``OR`` parses
to its own text unchanged.

The reading is lenient because queries are often pasted from news text, which is full of
quotes: a quote that opens no phrase (unbalanced, stray closing, empty) is read as text, and
so are a lone ``+``/``-`` and an ``OR`` without a part on each side. Each such reading adds
a note, which the CLI, the API (``parsed``) and the page show. Only a query with nothing to
search for (empty, or exclusions only) is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypedDict

from semsearch.index.errors import InputError

# Straight quotes and the quotes a Chinese input method types.
QUOTES = {'"': '"', "\u201c": "\u201d", "\u300c": "\u300d"}
_CLOSERS = frozenset(QUOTES.values()) - frozenset(QUOTES)
_QUOTE_CHARS = frozenset(QUOTES) | _CLOSERS
OR_OPERATOR = "OR"
# Spaces between Chinese characters inside a phrase mean nothing (the text may have any).
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff])\s+(?=[\u3400-\u9fff\uf900-\ufaff])")


class QuerySyntaxError(InputError):
    """The query has no sensible reading (nothing to search for, or exclusions only)."""


class QueryDescription(TypedDict):
    """How a query was read, as the API (``parsed``) and ``--json`` show it.

    ``text`` ranks; ``words`` only rank; every clause of ``required`` must hold (any one of
    its texts); articles holding an ``excluded`` text are left out; ``phrases`` lists the
    quoted texts among them; ``notes`` says where the query was read leniently.
    """

    text: str
    words: list[str]
    phrases: list[str]
    required: list[list[str]]
    excluded: list[str]
    notes: list[str]


@dataclass(frozen=True)
class _Part:
    text: str
    sign: str  # "", "+" or "-"
    quoted: bool


@dataclass(frozen=True)
class ParsedQuery:
    """A query split into what ranks, what must match and what must not.

    Attributes:
        raw: The query as typed.
        text: What ranks the candidates: every part that is not excluded, space-joined
            (the raw query itself when it has no constraint and no ``OR``).
        words: The plain words (ranking only, no constraint).
        required: Clauses that must all hold; each clause is satisfied by any of its texts.
        excluded: Texts whose articles are left out.
        phrases: The quoted texts among ``required`` and ``excluded``.
        notes: What was read leniently, one sentence each (e.g. an unbalanced quote).
    """

    raw: str
    text: str
    words: tuple[str, ...]
    required: tuple[tuple[str, ...], ...]
    excluded: tuple[str, ...]
    phrases: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def constrained(self) -> bool:
        """True when the query has required clauses or exclusions."""
        return bool(self.required or self.excluded)

    @property
    def highlights(self) -> tuple[str, ...]:
        """The required texts, which snippets mark whole (a phrase, not its words)."""
        return tuple(dict.fromkeys(t for clause in self.required for t in clause))

    def describe(self) -> QueryDescription:
        """The public shape of this reading (JSON-ready)."""
        return QueryDescription(
            text=self.text,
            words=list(self.words),
            phrases=list(self.phrases),
            required=[list(clause) for clause in self.required],
            excluded=list(self.excluded),
            notes=list(self.notes),
        )


def parse_query(query: str, *, syntax: bool = True) -> ParsedQuery:
    """Parse a query string.

    Args:
        query: The query as typed.
        syntax: False reads the whole query as plain words (natural text such as an
            evaluation set's sentences, whose quotes are not phrases).

    Returns:
        The parsed query; its ``notes`` say what was read as text rather than syntax.

    Raises:
        QuerySyntaxError: The query is empty or holds nothing but exclusions.
    """
    if not syntax:
        return ParsedQuery(query, query, tuple(query.split()), (), ())
    notes: list[str] = []
    groups = _groups(_tokens(query, notes), notes)
    words: list[str] = []
    required: list[tuple[str, ...]] = []
    excluded: list[str] = []
    phrases: list[str] = []
    ranking: list[str] = []
    for group in groups:
        phrases.extend(part.text for part in group if part.quoted)
        if len(group) == 1 and group[0].sign == "-":
            excluded.append(group[0].text)
            continue
        ranking.extend(part.text for part in group)
        if any(part.quoted or part.sign == "+" for part in group):
            required.append(tuple(dict.fromkeys(part.text for part in group)))
        else:
            words.extend(part.text for part in group)
    if not ranking:
        if excluded:
            raise QuerySyntaxError(
                "the query has only exclusions; add a word or a phrase to search for"
            )
        raise QuerySyntaxError("the query is empty")
    plain = not required and not excluded and not any(len(g) > 1 for g in groups)
    return ParsedQuery(
        raw=query,
        text=query if plain else " ".join(ranking),
        words=tuple(words),
        required=tuple(required),
        excluded=tuple(dict.fromkeys(excluded)),
        phrases=tuple(dict.fromkeys(phrases)),
        notes=tuple(dict.fromkeys(notes)),
    )


def _curly_pairs(query: str) -> dict[int, int]:
    """Each curly opening quote's closing quote, matched as nested brackets per kind.

    Curly quotes nest (``“他说“好”呀”`` is one phrase). One pass, so a query full of
    unbalanced quotes costs no more than any other.
    """
    pairs: dict[int, int] = {}
    open_at: dict[str, list[int]] = {c: [] for o, c in QUOTES.items() if o != c}
    for i, ch in enumerate(query):
        if ch in open_at:
            if open_at[ch]:
                pairs[open_at[ch].pop()] = i
        elif ch in QUOTES and QUOTES[ch] in open_at:
            open_at[QUOTES[ch]].append(i)
    return pairs


def _spans(query: str, notes: list[str]) -> list[tuple[int, int]]:
    """The ``(open, close)`` positions of the quotes that make phrases, in order.

    Every other quote is text; ``notes`` gets a sentence for each kind met.
    """
    spans: list[tuple[int, int]] = []
    curly = _curly_pairs(query)
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch in QUOTES:
            # A straight quote closes at the next one, whatever curly quotes lie between.
            end = curly.get(i) if ch != QUOTES[ch] else query.find(ch, i + 1)
            if end is None or end < 0:
                notes.append(f"unbalanced quote {ch} read as text")
            elif not query[i + 1 : end].strip():
                notes.append(f"empty phrase {ch}{query[end]} read as text")
                i = end + 1
                continue
            else:
                spans.append((i, end))
                i = end + 1
                continue
        elif ch in _CLOSERS:
            notes.append(f"unbalanced quote {ch} read as text")
        i += 1
    return spans


def _tokens(query: str, notes: list[str]) -> list[_Part | None]:
    """Parts in order; None stands for an ``OR`` operator (decided later by its neighbours)."""
    tokens: list[_Part | None] = []
    cursor = 0
    for start, end in [*_spans(query, notes), (len(query), len(query))]:
        chunks = query[cursor:start].split()
        sign = ""
        # A sign touching the opening quote applies to the phrase (``-"营商 环境"``).
        phrase = start < len(query)
        if phrase and chunks and chunks[-1] in ("+", "-") and not query[start - 1].isspace():
            sign = chunks.pop()
        tokens.extend(_word(chunk, notes) for chunk in chunks)
        if phrase:
            text = _CJK_GAP.sub("", " ".join(query[start + 1 : end].split()))
            tokens.append(_Part(text, sign, quoted=True))
        cursor = end + 1
    return tokens


def _word(chunk: str, notes: list[str]) -> _Part | None:
    """A space-delimited chunk as a part, or None for ``OR``."""
    if chunk == OR_OPERATOR:
        return None
    sign, text = chunk[0], chunk[1:]
    if sign not in "+-":
        return _Part(chunk, "", quoted=False)
    if not _QUOTE_CHARS.issuperset(text):
        return _Part(text, sign, quoted=False)
    # A dash in pasted text (``2020 - 2021``), or a sign before nothing but stray quotes.
    notes.append(f"lone {sign} read as text")
    return _Part(chunk, "", quoted=False)


def _groups(tokens: list[_Part | None], notes: list[str]) -> list[list[_Part]]:
    """Join parts linked by ``OR`` into groups; every other part is a group of one.

    An ``OR`` without a part on each side, or next to an exclusion, is the word ``OR``.
    """
    groups: list[list[_Part]] = []
    joining = False
    for index, token in enumerate(tokens):
        if token is None:
            after = tokens[index + 1] if index + 1 < len(tokens) else None
            if not groups or after is None:
                notes.append("OR without a word or a phrase on each side read as a word")
            elif after.sign == "-" or groups[-1][-1].sign == "-":
                notes.append("OR next to an exclusion read as a word")
            else:
                joining = True
                continue
            token = _Part(OR_OPERATOR, "", quoted=False)
        if joining:
            groups[-1].append(token)
        else:
            groups.append([token])
        joining = False
    return groups
