"""A collection made with the FTS5 lexical index moves to the engine with its answers kept."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import tantivy

from semsearch.index import Collection, CollectionError
from semsearch.index._engine import Engine
from tests.fakes import FakeEmbedder

FIXTURE = Path(__file__).parent / "fixtures" / "fts5-collection"


@pytest.fixture()
def old(tmp_path: Path) -> Path:
    path = tmp_path / "c"
    shutil.copytree(FIXTURE / "collection", path)
    return path


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path / "collection.sqlite")
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_read_only_open_says_how_to_upgrade(old: Path) -> None:
    with pytest.raises(CollectionError, match=r"earlier semsearch.*semsearch index repair"):
        Collection.open(old, FakeEmbedder(), read_only=True)
    assert "passages_fts" in _tables(old)  # nothing was changed


def test_first_writable_open_upgrades_and_answers_as_before(old: Path) -> None:
    answers = json.loads((FIXTURE / "answers.json").read_text(encoding="utf-8"))
    with Collection.open(old, FakeEmbedder()) as coll:
        assert coll.check().ok
        assert coll.repair().repaired == ["moved the lexical index from FTS5 to the engine"]
        for key, expected in answers.items():
            mode, query = key.split(" ", 1)
            got = [h.passage_id for h in coll.search(query, mode=mode, k=10).results]
            if mode == "dense":
                assert got == expected, key
            else:
                # BM25 ties may order differently between engines; the hits are the same.
                assert sorted(got) == sorted(expected), key
    assert "passages_fts" not in _tables(old)
    assert [p.name for p in old.iterdir() if p.is_dir()] == ["lexical-000000"]
    # Upgraded once: a read-only open now works.
    with Collection.open(old, FakeEmbedder(), read_only=True) as coll:
        assert coll.search("项目", mode="lexical", count=True).total == 2


def test_a_missing_or_disagreeing_engine_is_rebuilt(tmp_path: Path, old: Path) -> None:
    with Collection.open(old, FakeEmbedder()) as coll:
        expected = [h.passage_id for h in coll.search("项目", mode="lexical", k=10).results]
    shutil.rmtree(old / "lexical-000000")
    with Collection.open(old, FakeEmbedder(), read_only=True) as coll:
        assert [h.passage_id for h in coll.search("项目", mode="lexical", k=10).results] == expected
    # An engine that lost a passage is found by check and rebuilt by repair.
    engine = Engine(old / "lexical-000000")
    writer = engine.index.writer(heap_size=20_000_000, num_threads=1)
    writer.delete_documents_by_term("pid", expected[0])
    writer.commit()
    writer.wait_merging_threads()
    del writer
    with pytest.raises(CollectionError, match="lexical engine disagrees"):
        Collection.open(old, FakeEmbedder(), repair=False)
    with Collection.open(old, FakeEmbedder()) as repaired:
        assert repaired.check().ok
        assert [h.passage_id for h in repaired.search("项目", mode="lexical", k=10).results] == expected


def test_an_engine_with_other_fields_is_rebuilt(tmp_path: Path, old: Path) -> None:
    """An engine an earlier release wrote (another schema) is rebuilt when opened."""
    with Collection.open(old, FakeEmbedder()) as coll:
        expected = [h.passage_id for h in coll.search("项目", mode="lexical", k=10).results]
    engine_dir = old / "lexical-000000"
    shutil.rmtree(engine_dir)
    engine_dir.mkdir()
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("pid", indexed=True, fast=True)
    builder.add_text_field("exact", tokenizer_name="raw", index_option="position")
    writer = tantivy.Index(builder.build(), path=str(engine_dir)).writer(20_000_000, 1)
    writer.commit()
    writer.wait_merging_threads()
    del writer
    with Collection.open(old, FakeEmbedder(), read_only=True) as coll:
        assert [h.passage_id for h in coll.search("项目", mode="lexical", k=10).results] == expected
        assert coll.search('"项目"', mode="lexical", count=True).total == 2
        assert coll.check().ok
