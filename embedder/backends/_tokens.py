"""The model's own fast tokenizer, as the ONNX-based backends use it."""

from __future__ import annotations

from typing import Any

from semsearch.embedder.errors import ModelError
from semsearch.embedder.model_files import ModelFiles


def fast_tokenizers(model: ModelFiles, max_seq_length: int) -> tuple[Any, Any]:
    """Two copies of the model's ``tokenizer.json``: one for inference, one for counting.

    Counting needs whole, untruncated texts (the chunker measures passages against the
    budget), while inference truncates; ``tokenizers`` keeps that setting per object.

    Args:
        model: The resolved model.
        max_seq_length: Truncation length in tokens for inference.

    Returns:
        ``(truncating, counting)`` tokenizers, neither padding.

    Raises:
        ModelError: The model ships no ``tokenizer.json``.
    """
    from tokenizers import Tokenizer

    if model.tokenizer_file is None:
        raise ModelError(f"{model.name} has no tokenizer.json; use --backend torch")
    truncating = Tokenizer.from_file(str(model.tokenizer_file))
    truncating.enable_truncation(min(max_seq_length, model.max_seq_length))
    truncating.no_padding()
    return truncating, Tokenizer.from_file(str(model.tokenizer_file))
