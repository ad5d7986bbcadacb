"""What the locally built backends (int8 ONNX, OpenVINO) share: verification and publishing.

Each backend builds its artefacts once per model fingerprint in a staging directory beside
the target, checks the result against plain fp32 torch, and only then renames it into place
with a metadata file written last, so a half-built directory is never taken for a build.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..model_files import ModelFiles
from .base import EncoderBackend

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
    from .torch_backend import TorchBackend

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


def publish(staging: Path, target: Path, meta: dict[str, Any], meta_file: str) -> None:
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
