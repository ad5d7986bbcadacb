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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from semsearch.index.errors import InputError

# Straight quotes and the quotes a Chinese input method types.
QUOTES = {'"': '"', "\u201c": "\u201d", "\u300c": "\u300d"}
OR_OPERATOR = "OR"
# Spaces between Chinese characters inside a phrase mean nothing (the text may have any).
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff])\s+(?=[\u3400-\u9fff\uf900-\ufaff])")


class QuerySyntaxError(InputError):
    """The query breaks the syntax (unbalanced quote, nothing left to search for, ...)."""


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
            (the raw query itself when it uses no syntax).
        words: The plain words (ranking only, no constraint).
        required: Clauses that must all hold; each clause is satisfied by any of its texts.
        excluded: Texts whose articles are left out.
    """

    raw: str
    text: str
    words: tuple[str, ...]
    required: tuple[tuple[str, ...], ...]
    excluded: tuple[str, ...]

    @property
    def constrained(self) -> bool:
        """True when the query has required clauses or exclusions."""
        return bool(self.required or self.excluded)

    @property
    def highlights(self) -> tuple[str, ...]:
        """The required texts, which snippets mark whole (a phrase, not its words)."""
        return tuple(dict.fromkeys(t for clause in self.required for t in clause))


def parse_query(query: str, *, syntax: bool = True) -> ParsedQuery:
    """Parse a query string.

    Args:
        query: The query as typed.
        syntax: False reads the whole query as plain words (natural text such as an
            evaluation set's sentences, whose quotes are not phrases).

    Returns:
        The parsed query.

    Raises:
        QuerySyntaxError: Unbalanced quote, empty phrase, a lone ``+``/``-``, ``OR`` without a
            part on each side or next to an exclusion, or nothing but exclusions.
    """
    if not syntax:
        return ParsedQuery(query, query, tuple(query.split()), (), ())
    groups = _groups(_tokens(query))
    words: list[str] = []
    required: list[tuple[str, ...]] = []
    excluded: list[str] = []
    ranking: list[str] = []
    for group in groups:
        if len(group) == 1 and group[0].sign == "-":
            excluded.append(group[0].text)
            continue
        ranking.extend(part.text for part in group)
        if any(part.quoted or part.sign == "+" for part in group):
            required.append(tuple(dict.fromkeys(part.text for part in group)))
        else:
            words.extend(part.text for part in group)
    if not ranking:
        raise QuerySyntaxError(
            "the query has only exclusions; add a word or a phrase to search for"
        )
    plain = not required and not excluded and not any(len(g) > 1 for g in groups)
    return ParsedQuery(
        raw=query,
        text=query if plain else " ".join(ranking),
        words=tuple(words),
        required=tuple(required),
        excluded=tuple(dict.fromkeys(excluded)),
    )


def _tokens(query: str) -> list[_Part | None]:
    """Parts in order; None stands for an ``OR`` operator."""
    tokens: list[_Part | None] = []
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        sign = ""
        if query[i] in "+-":
            sign = query[i]
            i += 1
            if i >= n or query[i].isspace():
                raise QuerySyntaxError(f"{sign!r} must be followed by a word or a quoted phrase")
        if query[i] in QUOTES:
            close = QUOTES[query[i]]
            end = query.find(close, i + 1)
            if end < 0:
                raise QuerySyntaxError(
                    f"unbalanced quote {query[i]!r} at character {i + 1}; close the phrase"
                )
            text = _CJK_GAP.sub("", " ".join(query[i + 1 : end].split()))
            if not text:
                raise QuerySyntaxError("empty phrase \"\"; put words between the quotes")
            tokens.append(_Part(text, sign, quoted=True))
            i = end + 1
            continue
        start = i
        while i < n and not query[i].isspace() and query[i] not in QUOTES:
            i += 1
        word = query[start:i]
        if word.endswith(tuple(QUOTES.values())) and not sign:
            raise QuerySyntaxError(f"unbalanced quote in {word!r}; open the phrase")
        if word == OR_OPERATOR and not sign:
            tokens.append(None)
        else:
            tokens.append(_Part(word, sign, quoted=False))
    return tokens


def _groups(tokens: list[_Part | None]) -> list[list[_Part]]:
    """Join parts linked by ``OR`` into groups; every other part is a group of one."""
    groups: list[list[_Part]] = []
    joining = False
    for index, token in enumerate(tokens):
        if token is None:
            if not groups or joining or index == len(tokens) - 1:
                raise QuerySyntaxError("OR needs a word or a phrase on each side")
            joining = True
            continue
        if joining:
            if token.sign == "-" or groups[-1][-1].sign == "-":
                raise QuerySyntaxError("OR cannot join an exclusion; write -a -b to leave out both")
            groups[-1].append(token)
        else:
            groups.append([token])
        joining = False
    return groups
