"""Readable snippets: a window of the passage around the query's terms, terms highlighted.

Terms are found in the script-folded text (:func:`embedder.folding.fold_script`), which has
the original's length, so a simplified term highlights its traditional form and the
reverse, and the snippet shows the original characters.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from semsearch.embedder.folding import fold_script

SNIPPET_CHARS = 160
# Start the window a little before the first term so the reader sees some context.
LEAD_FRACTION = 0.2


@dataclass(frozen=True)
class SnippetStyle:
    """Markers around highlighted terms and at cut ends."""

    pre: str = "<mark>"
    post: str = "</mark>"
    ellipsis: str = "…"
    width: int = SNIPPET_CHARS


def _term_pattern(term: str) -> str:
    # OCR column breaks put spaces inside words; let every gap between characters match them.
    body = r"\s*".join(re.escape(ch) for ch in term)
    if term.isascii() and term[:1].isalnum():
        return rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])"
    return body


def term_regex(terms: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any term, longest first.

    Args:
        terms: Query terms.

    Returns:
        The pattern, or None without terms.
    """
    return _compiled(tuple(sorted({t for t in terms if t.strip()}, key=lambda t: (-len(t), t))))


@lru_cache(maxsize=256)
def _compiled(unique: tuple[str, ...]) -> re.Pattern[str] | None:
    # A page's ten snippets share one query's terms: compile the pattern once.
    if not unique:
        return None
    return re.compile("|".join(_term_pattern(t) for t in unique), re.IGNORECASE)


@lru_cache(maxsize=256)
def _folded_regex(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    # Fold a page's query terms once, not once per snippet (OpenCC is a call per term).
    return term_regex([fold_script(term) for term in terms])


def _densest_window(matches: Sequence[re.Match[str]], width: int) -> int:
    """Start of the first match whose window of ``width`` holds the most distinct terms.

    A window starting at a match holds the matches after it that end within ``width``;
    matches do not overlap, so their ends increase and the window is a run of matches
    that only moves forward: one pass (a passage full of a one-character term has hundreds).
    """
    counts: Counter[str] = Counter()
    best_start, best_score = matches[0].start(), -1
    end = 0
    for i, first in enumerate(matches):
        while end < len(matches) and matches[end].end() <= first.start() + width:
            counts[matches[end].group(0).lower()] += 1
            end += 1
        if len(counts) > best_score:
            best_start, best_score = first.start(), len(counts)
        if end > i:
            term = first.group(0).lower()
            counts[term] -= 1
            if not counts[term]:
                del counts[term]
        else:  # a match longer than the window holds nothing, itself included
            end = i + 1
    return best_start


def make_snippet(text: str, terms: Sequence[str], style: SnippetStyle | None = None) -> str:
    """Cut a window of ``text`` that holds the most distinct query terms and mark them.

    Args:
        text: Passage text.
        terms: Query terms (from :func:`index.lexical.query_terms`).
        style: Markers and width.

    Returns:
        The snippet; the passage start when no term occurs (e.g. a cross-lingual hit).
    """
    style = style or SnippetStyle()
    pattern = _folded_regex(tuple(terms))
    matches = list(pattern.finditer(fold_script(text))) if pattern else []
    width = style.width
    if len(text) <= width:
        start, end = 0, len(text)
    elif not matches:
        start, end = 0, width
    else:
        best_start = _densest_window(matches, width)
        start = max(0, best_start - int(width * LEAD_FRACTION))
        end = min(len(text), start + width)
        start = max(0, end - width)
    pieces: list[str] = [style.ellipsis] if start > 0 else []
    cursor = start
    for match in matches:
        if match.start() < start or match.end() > end:
            continue
        original = text[match.start() : match.end()]
        if match.start() == cursor and len(pieces) >= 2 and pieces[-1] == style.post:
            # Adjacent terms (数字 + 经济) read better as one highlighted phrase.
            pieces[-2] += original
        else:
            pieces += [text[cursor : match.start()], style.pre, original, style.post]
        cursor = match.end()
    pieces.append(text[cursor:end])
    if end < len(text):
        pieces.append(style.ellipsis)
    return "".join(pieces).strip()
