"""Snippet windows: the one-pass window choice against its definition (fast)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from semsearch.index.snippets import _densest_window, make_snippet


def _densest_by_definition(matches: list[re.Match[str]], width: int) -> int:
    # The definition, quadratic: each match's window counted on its own.
    best_start, best_score = matches[0].start(), -1
    for i, first in enumerate(matches):
        seen = {m.group(0).lower() for m in matches[i:] if m.end() <= first.start() + width}
        if len(seen) > best_score:
            best_start, best_score = first.start(), len(seen)
    return best_start


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="数字经济ABab .", min_size=1, max_size=400),
    width=st.integers(min_value=1, max_value=60),
)
def test_densest_window_is_the_definitions(text: str, width: int) -> None:
    matches = list(re.finditer(r"数字|经济|ab|数|\.", text, re.IGNORECASE))
    if matches:
        assert _densest_window(matches, width) == _densest_by_definition(matches, width)


def test_window_holds_the_most_distinct_terms() -> None:
    text = "数字" * 40 + "。" * 200 + "数字经济发展" + "。" * 200
    snippet = make_snippet(text, ["数字", "经济"])
    assert "<mark>数字经济</mark>" in snippet
