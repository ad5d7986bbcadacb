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


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    # Empty cells for missing values; booleans as 0/1 so spreadsheets can sum them.
    return {
        key: ("" if value is None else int(value) if isinstance(value, bool) else value)
        for key, value in row.items()
    }
