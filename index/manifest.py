"""The collection manifest: a small JSON file swapped atomically as the last step of a write."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from semsearch.index.errors import CollectionError

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 2
# Format 1 (one FAISS file per generation) opens as one sealed segment.
READABLE_VERSIONS = (1, 2)


@dataclass(kw_only=True)
class Manifest:
    """What a collection is: model, vector index kind, counts and the current generation.

    ``generation`` increases by one with every committed write; ``segments`` lists the
    FAISS files of that generation (file, sealed, kind, vectors), as SQLite records them;
    files no longer listed are garbage. ``vectors_file`` is format 1's single file.
    """

    format_version: int = FORMAT_VERSION
    model_fingerprint: str
    model_name: str
    dimension: int
    index_kind: str = "flat"
    index_params: dict[str, Any] = field(default_factory=dict)
    index_auto: bool = True
    recall_at_10: float | None = None
    articles: int = 0
    passages: int = 0
    generation: int = 0
    vectors_file: str | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        """Serialise to pretty JSON."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Build from parsed JSON, ignoring unknown keys from newer minor versions.

        Args:
            data: Parsed manifest.

        Returns:
            The manifest.
        """
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})


def fsync_dir(directory: Path) -> None:
    """Flush a directory entry so a rename inside it survives power loss."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new content, never a mix.

    Args:
        path: Destination file.
        data: Full new content.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with removed_on_error(tmp), open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


@contextmanager
def removed_on_error(tmp: Path) -> Iterator[None]:
    """Delete a half-written temporary file when writing it fails (a full disk, say).

    Args:
        tmp: The temporary file being written.
    """
    try:
        yield
    except BaseException:
        with suppress(FileNotFoundError):
            tmp.unlink()
        raise


def read_manifest(directory: Path) -> Manifest:
    """Load the manifest of a collection.

    Args:
        directory: Collection directory.

    Returns:
        The manifest.

    Raises:
        CollectionError: Missing, unparsable or of an unsupported format version.
    """
    path = directory / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CollectionError(f"{directory} is not a semsearch collection (no {MANIFEST_NAME})") from exc
    except (OSError, ValueError) as exc:
        raise CollectionError(f"cannot read {path}: {exc}") from exc
    version = data.get("format_version")
    if version not in READABLE_VERSIONS:
        raise CollectionError(
            f"{directory} has collection format {version}; this semsearch reads format {FORMAT_VERSION}"
        )
    return Manifest.from_dict(data)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Atomically replace the manifest of a collection.

    Args:
        directory: Collection directory.
        manifest: New manifest.
    """
    write_atomic(directory / MANIFEST_NAME, manifest.to_json().encode("utf-8"))
