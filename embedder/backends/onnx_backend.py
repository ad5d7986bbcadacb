"""The fast backend: the model exported to ONNX here and quantised to int8 with onnxruntime.

The export covers the whole sentence-transformers pipeline (transformer, pooling,
normalisation), so any model that loads with ``SentenceTransformer`` can take this path.
Passages, the bulk of the work, run int8: weights quantised per output channel (``MatMul``
only; per-tensor scales and an int8 embedding table cost this model ~0.02 cosine).
Queries, short and one at a time, run the fp32 export: measured on XQuAD en->zh, int8 on
both sides lost 0.011 nDCG@10 against fp32, int8 passages with fp32 queries 0.003.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.embedder.backends._artefacts import build_verified
from semsearch.embedder.backends._tokens import fast_tokenizers
from semsearch.embedder.errors import ModelError
from semsearch.embedder.model_files import ModelFiles

ONNX_FILE = "model-int8.onnx"
QUERY_ONNX_FILE = "model-fp32.onnx"
META_FILE = "model-int8.json"
# Bump when the artefacts change, so older builds are rebuilt rather than misread.
ARTEFACT_VERSION = 2
OPSET = 17


def artefact_dir(cache_dir: Path, model: ModelFiles) -> Path:
    """Where the int8 model for ``model`` lives (one directory per model fingerprint)."""
    return cache_dir / "onnx" / model.fingerprint.replace(":", "-")


def export_onnx(model: ModelFiles, target: Path, max_seq_length: int) -> None:
    """Export the whole sentence-transformers pipeline to one fp32 ONNX file.

    Args:
        model: The resolved model.
        target: The ``.onnx`` file to write.
        max_seq_length: Truncation length in tokens (shapes stay dynamic).
    """
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model.path), device="cpu")
    st.eval()

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.st = st

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            features = self.st({"input_ids": input_ids, "attention_mask": attention_mask})
            return torch.nn.functional.normalize(features["sentence_embedding"], dim=-1)

    sample = torch.ones((2, 16), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            Pipeline(),
            (sample, sample),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,
        )


def _quantise(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def build_int8_model(
    model: ModelFiles, cache_dir: Path, *, threads: int, max_seq_length: int
) -> Path:
    """Export, quantise and verify the int8 ONNX model, unless already built.

    Args:
        model: The resolved model.
        cache_dir: Root of the compiled models (``Settings.resolved_artefact_dir``).
        threads: Threads for the verification run.
        max_seq_length: Truncation length in tokens.

    Returns:
        Directory holding ``model-int8.onnx``.

    Raises:
        ModelError: The quantised model disagrees with fp32 beyond ``MIN_COSINE``.
    """
    target = artefact_dir(cache_dir, model)
    if (target / META_FILE).is_file():
        meta = json.loads((target / META_FILE).read_text(encoding="utf-8"))
        if meta.get("version") == ARTEFACT_VERSION:
            if meta.get("ok"):
                return target
            raise ModelError(
                f"int8 model of {model.name} was rejected earlier: {meta.get('reason')}"
            )

    def write(staging: Path) -> None:
        export_onnx(model, staging / QUERY_ONNX_FILE, max_seq_length)
        _quantise(staging / QUERY_ONNX_FILE, staging / ONNX_FILE)

    return build_verified(
        model,
        target,
        label="int8 model",
        version=ARTEFACT_VERSION,
        meta_file=META_FILE,
        write=write,
        load=lambda staging: OnnxInt8Backend(
            model, staging, threads=threads, max_seq_length=max_seq_length
        ),
        threads=threads,
        max_seq_length=max_seq_length,
    )


class OnnxInt8Backend:
    """onnxruntime over the int8 model, with the model's own fast tokenizer.

    Args:
        model: The resolved model (must ship ``tokenizer.json``).
        directory: Directory from :func:`build_int8_model`.
        threads: Texts embedded in parallel (one onnxruntime thread each).
        max_seq_length: Truncation length in tokens.
    """

    name = "onnx-int8"

    def __init__(
        self, model: ModelFiles, directory: Path, *, threads: int, max_seq_length: int
    ) -> None:
        import onnxruntime as ort

        self._tokenizer, self._counter = fast_tokenizers(model, max_seq_length)
        options = ort.SessionOptions()
        # One thread per run and one run per worker: per-text runs are too small to split
        # across cores well (measured 2.5x the throughput of one run on two threads).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._options = options
        self._directory = directory
        self._sessions: dict[bool, Any] = {}
        self._sessions_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="onnx-embed")
        probe = self._tokenizer.encode("x").ids
        self.dimension = int(self._run(probe, query=False).shape[-1])

    def encode_batch(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """See :meth:`EncoderBackend.encode_batch`.

        Texts run one at a time: dynamic int8 quantisation scales activations per tensor, so
        in a padded batch a text's vector would depend on its batch-mates (cosine ~0.995
        between runs). Alone, each text always gets the same vector, and on two cores it is
        also faster than padded batches (measured 48 vs 30 texts/s for news paragraphs).
        Texts run on ``threads`` workers in parallel; queries use the fp32 model.
        """
        encodings = self._tokenizer.encode_batch(list(texts))
        if len(encodings) == 1:
            return self._run(encodings[0].ids, query=query)[None, :]
        # onnxruntime releases the GIL while it runs, so threads give real parallelism.
        runs = self._pool.map(lambda e: self._run(e.ids, query=query), encodings)
        return np.vstack(list(runs))

    def _run(self, token_ids: list[int], *, query: bool) -> np.ndarray:
        ids = np.asarray([token_ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        (vector,) = self._session(query).run(None, feed)
        return np.asarray(vector[0], dtype=np.float32)

    def _session(self, query: bool) -> Any:
        # Loaded on first use: ingesting never needs the fp32 query model (470 MB).
        with self._sessions_lock:
            if query not in self._sessions:
                import onnxruntime as ort

                name = QUERY_ONNX_FILE if query else ONNX_FILE
                self._sessions[query] = ort.InferenceSession(
                    str(self._directory / name), self._options, providers=["CPUExecutionProvider"]
                )
            return self._sessions[query]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """See :meth:`EncoderBackend.count_tokens`."""
        return [len(e.ids) for e in self._counter.encode_batch(list(texts))]
