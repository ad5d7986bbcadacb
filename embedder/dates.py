"""Dates: normalising given dates and finding the dates an article mentions (``4月19日``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

# Years outside this range are OCR noise or not news dates. Newspapers are printed since
# 1605; national libraries publish issues from the 1610s on (KB's Delpher from 1618).
MIN_YEAR = 1600
MAX_YEAR = 2200

# The dates ``normalize_date`` reads, as one regular expression that both Python and
# ECMAScript (JSON Schema, OpenAPI) read alike: the HTTP API's schema states it, so a
# client's validator and the server agree on every string (tests check this). Calendar
# rules are spelled out: day 31 only in long months, 29 February only in leap years.
_YEAR = r"(?:1[6-9][0-9]{2}|2[01][0-9]{2}|2200)"  # MIN_YEAR..MAX_YEAR
_LEAP_YEAR = r"(?:(?:1[6-9]|2[01])(?:0[48]|[2468][048]|[13579][26])|1600|2000)"


def _calendar_pattern(month_sep: str, day_sep: str, *, two_digits: bool) -> str:
    """Year, month and day of a valid date, joined by the given separators."""
    pad = "0" if two_digits else "0?"
    long_month, short_month = rf"(?:{pad}[13578]|1[02])", rf"(?:{pad}[469]|11)"
    day31 = rf"(?:{pad}[1-9]|[12][0-9]|3[01])"
    day30 = rf"(?:{pad}[1-9]|[12][0-9]|30)"
    day28 = rf"(?:{pad}[1-9]|1[0-9]|2[0-8])"
    return (
        rf"(?:{_YEAR}{month_sep}(?:{long_month}{day_sep}{day31}"
        rf"|{short_month}{day_sep}{day30}|{pad}2{day_sep}{day28})"
        rf"|{_LEAP_YEAR}{month_sep}{pad}2{day_sep}29)"
    )


GIVEN_DATE_PATTERN = (
    r"^\s*(?:"
    + _calendar_pattern("[-/.]", "[-/.]", two_digits=False)
    + r"(?:[T\s][^\n]*)?|"
    + _calendar_pattern("", "", two_digits=True)
    + "|"
    + _calendar_pattern(r"\s*年\s*", r"\s*月\s*", two_digits=False)
    + r"\s*日[\s\S]*)\s*$"
)
_GIVEN_DATE_RES = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T\s].*)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
)
# ``2023年4月19日`` or ``4月19日``; a digit right before the month would be a longer number.
_MENTION_RE = re.compile(r"(?:(\d{4})\s*年\s*)?(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_YEAR_RE = re.compile(r"(?<!\d)(\d{4})\s*年")
_FILENAME_DATE_RE = re.compile(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)")


def _make_date(year: int, month: int, day: int) -> dt.date | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def normalize_date(value: str) -> str | None:
    """Read a date as people write it and return it as ``YYYY-MM-DD``.

    Args:
        value: ``2023-04-20``, ``2023/4/20``, ``20230420``, ``2023年4月20日`` or an ISO
            timestamp (its date part is kept).

    Returns:
        The ISO date, or None if the value is not a valid date.
    """
    text = value.strip()
    for pattern in _GIVEN_DATE_RES:
        match = pattern.match(text)
        if match:
            date = _make_date(*(int(group) for group in match.groups()))
            return date.isoformat() if date else None
    return None


def date_from_filename(name: str) -> str | None:
    """Return the date in a file name such as ``zhengzhou-evening-news-2023-04-20.txt``.

    Args:
        name: File name (not a path).

    Returns:
        The ISO date, or None if the name holds no valid date.
    """
    for match in _FILENAME_DATE_RE.finditer(name):
        date = _make_date(*(int(group) for group in match.groups()))
        if date:
            return date.isoformat()
    return None


def year_in_text(texts: Iterable[str]) -> int | None:
    """Return the first plausible year written as ``YYYY年`` in the texts, if any."""
    for text in texts:
        for match in _YEAR_RE.finditer(text):
            year = int(match.group(1))
            if MIN_YEAR <= year <= MAX_YEAR:
                return year
    return None


def _infer_year(
    month: int, day: int, published: dt.date | None, year_hint: int | None
) -> int | None:
    if published is not None:
        # News reports the past: a month after the publication month is last year's.
        if (month, day) > (published.month, published.day) and month - published.month > 1:
            return published.year - 1
        return published.year
    return year_hint


def extract_event_dates(
    texts: Iterable[str], *, published: str | None = None, year_hint: int | None = None
) -> list[str]:
    """Find the day-precise dates an article mentions, in order, without duplicates.

    Args:
        texts: The article's paragraphs (and byline).
        published: Publication date ``YYYY-MM-DD``; gives the year of ``4月19日``.
        year_hint: Year used when there is no publication date (e.g. from ``2023年`` in text).

    Returns:
        ISO dates; mentions whose year cannot be known are left out.
    """
    published_date = dt.date.fromisoformat(published) if published else None
    found: list[str] = []
    for text in texts:
        for match in _MENTION_RE.finditer(text):
            month, day = int(match.group(2)), int(match.group(3))
            year = (
                int(match.group(1))
                if match.group(1)
                else _infer_year(month, day, published_date, year_hint)
            )
            date = _make_date(year, month, day) if year is not None else None
            if date and date.isoformat() not in found:
                found.append(date.isoformat())
    return found
