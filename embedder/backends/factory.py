"""Pick and build an encoder backend from the settings (txtai-style factory)."""

from __future__ import annotations

import logging

from ..errors import ModelError
from ..model_files import ModelFiles
from ..settings import Settings
from .base import EncoderBackend

logger = logging.getLogger(__name__)


def create_backend(model: ModelFiles, settings: Settings) -> EncoderBackend:
    """Build the backend ``settings.backend`` names.

    ``auto`` takes the int8 ONNX model (built and verified on first use) and falls back to
    fp32 torch when it cannot be built or fails verification.

    Args:
        model: The resolved model.
        settings: Effective settings.

    Returns:
        A ready backend.
    """
    from .onnx_backend import OnnxInt8Backend, build_int8_model
    from .torch_backend import TorchBackend

    common = {"threads": settings.threads, "max_seq_length": settings.max_seq_length}
    if settings.backend == "torch":
        return TorchBackend(model, **common)
    try:
        directory = build_int8_model(model, settings.resolved_cache_dir(), **common)
        return OnnxInt8Backend(model, directory, **common)
    except ModelError as exc:
        if settings.backend == "onnx-int8":
            raise
        logger.warning("int8 backend unavailable (%s); using torch fp32", exc)
        return TorchBackend(model, **common)
