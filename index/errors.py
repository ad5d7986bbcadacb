"""Exceptions raised by the index; messages are meant for the person at the keyboard."""

from __future__ import annotations

from semsearch.embedder.errors import InputError, ModelError, SemsearchError


class CollectionError(SemsearchError):
    """A collection is missing, unreadable or inconsistent and could not be repaired."""


class CollectionLockedError(CollectionError):
    """Another process holds the collection's writer lock."""


class ModelMismatchError(ModelError):
    """The collection was built with another embedding model."""


__all__ = [
    "CollectionError",
    "CollectionLockedError",
    "InputError",
    "ModelMismatchError",
]
