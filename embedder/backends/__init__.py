"""Encoder backends, one module per family, chosen by :func:`create_backend`."""

from __future__ import annotations

from semsearch.embedder.backends.base import EncoderBackend
from semsearch.embedder.backends.factory import create_backend

__all__ = ["EncoderBackend", "create_backend"]
