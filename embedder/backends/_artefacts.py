"""What the locally built backends (int8 ONNX, OpenVINO) share: verification and publishing.

Each backend builds its artefacts once per model fingerprint in a staging directory beside
the target, checks the result against plain fp32 torch, and only then renames it into place
with a metadata file written last, so a half-built directory is never taken for a build.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.embedder.backends.base import EncoderBackend
from semsearch.embedder.errors import ModelError
from semsearch.embedder.model_files import ModelFiles

MIN_COSINE = 0.99
# One Chinese and one English text of each kind, already prompted.
VERIFY_TEXTS = [
    "passage: 4月18日，市长何雄调研我市数字经济发展情况，全链条壮大数字核心产业。",
    "query: 重大项目观摩活动",
    "query: how does the city plan to grow its digital economy?",
    "passage: The central bank kept interest rates unchanged on Thursday, citing slowing inflation.",
]


def min_cosine_vs_fp32(
    fast: EncoderBackend, model: ModelFiles, *, threads: int, max_seq_length: int
) -> float:
    """The worst agreement of ``fast`` with fp32 torch on :data:`VERIFY_TEXTS`.

    Args:
        fast: The freshly built backend.
        model: The model it was built from.
        threads: Threads for the fp32 reference.
        max_seq_length: Truncation length in tokens.

    Returns:
        The smallest cosine over the texts, as passages and as queries.
    """
    from semsearch.embedder.backends.torch_backend import TorchBackend

    reference = TorchBackend(model, threads=threads, max_seq_length=max_seq_length)
    cosines = [
        np.sum(
            fast.encode_batch(VERIFY_TEXTS, query=query)
            * reference.encode_batch(VERIFY_TEXTS, query=query),
            axis=1,
        )
        for query in (False, True)
    ]
    return float(np.min(cosines))


def build_verified(
    model: ModelFiles,
    target: Path,
    *,
    label: str,
    version: int,
    meta_file: str,
    write: Callable[[Path], None],
    load: Callable[[Path], EncoderBackend],
    describe: Callable[[Path], dict[str, Any]] | None = None,
    threads: int,
    max_seq_length: int,
) -> Path:
    """Build a backend's files in a staging directory, verify them, and publish them.

    Args:
        model: The model the files are built from.
        target: Where the backend looks for them.
        label: What the files are, for messages (``int8 model``).
        version: Artefact format version, recorded in the metadata.
        meta_file: Name of the metadata file.
        write: Writes the files into the staging directory.
        load: Opens the backend over the staging directory.
        describe: Extra metadata about the staged files.
        threads: Threads for the verification run.
        max_seq_length: Truncation length in tokens.

    Returns:
        ``target``, holding the verified build.

    Raises:
        ModelError: The build's vectors disagree with fp32 beyond :data:`MIN_COSINE` (the
            rejection is recorded, so later runs do not rebuild it).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        write(staging)
        worst = min_cosine_vs_fp32(
            load(staging), model, threads=threads, max_seq_length=max_seq_length
        )
        ok = worst >= MIN_COSINE
        meta = {
            "version": version,
            "ok": ok,
            "min_cosine_vs_fp32": worst,
            "fingerprint": model.fingerprint,
            **(describe(staging) if describe is not None else {}),
            "reason": None if ok else f"cosine {worst:.4f} < {MIN_COSINE}",
        }
        _publish(staging, target, meta, meta_file)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not ok:
        raise ModelError(f"{label} of {model.name} rejected: {meta['reason']}")
    return target


def _publish(staging: Path, target: Path, meta: dict[str, Any], meta_file: str) -> None:
    """Write ``meta`` into ``staging`` and move the build into ``target``'s place.

    Args:
        staging: The finished build (consumed).
        target: Where the backend looks for it.
        meta: Build record; its file is written last so its presence marks a whole build.
        meta_file: Name of that file.
    """
    (staging / meta_file).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
