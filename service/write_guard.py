"""A write the server can give up: on shutdown, or when it runs past its time budget.

The model time of a write is spent in ``embed_passages`` inside the collection's write
transaction. :class:`GuardedEmbedder` embeds in small chunks and checks between them, so
raising there rolls the whole write back (``Collection.upsert`` is all or nothing) within
one chunk's model time, instead of holding the server until the last passage is embedded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

from semsearch.embedder.base import TextEmbedder, WrappedEmbedder
from semsearch.embedder.errors import SemsearchError

# Passages embedded between two checks: about a second of model time on two cores.
CHECK_EVERY_PASSAGES = 32


class WriteAbandoned(SemsearchError):
    """A write was given up and rolled back; ``stopping`` tells shutdown from time-out."""

    def __init__(self, message: str, *, stopping: bool) -> None:
        super().__init__(message)
        self.stopping = stopping


class GuardedEmbedder(WrappedEmbedder):
    """An embedder whose passage embedding stops at a deadline or when ``stop`` is set.

    Queries and token counts pass straight through; only the write path is guarded.
    """

    def __init__(self, inner: TextEmbedder, stop: threading.Event, budget_s: float) -> None:
        super().__init__(inner)
        self.stop = stop
        self.budget_s = budget_s
        self._deadline: float | None = None

    def start_write(self) -> None:
        """Open the time budget of one write (the caller holds the write lock)."""
        self._deadline = time.monotonic() + self.budget_s

    def end_write(self) -> None:
        """Close the budget: embedding outside a write is not timed."""
        self._deadline = None

    def check(self) -> None:
        """Raise :class:`WriteAbandoned` when the server stops or the budget is spent."""
        if self.stop.is_set():
            raise WriteAbandoned("the server is shutting down; nothing was written", stopping=True)
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise WriteAbandoned(
                f"the write took longer than {self.budget_s:g} s and was abandoned; nothing"
                " was written (send fewer or shorter articles per request)",
                stopping=False,
            )







    def embed_passages(self, texts: Sequence[str], *, progress: bool | None = None) -> np.ndarray:
        chunks = []
        for start in range(0, len(texts), CHECK_EVERY_PASSAGES):
            self.check()
            chunk = texts[start : start + CHECK_EVERY_PASSAGES]
            chunks.append(self.inner.embed_passages(chunk, progress=False))
        if not chunks:
            return self.inner.embed_passages(texts, progress=progress)
        return np.vstack(chunks)
