"""The fastest CPU backend: the fp32 ONNX export run by OpenVINO, in bf16 on AMX CPUs.

OpenVINO's CPU plugin infers in bf16 by default on CPUs with AMX or AVX-512 BF16 (Sapphire
Rapids and later) and runs the matrix products on the AMX tiles; elsewhere it runs fp32.
bf16 keeps fp32 accumulation, so vectors agree with fp32 torch at cosine >= 0.9999 (int8
passages: ~0.995), and queries and passages can share one model. Measured on a 2-core
Sapphire Rapids: about 1.6x the onnx-int8 backend's passage throughput and a faster single
query. NNCF static int8 on AMX measured ~1.85x onnx-int8 but needs calibration passages
and costs quality, so it is not used.

Texts are padded to a multiple of ``LENGTH_BUCKET`` tokens and run in groups of equal
padded length: a text's vector then never depends on its batch-mates (bit-identical alone
or grouped), and OpenVINO compiles kernels for a few dozen shapes instead of one per length.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.embedder.backends._artefacts import build_verified
from semsearch.embedder.backends._tokens import fast_tokenizers
from semsearch.embedder.backends.onnx_backend import export_onnx
from semsearch.embedder.errors import ModelError
from semsearch.embedder.model_files import ModelFiles

IR_FILE = "model.xml"
WEIGHTS_FILE = "model.bin"
META_FILE = "openvino.json"
# Bump when the artefacts change, so older builds are rebuilt rather than misread.
ARTEFACT_VERSION = 1
# Padding granularity: 16 tokens costs ~10% extra compute on news paragraphs, while one
# shape per token length made the first pass over 2,000 paragraphs ~25% slower (kernel JIT).
LENGTH_BUCKET = 16
# Groups of equal padded length: up to 16 texts or 2,048 tokens per inference
# (measured 1.3x the throughput of one text per inference; larger groups gained nothing).
MAX_GROUP_TEXTS = 16
MAX_GROUP_TOKENS = 2048
PAD_TOKENS = ("<pad>", "[PAD]")
INPUT_NAMES = ("input_ids", "attention_mask")


def artefact_dir(cache_dir: Path, model: ModelFiles) -> Path:
    """Where the OpenVINO model for ``model`` lives (one directory per model fingerprint)."""
    return cache_dir / "openvino" / model.fingerprint.replace(":", "-")


def _read_meta(target: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((target / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _intact(target: Path, meta: dict[str, Any]) -> bool:
    # Sizes catch the usual damage (a copy or disk-full cut short) without hashing 470 MB.
    sizes = meta.get("sizes") or {}
    for name in (IR_FILE, WEIGHTS_FILE):
        path = target / name
        if not path.is_file() or path.stat().st_size != sizes.get(name):
            return False
    return True


def build_openvino_model(
    model: ModelFiles,
    cache_dir: Path,
    *,
    threads: int,
    max_seq_length: int,
    force: bool = False,
) -> Path:
    """Export, convert and verify the OpenVINO model, unless already built and intact.

    Args:
        model: The resolved model.
        cache_dir: Root of the compiled models (``Settings.resolved_artefact_dir``).
        threads: Threads for the verification run.
        max_seq_length: Truncation length in tokens.
        force: Rebuild even when a build is recorded (used when loading it failed).

    Returns:
        Directory holding ``model.xml`` and ``model.bin``.

    Raises:
        ModelError: OpenVINO is missing, or its vectors disagree with fp32 beyond
            ``MIN_COSINE``.
    """
    try:
        import openvino as ov
    except ImportError as exc:
        raise ModelError(f"openvino is not installed ({exc})") from exc

    target = artefact_dir(cache_dir, model)
    meta = None if force else _read_meta(target)
    if meta is not None and meta.get("version") == ARTEFACT_VERSION:
        if not meta.get("ok"):
            raise ModelError(
                f"OpenVINO model of {model.name} was rejected earlier: {meta.get('reason')}"
            )
        if _intact(target, meta):
            return target

    def write(staging: Path) -> None:
        onnx_file = staging / "model-fp32.onnx"
        export_onnx(model, onnx_file, max_seq_length)
        # Weights stay fp32 on disk: the CPU plugin picks bf16 or fp32 at compile time, and
        # fp16 storage would round them twice on the way to bf16.
        ov.save_model(
            ov.convert_model(str(onnx_file)), str(staging / IR_FILE), compress_to_fp16=False
        )
        onnx_file.unlink()

    return build_verified(
        model,
        target,
        label="OpenVINO model",
        version=ARTEFACT_VERSION,
        meta_file=META_FILE,
        write=write,
        load=lambda staging: OpenVinoBackend(
            model, staging, threads=threads, max_seq_length=max_seq_length
        ),
        describe=lambda staging: {
            "openvino": ov.__version__,
            "sizes": {name: (staging / name).stat().st_size for name in (IR_FILE, WEIGHTS_FILE)},
        },
        threads=threads,
        max_seq_length=max_seq_length,
    )


def _groups(lengths: Sequence[int]) -> list[tuple[int, list[int]]]:
    """Indices grouped by padded length, shortest first: ``[(padded_length, indices)]``."""
    groups: list[tuple[int, list[int]]] = []
    for index in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        padded = -(-lengths[index] // LENGTH_BUCKET) * LENGTH_BUCKET
        if (
            groups
            and groups[-1][0] == padded
            and len(groups[-1][1]) < MAX_GROUP_TEXTS
            and (len(groups[-1][1]) + 1) * padded <= MAX_GROUP_TOKENS
        ):
            groups[-1][1].append(index)
        else:
            groups.append((padded, [index]))
    return groups


class OpenVinoBackend:
    """OpenVINO over the converted model, with the model's own fast tokenizer.

    Args:
        model: The resolved model (must ship ``tokenizer.json``).
        directory: Directory from :func:`build_openvino_model`.
        threads: Inference streams run in parallel (one thread each).
        max_seq_length: Truncation length in tokens.
    """

    name = "openvino"

    def __init__(
        self, model: ModelFiles, directory: Path, *, threads: int, max_seq_length: int
    ) -> None:
        import openvino as ov

        self._tokenizer, self._counter = fast_tokenizers(model, max_seq_length)
        # Padded positions are masked out, so any valid id works; the model's own pad is tidiest.
        pad_ids = [self._tokenizer.token_to_id(token) for token in PAD_TOKENS]
        self._pad_id = next((i for i in pad_ids if i is not None), 0)
        # One single-threaded stream per thread: texts are too short to split well across
        # cores (as for onnx-int8), and a lone query still takes one stream.
        # No pinning: a pinned stream waits for its own core while the search thread, the
        # HTTP loop or another process runs there (a lone query, 2 cores, load ~5: p50
        # 12.5 ms pinned, 7.7 ms not; CPU time the same).
        config = {
            "PERFORMANCE_HINT": "THROUGHPUT",
            "NUM_STREAMS": threads,
            "INFERENCE_NUM_THREADS": threads,
            "ENABLE_CPU_PINNING": False,
        }
        # A lone short text (a search query) has a model of its own: its shape fixed at one
        # text of LENGTH_BUCKET tokens spares the per-call shape work, and one latency
        # stream infers in the calling thread. Vectors are bit-identical; RSS +82 MB; a
        # server's model time per search 3.5 against 4.3 ms (bench.request_cost --before).
        one_text = {
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
            "INFERENCE_NUM_THREADS": 1,
            "ENABLE_CPU_PINNING": False,
        }
        try:
            core = ov.Core()
            read = core.read_model(str(directory / IR_FILE))
            self._compiled = core.compile_model(read, "CPU", config)
            fixed = read.clone()
            fixed.reshape({name: [1, LENGTH_BUCKET] for name in INPUT_NAMES})
            single = core.compile_model(fixed, "CPU", one_text)
        except RuntimeError as exc:
            raise ModelError(f"cannot load the OpenVINO model in {directory}: {exc}") from exc
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for _ in range(threads):
            self._requests.put(self._compiled.create_infer_request())
        # One request: a second lone text meanwhile takes a stream rather than wait.
        self._single: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._single.put(single.create_infer_request())
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="openvino-embed")
        self.dimension = int(self._run([self._tokenizer.encode("x").ids], 16).shape[-1])

    @property
    def inference_precision(self) -> str:
        """``bf16`` on CPUs with AMX/AVX-512 BF16, otherwise ``f32``."""
        return str(self._compiled.get_property("INFERENCE_PRECISION_HINT").to_string())

    def encode_batch(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """See :meth:`EncoderBackend.encode_batch` (queries and passages share the model)."""
        encodings = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
        out = np.empty((len(encodings), self.dimension), dtype=np.float32)
        if len(encodings) == 1 and len(encodings[0]) <= LENGTH_BUCKET:
            single = self._try_single(encodings[0])
            if single is not None:
                out[0] = single
                return out
        groups = _groups([len(ids) for ids in encodings])

        def run(group: tuple[int, list[int]]) -> None:
            padded, indices = group
            out[indices] = self._run([encodings[i] for i in indices], padded)

        if len(groups) == 1:
            run(groups[0])
        else:
            # OpenVINO releases the GIL while it infers, so threads give real parallelism.
            list(self._pool.map(run, groups))
        return out

    def _inputs(self, token_ids: list[list[int]], padded: int) -> dict[str, np.ndarray]:
        ids = np.full((len(token_ids), padded), self._pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, tokens in enumerate(token_ids):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        return dict(zip(INPUT_NAMES, (ids, mask), strict=True))

    def _run(self, token_ids: list[list[int]], padded: int) -> np.ndarray:
        with self._request() as request:
            result = request.infer(self._inputs(token_ids, padded))
            return np.array(result[0], dtype=np.float32)

    def _try_single(self, tokens: list[int]) -> np.ndarray | None:
        """The vector of one short text from its own model; None while that model is busy."""
        try:
            request = self._single.get_nowait()
        except queue.Empty:
            return None
        try:
            result = request.infer(self._inputs([tokens], LENGTH_BUCKET))
            return np.array(result[0][0], dtype=np.float32)
        finally:
            self._single.put(request)

    @contextmanager
    def _request(self) -> Iterator[Any]:
        # An infer request serves one caller at a time; callers may be the pool's workers
        # or concurrent HTTP handlers embedding queries.
        request = self._requests.get()
        try:
            yield request
        finally:
            self._requests.put(request)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """See :meth:`EncoderBackend.count_tokens`."""
        return [len(e.ids) for e in self._counter.encode_batch(list(texts))]
