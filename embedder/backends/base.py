"""What every encoder backend provides."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class EncoderBackend(Protocol):
    """Turns already-prompted texts into L2-normalised float32 vectors, one batch at a time."""

    name: str
    dimension: int

    def encode_batch(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """Encode one batch; texts already carry their prompt.

        Args:
            texts: Prompted texts.
            query: The texts are search queries (a backend may use a more exact model).

        Returns:
            Array of shape ``(len(texts), dimension)``, float32, L2-normalised.
        """
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens the model sees for each (prompted) text, special tokens included, untruncated."""
        ...
