"""``Embedder``: prompts, length-sorted batching, the cache and a progress bar around a backend."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from semsearch.embedder.backends import EncoderBackend, create_backend
from semsearch.embedder.cache import EmbeddingCache, cache_key
from semsearch.embedder.model_files import ModelFiles, resolve_model
from semsearch.embedder.settings import Settings

# Below this many texts a progress bar is noise.
PROGRESS_MIN_TEXTS = 256


class Embedder:
    """Text in, L2-normalised float32 vectors out (implements ``TextEmbedder``).

    Args:
        model: The resolved model.
        backend: The encoder doing the work.
        cache: Embedding cache, or None to always run the model.
        batch_size: Texts per model call.
        progress: Show a progress bar for long jobs.
        max_tokens: Token budget of one passage (prompt and special tokens included).
    """

    def __init__(
        self,
        model: ModelFiles,
        backend: EncoderBackend,
        *,
        cache: EmbeddingCache | None,
        batch_size: int,
        progress: bool,
        max_tokens: int,
    ) -> None:
        self._model = model
        self._backend = backend
        self._cache = cache
        self._batch_size = batch_size
        self._progress = progress
        self._max_tokens = max_tokens
        self.model_seconds = 0.0  # cumulative time spent in the model, for metrics

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Embedder:
        """Load the configured model and backend.

        Args:
            settings: Effective settings; environment defaults when None.

        Returns:
            A ready embedder.
        """
        settings = settings or Settings()
        model = resolve_model(settings.resolved_model())
        backend = create_backend(model, settings)
        cache = (
            EmbeddingCache(settings.resolved_cache_dir(), backend.dimension)
            if settings.cache
            else None
        )
        return cls(
            model,
            backend,
            cache=cache,
            batch_size=settings.batch_size,
            progress=settings.progress,
            max_tokens=min(settings.max_seq_length, model.max_seq_length),
        )

    @property
    def fingerprint(self) -> str:
        """Identity of the model weights."""
        return self._model.fingerprint

    @property
    def model_name(self) -> str:
        """The model as the user named it."""
        return self._model.name

    @property
    def backend_name(self) -> str:
        """``openvino``, ``onnx-int8`` or ``torch``."""
        return self._backend.name

    @property
    def dimension(self) -> int:
        """Vector length."""
        return self._backend.dimension

    @property
    def max_tokens(self) -> int:
        """Token budget of one passage, prompt and special tokens included."""
        return self._max_tokens

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries (with the model's query prompt).

        Args:
            texts: Queries.

        Returns:
            ``(len(texts), dimension)`` float32, L2-normalised.
        """
        return self._embed(texts, self._model.prompt("query"), progress=False, query=True)

    def embed_passages(self, texts: Sequence[str], *, progress: bool | None = None) -> np.ndarray:
        """Embed passages (with the model's passage prompt).

        Args:
            texts: Passages.
            progress: Force the progress bar on or off; default from settings.

        Returns:
            ``(len(texts), dimension)`` float32, L2-normalised.
        """
        show = self._progress if progress is None else progress
        return self._embed(texts, self._model.prompt("passage"), progress=show, query=False)

    def warm_up(self) -> None:
        """Run the query model once, bypassing the cache, so lazily loaded parts load now."""
        self._backend.encode_batch([self._model.prompt("query") + "semsearch"], query=True)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens the model sees for each text embedded as a passage (prompt and specials included).

        Args:
            texts: Passage texts without prompt.

        Returns:
            Token counts, untruncated.
        """
        prompt = self._model.prompt("passage")
        return self._backend.count_tokens([prompt + text for text in texts])

    def _embed(
        self, texts: Sequence[str], prompt: str, *, progress: bool, query: bool
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        prompted = [prompt + text for text in texts]
        # Queries get their own namespace: a backend may embed them with another model variant.
        namespace = f"{self.fingerprint}|{self.backend_name}" + ("|query" if query else "")
        keys = [cache_key(namespace, text) for text in prompted]
        # ``is not None``: a cache's truth value is its length, a COUNT(*) over the table.
        cached = self._cache.get_many(keys) if self._cache is not None else {}
        missing = [i for i, key in enumerate(keys) if key not in cached]
        for i, key in enumerate(keys):
            if key in cached:
                out[i] = cached[key]
        # Longest first, so each batch pads to similar lengths and memory peaks early.
        missing.sort(key=lambda i: len(prompted[i]), reverse=True)
        bar = tqdm(
            total=len(missing),
            unit="text",
            desc="embedding",
            disable=not progress or len(missing) < PROGRESS_MIN_TEXTS,
        )
        with bar:
            for start in range(0, len(missing), self._batch_size):
                batch = missing[start : start + self._batch_size]
                began = time.perf_counter()
                vectors = self._backend.encode_batch([prompted[i] for i in batch], query=query)
                self.model_seconds += time.perf_counter() - began
                out[batch] = vectors
                if self._cache is not None:
                    self._cache.put_many([keys[i] for i in batch], vectors)
                bar.update(len(batch))
        return out
