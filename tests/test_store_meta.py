"""The collection's metadata record: what each key reads as, and the table it leaves."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from semsearch.index import Collection, lexical, store
from tests.fakes import FakeEmbedder, make_article

FIXTURE = Path(__file__).parent / "fixtures" / "fts5-collection" / "collection"


@pytest.fixture()
def conn(tmp_path: Path) -> sqlite3.Connection:
    """A writable copy of the FTS5 fixture's database (a release before the engine)."""
    shutil.copytree(FIXTURE, tmp_path / "c")
    connection = sqlite3.connect(tmp_path / "c" / store.DATABASE_NAME, isolation_level=None)
    yield connection
    connection.close()


def _table(conn: sqlite3.Connection) -> dict[str, tuple[str, Any]]:
    """The raw table: each key's SQLite type and value."""
    return {k: (t, v) for k, t, v in conn.execute("SELECT key, typeof(value), value FROM meta")}


def _rewrite(conn: sqlite3.Connection, meta: store.CollectionMeta) -> None:
    """Write back every writable field the record has a value for."""
    changes = {
        name: getattr(meta, name)
        for name in store.MetaChanges.__annotations__
        if getattr(meta, name) is not None
    }
    with store.transaction(conn, write=True):
        store.write_meta(conn, **changes)


def test_the_fts5_fixture_reads_as_that_release_wrote_it(conn: sqlite3.Connection) -> None:
    meta = store.read_meta(conn)
    assert (meta.generation, meta.index_kind, meta.index_params, meta.index_auto) == (
        3,
        "flat",
        {},
        False,
    )
    assert (meta.dimension, meta.next_passage_id, meta.next_segment) == (64, 8, 2)
    assert meta.analyzer == "jieba+bigrams+fold"
    assert meta.script_profile == lexical.ScriptProfile(58, 35)
    assert meta.model_fingerprint is not None and len(meta.model_fingerprint) == 64
    assert meta.segments is not None and [s["file"] for s in meta.segments] == [
        "segment-00000000.faiss",
        "segment-00000001.faiss",
    ]
    assert meta.engine_dir is None and meta.recall_at_10 is None  # FTS5; never optimized


def test_writing_the_record_back_leaves_the_table_as_it_was(conn: sqlite3.Connection) -> None:
    before, meta = _table(conn), store.read_meta(conn)
    _rewrite(conn, meta)
    assert _table(conn) == before  # same keys, types and text
    assert store.read_meta(conn) == meta


def test_a_new_collection_writes_the_keys_it_always_did(tmp_path: Path) -> None:
    Collection.create(tmp_path / "c", FakeEmbedder(), kind="auto").close()
    db = sqlite3.connect(tmp_path / "c" / store.DATABASE_NAME, isolation_level=None)
    try:
        meta = store.read_meta(db)
        assert meta.index_auto and meta.segments == () and meta.engine_dir == "lexical-000000"
        assert meta.analyzer == lexical.DEFAULT_ANALYZER and meta.model_fingerprint
        before = _table(db)
        assert all(kind == "text" for kind, _ in before.values())
        _rewrite(db, meta)
        after = _table(db)  # plus the defaults the record has for keys not yet written
        assert {key: after[key] for key in before} == before
    finally:
        db.close()


def test_absent_keys_read_as_the_defaults(tmp_path: Path) -> None:
    db = store.connect(tmp_path / "empty.sqlite")
    try:
        meta = store.read_meta(db)
        assert meta == store.CollectionMeta()
        assert (meta.analyzer, meta.index_kind, meta.next_passage_id) == (
            lexical.LEGACY_ANALYZER,
            "flat",
            1,
        )
        assert meta.segments is None and meta.engine_dir is None
    finally:
        db.close()


def test_recall_and_removal_round_trip(conn: sqlite3.Connection) -> None:
    with store.transaction(conn, write=True):
        store.write_meta(conn, recall_at_10=0.912345, index_auto=True, segments=None, analyzer=None)
    meta = store.read_meta(conn)
    assert meta.recall_at_10 == 0.9123 and meta.index_auto  # four digits, as always
    assert meta.segments is None and meta.analyzer == lexical.LEGACY_ANALYZER


def test_letter_counters_follow_inserts_and_deletes(tmp_path: Path) -> None:
    text = "经济 project 项目"
    with Collection.create(tmp_path / "c", FakeEmbedder()) as coll:
        coll.upsert([make_article("a", [text, text])])
        profile = lexical.script_profile(f"{text} {text}")
        assert store.read_meta(coll._conn).script_profile == profile
        coll.delete(["a"])
        assert store.read_meta(coll._conn).script_profile == lexical.ScriptProfile(0, 0)


def test_every_field_has_a_key_and_writable_fields_are_fields() -> None:
    names = {f.name for f in dataclasses.fields(store.CollectionMeta)}
    assert set(store._CODECS) == names
    assert set(store.MetaChanges.__annotations__) <= names
    assert len({codec.key for codec in store._CODECS.values()}) == len(names)
