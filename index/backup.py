"""Backups: a consistent copy of a live collection, and restoring one.

A backup is a collection directory of its own (it can be opened and searched as it is)
plus ``backup.json``, which says what it was copied from. It is taken from one SQLite read
snapshot: the online backup API copies the rows that snapshot sees while writers go on,
and the vector files of the generation it records are opened inside the same snapshot
(an open file survives the writer deleting it after its next commit). Everything is
written into a hidden ``.DEST.PID-TOKEN.partial`` directory beside DEST, checked, and
renamed to DEST only when complete, so DEST is either absent or a whole, checked copy.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from semsearch.index import store
from semsearch.index._consistency import check
from semsearch.index._engine import copy_engine
from semsearch.index._files import LOCK_POLL_S, rewrite_manifest, vector_files
from semsearch.index.errors import CollectionError, InputError
from semsearch.index.manifest import MANIFEST_NAME, fsync_dir, read_manifest, write_atomic

BACKUP_NAME = "backup.json"
BACKUP_FORMAT = 1
# How often a backup takes a fresh snapshot when writers keep deleting the files of the
# generation it had just read (each commit removes the previous generation's files).
SNAPSHOT_RETRIES = 50
COPY_CHUNK = 1 << 20
_PARTIAL = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]+\.partial$")


@dataclass(kw_only=True)
class BackupReport:
    """What a backup or restore wrote: where, which generation, how much."""

    path: str
    source: str
    generation: int
    articles: int
    passages: int
    files: list[str] = field(default_factory=list)
    size_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


def backup_collection(source: Path, dest: Path) -> BackupReport:
    """Copy the collection in ``source`` to the new directory ``dest``, consistently.

    Searches and writes on the source go on meanwhile; the copy holds the state of the
    one generation it records.

    Args:
        source: Collection directory.
        dest: Absent or empty directory to create the backup in.

    Returns:
        What was written.

    Raises:
        InputError: ``dest`` exists and is not an empty directory, or lies inside
            ``source`` (or is it).
        CollectionError: The source is not a collection, or the copy failed its check.
    """
    return _copy(source, dest, marker=True)


def restore_collection(source: str | Path, dest: str | Path) -> BackupReport:
    """Restore a backup (or copy any collection) into the new directory ``dest``.

    The source is checked first; the restored copy is checked before it appears at
    ``dest``. The result is an ordinary collection (no ``backup.json``).

    Args:
        source: A backup made by :meth:`Collection.backup`, or a collection directory.
        dest: Absent or empty directory.

    Returns:
        What was written.

    Raises:
        InputError: ``dest`` exists and is not an empty directory, or lies inside
            ``source`` (or is it).
        CollectionError: ``source`` is not a backup or collection, or fails its check.
    """
    source, dest = Path(source), Path(dest)
    if not (source / MANIFEST_NAME).is_file():
        raise CollectionError(
            f"{source} is not a semsearch backup or collection (no {MANIFEST_NAME})"
        )
    _refuse_inside(source, dest)
    problems = _problems(source)
    if problems:
        raise CollectionError(f"{source} is not a usable backup: {'; '.join(problems)}")
    return _copy(source, dest, marker=False)


def _copy(source: Path, dest: Path, *, marker: bool) -> BackupReport:
    """Copy ``source`` into a partial directory beside ``dest``, check it, rename it."""
    read_manifest(source)  # refuses a directory that is not a collection
    _refuse_inside(source, dest)
    _refuse_dest(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(dest)
        partial = dest.parent / f".{dest.name}.{os.getpid()}-{secrets.token_hex(4)}.partial"
        partial.mkdir()
    except OSError as exc:
        raise InputError(f"cannot create {dest}: {exc.strerror or exc}") from exc
    try:
        report = _fill(source, partial, dest, marker=marker)
        _publish(partial, dest)
    except (OSError, sqlite3.Error) as exc:
        # A full disk or an unreadable source: nothing is left behind, the source is untouched.
        shutil.rmtree(partial, ignore_errors=True)
        raise CollectionError(f"copying {source} to {dest} failed: {exc}") from exc
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return report


def _fill(source: Path, partial: Path, dest: Path, *, marker: bool) -> BackupReport:
    """Write the copy of ``source`` into ``partial`` and check it (``dest`` names it)."""
    generation, names = _copy_snapshot(source, partial)
    conn = store.connect(partial / store.DATABASE_NAME, read_only=True)
    try:
        engine_name = store.read_meta(conn).engine_dir
    finally:
        conn.close()
    if engine_name is not None:
        # Copied rather than rebuilt: the copy then scores exactly as the source did
        # (BM25 statistics count deleted passages until the engine merges them).
        copy_engine(source, partial, engine_name, generation)
    # The model fields come from the source manifest (they never change); the rest is
    # rewritten from the copied database, so it describes the copied generation.
    write_atomic(partial / MANIFEST_NAME, (source / MANIFEST_NAME).read_bytes())
    conn = store.connect(partial / store.DATABASE_NAME, read_only=True)
    try:
        rewrite_manifest(partial, conn)
        articles, passages = store.counts(conn)
    finally:
        conn.close()
    problems = _problems(partial)
    if problems:
        raise CollectionError(f"the copy of {source} failed its check: {'; '.join(problems)}")
    report = BackupReport(
        path=str(dest),
        source=str(source.resolve()),
        generation=generation,
        articles=articles,
        passages=passages,
        files=[store.DATABASE_NAME, *names, MANIFEST_NAME],
    )
    report.size_bytes = sum((partial / name).stat().st_size for name in report.files)
    if marker:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        record = {"format": BACKUP_FORMAT, "created": created, **report.to_dict()}
        write_atomic(
            partial / BACKUP_NAME, json.dumps(record, ensure_ascii=False, indent=2).encode()
        )
    fsync_dir(partial)
    return report


def _copy_snapshot(source: Path, target: Path) -> tuple[int, list[str]]:
    """Copy the database and its generation's vector files, all from one read snapshot.

    Returns:
        ``(generation, vector file names)``.
    """
    conn = store.connect(source / store.DATABASE_NAME, read_only=True)
    try:
        for _ in range(SNAPSHOT_RETRIES):
            with ExitStack() as files:
                store.begin(conn)
                try:
                    generation = store.read_meta(conn).generation
                    names = vector_files(conn)
                    try:
                        handles = [files.enter_context(open(source / n, "rb")) for n in names]
                    except FileNotFoundError:
                        # A writer committed the next generation and deleted these files
                        # after our snapshot began: take a fresh snapshot.
                        time.sleep(LOCK_POLL_S)
                        continue
                    store.copy_snapshot(conn, target / store.DATABASE_NAME)
                finally:
                    store.rollback(conn)
                _fsync_file(target / store.DATABASE_NAME)
                for name, handle in zip(names, handles, strict=True):
                    _copy_file(handle, target / name)
                return generation, names
    finally:
        conn.close()
    raise CollectionError(
        f"{source}: writes replaced the vector files {SNAPSHOT_RETRIES} times while the"
        " backup started; try again when writes are fewer"
    )


def _copy_file(handle: IO[bytes], target: Path) -> None:
    """Copy an open file to ``target`` and flush it to disk."""
    with open(target, "xb") as out:
        shutil.copyfileobj(handle, out, COPY_CHUNK)
        out.flush()
        os.fsync(out.fileno())


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _problems(path: Path) -> list[str]:
    """What is wrong with the collection in ``path`` (SQLite integrity, then consistency)."""
    try:
        read_manifest(path)
    except CollectionError as exc:
        return [str(exc)]
    if not (path / store.DATABASE_NAME).is_file():
        return [f"{store.DATABASE_NAME} is missing"]
    conn = None
    try:
        conn = store.connect(path / store.DATABASE_NAME, read_only=True)
        problems = store.integrity_problems(conn)
        if problems:
            return [f"{store.DATABASE_NAME}: {p}" for p in problems]
        report = check(path, conn)
        return [] if report.ok else report.problems
    except (sqlite3.DatabaseError, CollectionError, OSError) as exc:
        # A damaged or foreign file fails here: a finding, not a traceback.
        return [f"{store.DATABASE_NAME}: {exc}"]
    finally:
        if conn is not None:
            conn.close()


def _refuse_inside(source: Path, dest: Path) -> None:
    """Refuse a destination that is the copied collection or lies inside it.

    A copy inside its source would become part of the collection's folder (and of every
    later copy of it); symbolic links are followed, so a link into the source is no way in.
    """
    here, there = source.resolve(), dest.resolve()
    if there == here:
        raise InputError(
            f"{dest} is the collection being copied; give a directory outside {source}"
        )
    if here in there.parents:
        raise InputError(
            f"{dest} lies inside the collection being copied ({source});"
            " give a directory outside it"
        )


def _refuse_dest(dest: Path) -> None:
    """Refuse a destination that exists and is not an empty directory."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise InputError(f"{dest} exists and is not a directory; give a new directory")
    if dest.is_dir() and any(dest.iterdir()):
        raise InputError(f"{dest} exists and is not empty; give a new or empty directory")


def _publish(partial: Path, dest: Path) -> None:
    """Rename the finished copy to ``dest`` (replacing an empty directory) durably."""
    try:
        os.rename(partial, dest)
    except OSError as exc:  # someone filled or created DEST meanwhile
        raise InputError(f"cannot create {dest}: {exc.strerror}") from exc
    fsync_dir(dest.parent)


def _remove_abandoned(dest: Path) -> None:
    """Delete partial copies for ``dest`` left by backups that were killed."""
    for entry in dest.parent.iterdir():
        match = _PARTIAL.match(entry.name)
        if match and match["name"] == dest.name and not _alive(int(match["pid"])):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
