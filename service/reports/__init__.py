"""Batch reports over a whole collection: related, duplicates, queries, match, reuse, entities.

Each kind builds a :class:`~service.reports.model.Report`; :func:`write_report` writes it
as CSV, JSONL or a self-contained HTML page, chosen by the output file's extension.
"""

from __future__ import annotations

from semsearch.service.reports.corpus import Corpus, load_corpus
from semsearch.service.reports.duplicates import duplicates_report
from semsearch.service.reports.events import DUPLICATE_THRESHOLD
from semsearch.service.reports.match import load_other, match_report
from semsearch.service.reports.model import Report
from semsearch.service.reports.queries import queries_report, read_queries
from semsearch.service.reports.related import related_report
from semsearch.service.reports.reuse import reuse_report
from semsearch.service.reports.writers import FORMATS, output_format, write_report

KINDS = ("related", "duplicates", "queries", "match", "reuse", "entities")

__all__ = [
    "DUPLICATE_THRESHOLD",
    "FORMATS",
    "KINDS",
    "Corpus",
    "Report",
    "duplicates_report",
    "load_corpus",
    "load_other",
    "match_report",
    "output_format",
    "queries_report",
    "read_queries",
    "related_report",
    "reuse_report",
    "write_report",
]
