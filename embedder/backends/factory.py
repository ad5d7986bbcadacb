"""Pick and build an encoder backend from the settings (txtai-style factory)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from semsearch.embedder.backends.base import EncoderBackend
from semsearch.embedder.errors import ModelError
from semsearch.embedder.model_files import ModelFiles
from semsearch.embedder.settings import Settings

if TYPE_CHECKING:
    from semsearch.embedder.backends.openvino_backend import OpenVinoBackend

logger = logging.getLogger(__name__)

# OpenVINO beats onnx-int8 only where its CPU plugin infers in bf16 (AMX / AVX-512 BF16).
FAST_OPENVINO_PRECISION = "bf16"


def create_backend(model: ModelFiles, settings: Settings) -> EncoderBackend:
    """Build the backend ``settings.backend`` names.

    ``auto`` takes the fastest backend that builds and passes verification against fp32:
    OpenVINO when the CPU runs it in bf16, then the int8 ONNX model, then fp32 torch.

    Args:
        model: The resolved model.
        settings: Effective settings.

    Returns:
        A ready backend.

    Raises:
        ModelError: The backend named explicitly cannot be built.
    """
    from semsearch.embedder.backends.torch_backend import TorchBackend

    common = {"threads": settings.threads, "max_seq_length": settings.max_seq_length}
    if settings.backend == "torch":
        return TorchBackend(model, **common)
    if settings.backend == "openvino":
        return _openvino(model, settings)
    if settings.backend == "auto":
        try:
            backend = _openvino(model, settings)
        except ModelError as exc:
            logger.warning("OpenVINO backend unavailable (%s); trying onnx-int8", exc)
        else:
            # Its lead comes from bf16 on AMX; in fp32 (older CPUs) it is no faster than int8.
            if backend.inference_precision == FAST_OPENVINO_PRECISION:
                return backend
            logger.info("OpenVINO infers in %s here; using onnx-int8", backend.inference_precision)
    from semsearch.embedder.backends.onnx_backend import OnnxInt8Backend, build_int8_model

    try:
        directory = build_int8_model(model, settings.resolved_cache_dir(), **common)
        return OnnxInt8Backend(model, directory, **common)
    except ModelError as exc:
        if settings.backend == "onnx-int8":
            raise
        logger.warning("int8 backend unavailable (%s); using torch fp32", exc)
        return TorchBackend(model, **common)


def _openvino(model: ModelFiles, settings: Settings) -> OpenVinoBackend:
    from semsearch.embedder.backends.openvino_backend import OpenVinoBackend, build_openvino_model

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
