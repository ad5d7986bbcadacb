"""Pick and build an encoder backend from the settings (txtai-style factory)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
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
# Under the data directory: the default embedding cache, where compiled models were built
# before they had a directory of their own.
LEGACY_CACHE_FOLDER = "cache"


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
    from semsearch.embedder.backends import onnx_backend
    from semsearch.embedder.backends.onnx_backend import OnnxInt8Backend, build_int8_model

    try:
        root = artefact_root(settings, model, onnx_backend.artefact_dir)
        directory = build_int8_model(model, root, **common)
        return OnnxInt8Backend(model, directory, **common)
    except ModelError as exc:
        if settings.backend == "onnx-int8":
            raise
        logger.warning("int8 backend unavailable (%s); using torch fp32", exc)
        return TorchBackend(model, **common)


def _openvino(model: ModelFiles, settings: Settings) -> OpenVinoBackend:
    from semsearch.embedder.backends import openvino_backend
    from semsearch.embedder.backends.openvino_backend import OpenVinoBackend, build_openvino_model

    threads, length = settings.threads, settings.max_seq_length
    root = artefact_root(settings, model, openvino_backend.artefact_dir)
    directory = build_openvino_model(model, root, threads=threads, max_seq_length=length)
    try:
        return OpenVinoBackend(model, directory, threads=threads, max_seq_length=length)
    except ModelError as exc:
        # The files passed the size check but do not load (damaged in place): build afresh.
        logger.warning("rebuilding the OpenVINO model (%s)", exc)
        directory = build_openvino_model(
            model, root, threads=threads, max_seq_length=length, force=True
        )
        return OpenVinoBackend(model, directory, threads=threads, max_seq_length=length)


def artefact_root(
    settings: Settings, model: ModelFiles, folder: Callable[[Path, ModelFiles], Path]
) -> Path:
    """Where a backend's compiled model for ``model`` is read and built.

    The artefact directory, unless only an embedding cache directory (the configured one,
    or the default) holds a build: that is where releases before the two were apart built
    them, and a build costs minutes.

    Args:
        settings: Effective settings.
        model: The resolved model.
        folder: The backend's ``artefact_dir(root, model)``.

    Returns:
        The root to hand to the backend's build function.
    """
    root = settings.resolved_artefact_dir()
    legacy = (settings.resolved_cache_dir(), settings.data_dir / LEGACY_CACHE_FOLDER)
    for candidate in (root, *legacy):
        if folder(candidate, model).is_dir():
            return candidate
    return root
