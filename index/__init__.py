"""The index: a durable FAISS + SQLite collection with dense, lexical and hybrid search."""

from __future__ import annotations

from index.collection import Collection
from index.errors import CollectionError, CollectionLockedError, ModelMismatchError
from index.filters import Filters
from index.lexical import ANALYZERS, DEFAULT_ANALYZER
from index.results import CheckReport, CollectionInfo, SearchHit, SearchResponse, UpsertReport
from index.snippets import SnippetStyle
from index.vectors import KINDS

__all__ = [
    "ANALYZERS",
    "DEFAULT_ANALYZER",
    "KINDS",
    "CheckReport",
    "Collection",
    "CollectionError",
    "CollectionInfo",
    "CollectionLockedError",
    "Filters",
    "ModelMismatchError",
    "SearchHit",
    "SearchResponse",
    "SnippetStyle",
    "UpsertReport",
]
