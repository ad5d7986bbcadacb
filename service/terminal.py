"""Text made safe to print on a terminal: what the CLI prints from stored or input data.

A stored title such as ``\\x1b[2J`` (clear screen), an OSC title or hyperlink sequence, or
a carriage return that overwrites the line must reach the terminal as nothing, not as a
command. Ingest already drops control characters (``embedder.cleaning``); this covers
collections written before that, ids (kept as given) and error messages quoting input.
"""

from __future__ import annotations

import re

from semsearch.embedder.cleaning import strip_controls

# Whitespace controls that would break the line layout of the output: one space each.
_LINE_BREAKING_RE = re.compile("[\t\n\r]")


def printable(text: object) -> str:
    """``text`` (any object, as ``str``) on one line with no control characters.

    Args:
        text: What is about to be printed.

    Returns:
        The text without escape sequences or control characters; tabs and line breaks
        become spaces.
    """
    return strip_controls(_LINE_BREAKING_RE.sub(" ", str(text)))


def printable_marked(text: str, marks: tuple[str, str]) -> str:
    """Like :func:`printable`, but the two highlight ``marks`` the CLI put in stay.

    Args:
        text: A snippet with ``marks[0]``/``marks[1]`` around the matched words.
        marks: The opening and closing mark (ANSI bold on a terminal).

    Returns:
        The snippet, each piece between the marks made printable.
    """
    pattern = "(" + "|".join(re.escape(mark) for mark in marks) + ")"
    pieces = re.split(pattern, text)
    return "".join(piece if piece in marks else printable(piece) for piece in pieces)
