"""The reference backend: plain sentence-transformers on PyTorch, fp32."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from semsearch.embedder.model_files import ModelFiles


class TorchBackend:
    """``SentenceTransformer(path_or_name)`` on the CPU.

    Args:
        model: The resolved model.
        threads: Torch intra-op threads.
        max_seq_length: Truncation length in tokens.
    """

    name = "torch"

    def __init__(self, model: ModelFiles, *, threads: int, max_seq_length: int) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(model.path), device="cpu")
        self._model.max_seq_length = min(max_seq_length, model.max_seq_length)
        # sentence-transformers 6 renamed the accessor; 5.x only has the old name.
        get_dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(get_dimension() or 0)
        self._tokenizer = self._model.tokenizer

    @property
    def sentence_transformer(self) -> object:
        """The underlying ``SentenceTransformer`` (used to export the ONNX model)."""
        return self._model

    def encode_batch(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """See :meth:`EncoderBackend.encode_batch` (one fp32 model serves both kinds)."""
        vectors = self._model.encode(
            list(texts),
            batch_size=max(len(texts), 1),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """See :meth:`EncoderBackend.count_tokens`."""
        encoded = self._tokenizer(list(texts), add_special_tokens=True, truncation=False)
        return [len(ids) for ids in encoded["input_ids"]]
