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

    ``auto`` takes the fastest backend that builds and passes verification against fp32:
    OpenVINO, then the int8 ONNX model, then fp32 torch.

    Args:
        model: The resolved model.
        settings: Effective settings.

    Returns:
        A ready backend.

    Raises:
        ModelError: The backend named explicitly cannot be built.
    """
    from .torch_backend import TorchBackend

    common = {"threads": settings.threads, "max_seq_length": settings.max_seq_length}
    if settings.backend == "torch":
        return TorchBackend(model, **common)
    if settings.backend in ("auto", "openvino"):
        try:
            return _openvino(model, settings)
        except ModelError as exc:
            if settings.backend == "openvino":
                raise
            logger.warning("OpenVINO backend unavailable (%s); trying onnx-int8", exc)
    from .onnx_backend import OnnxInt8Backend, build_int8_model

    try:
        directory = build_int8_model(model, settings.resolved_cache_dir(), **common)
        return OnnxInt8Backend(model, directory, **common)
    except ModelError as exc:
        if settings.backend == "onnx-int8":
            raise
        logger.warning("int8 backend unavailable (%s); using torch fp32", exc)
        return TorchBackend(model, **common)


def _openvino(model: ModelFiles, settings: Settings) -> EncoderBackend:
    from .openvino_backend import OpenVinoBackend, build_openvino_model

    threads, length = settings.threads, settings.max_seq_length
    cache_dir = settings.resolved_cache_dir()
    directory = build_openvino_model(model, cache_dir, threads=threads, max_seq_length=length)
    try:
        return OpenVinoBackend(model, directory, threads=threads, max_seq_length=length)
    except ModelError as exc:
        # The files passed the size check but do not load (damaged in place): build afresh.
        logger.warning("rebuilding the OpenVINO model (%s)", exc)
        directory = build_openvino_model(
            model, cache_dir, threads=threads, max_seq_length=length, force=True
        )
        return OpenVinoBackend(model, directory, threads=threads, max_seq_length=length)
