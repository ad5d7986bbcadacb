"""Writing a report: ``.csv``, ``.jsonl`` or ``.html``, chosen by the output's extension."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from semsearch.embedder.errors import InputError
from semsearch.service.reports.html import render_html
from semsearch.service.reports.model import Report

FORMATS = (".csv", ".jsonl", ".html")


def output_format(path: Path) -> str:
    """The format of ``path`` from its extension.

    Args:
        path: Output file.

    Returns:
        ``.csv``, ``.jsonl`` or ``.html``.

    Raises:
        InputError: Another extension.
    """
    suffix = path.suffix.lower()
    if suffix == ".htm":
        suffix = ".html"
    if suffix not in FORMATS:
        raise InputError(
            f"unsupported report format {path.suffix or '(none)'!r} for {path}: use {', '.join(FORMATS)}"
        )
    return suffix


def write_report(report: Report, path: Path) -> None:
    """Write ``report`` to ``path`` atomically (a reader never sees half a file).

    Args:
        report: The report.
        path: Output file; its extension picks the format.
    """
    kind = output_format(path)
    if not path.parent.is_dir():
        raise InputError(f"output directory does not exist: {path.parent}")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            if kind == ".csv":
                writer = csv.DictWriter(
                    handle, fieldnames=list(report.columns), extrasaction="ignore"
                )
                writer.writeheader()
                writer.writerows(_csv_row(row) for row in report.rows)
            elif kind == ".jsonl":
                for record in report.records:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                handle.write(render_html(report))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# Cells a spreadsheet would read as a formula (OWASP "CSV injection"): text beginning
# with one of these gets a leading apostrophe, which spreadsheets show as plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """One CSV cell, safe to open in a spreadsheet.

    Numbers the report computed (scores, ranks, counts) stay numbers, negative ones too:
    an ``int`` or ``float`` is written by ``csv`` as its ``repr``, digits that can hold no
    formula. Text (titles, ids, snippets, anything that came from the input) that begins
    with ``= + - @``, tab or carriage return is prefixed with ``'``, so ``-1+1`` in a title
    stays text while a score of ``-0.12`` stays a number.

    Args:
        value: A row value.

    Returns:
        ``""`` for None, ``0``/``1`` for booleans, numbers as they are, neutralised text.
    """
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int; 0/1 so spreadsheets sum them
        return int(value)
    if isinstance(value, int | float):
        return value
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: csv_cell(value) for key, value in row.items()}
