"""Facts about a sentence-transformers model directory: prompts, limits, fingerprint."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from semsearch.embedder.errors import ModelError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx")
_FINGERPRINT_MEMO = ".semsearch-fingerprint.json"
# Written by `semsearch model install`: it records where and when, not what the model is.
PROVENANCE_FILE = "semsearch-model.json"
# Files beside the model that must not change its identity (moving a model directory must
# not make its collections look built with another model).
_NOT_MODEL_FILES = {_FINGERPRINT_MEMO, PROVENANCE_FILE}
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelFiles:
    """A model resolved to a local directory."""

    name: str
    path: Path
    prompts: dict[str, str]
    max_seq_length: int
    fingerprint: str

    @property
    def tokenizer_file(self) -> Path | None:
        """The fast-tokenizer file, when the model ships one."""
        path = self.path / "tokenizer.json"
        return path if path.is_file() else None

    def prompt(self, name: str) -> str:
        """Prompt text for ``query`` or ``passage`` ('' when the model defines none).

        ``passage`` falls back to ``document``, the name newer sentence-transformers use.
        """
        if name == "passage":
            return self.prompts.get("passage") or self.prompts.get("document", "")
        return self.prompts.get(name, "")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def resolve_model(name_or_path: str) -> ModelFiles:
    """Describe a model given as a local directory or a hub name.

    Hub names are resolved through the local Hugging Face cache (or downloaded when the
    machine is online); nothing else in semsearch touches the network.

    Args:
        name_or_path: Directory or hub name, as given to ``SentenceTransformer``.

    Returns:
        The model's local files and settings.

    Raises:
        ModelError: The model is not installed and cannot be fetched.
    """
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        if _looks_like_path(name_or_path):
            raise ModelError(
                f"model directory {name_or_path} does not exist: run `semsearch model install`"
            )
        path = _snapshot(name_or_path)
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelError(
            f"{path} is not a sentence-transformers model directory: run `semsearch model install`"
        )
    st_config = _read_json(path / "config_sentence_transformers.json")
    prompts = {str(k): str(v) for k, v in (st_config.get("prompts") or {}).items()}
    max_len = int(_read_json(path / "sentence_bert_config.json").get("max_seq_length") or 512)
    return ModelFiles(name_or_path, path, prompts, max_len, fingerprint(path))


def _looks_like_path(name: str) -> bool:
    # Hub names are "model" or "owner/model"; anything else is meant as a directory.
    return (
        name.startswith(("/", ".", "~"))
        or name.count("/") > 1
        or (os.sep != "/" and os.sep in name)
    )


def _snapshot(name: str) -> Path:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name))
    except Exception as exc:
        raise ModelError(
            f"model {name!r} is neither a local directory nor available offline "
            f"(run `semsearch model install` for the bundled model): {type(exc).__name__}"
        ) from exc


def hash_file_into(digest: hashlib._Hash, path: Path) -> None:
    """Feed a file's bytes into ``digest`` in bounded chunks.

    Args:
        digest: A hashlib object.
        path: File to read.
    """
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)


def fingerprint(path: Path) -> str:
    """Identify a model directory's weights and configuration.

    Hashing hundreds of MB on every start would dominate CLI latency, so the digest is
    memoised next to the weights, keyed by their sizes and modification times.

    Args:
        path: Model directory.

    Returns:
        ``sha256:`` plus 32 hex characters.
    """
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and (p.suffix in WEIGHT_SUFFIXES or p.suffix == ".json")
        and p.name not in _NOT_MODEL_FILES
        and "onnx" not in p.parts[len(path.parts) : -1]
    )
    stamp = [[str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    memo_path = path / _FINGERPRINT_MEMO
    memo = _read_json(memo_path)
    if memo.get("stamp") == stamp and isinstance(memo.get("fingerprint"), str):
        return str(memo["fingerprint"])
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(path)).encode())
        hash_file_into(digest, file)
    value = "sha256:" + digest.hexdigest()[:32]
    # A read-only model directory is fine: we just hash again next time.
    with contextlib.suppress(OSError):
        memo_path.write_text(json.dumps({"stamp": stamp, "fingerprint": value}), encoding="utf-8")
    return value
