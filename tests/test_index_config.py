"""Index tunables are typed values: their defaults listed in one place, and a collection
opened with a config uses it; the corpus counters fusion tuning reads through the public API."""

from __future__ import annotations

from pathlib import Path

import pytest

from semsearch.index import Collection, IndexConfig, KindPolicy, MergePolicy
from semsearch.index.config import defaults, fixed
from tests.fakes import FakeEmbedder, make_article


def test_every_default_is_listed_by_dotted_name() -> None:
    listed = defaults()
    assert listed["merge.merge_factor"] == 8
    assert listed["merge.seal_vectors"] == 20_000
    assert listed["kinds.flat_max_vectors"] == 50_000
    assert listed["match.dense_floor"] == 0.9
    assert listed["engine.build_heap_bytes"] == 512_000_000
    assert listed["fusion.lexical_weight"] == 0.5
    assert {name.split(".")[0] for name in listed} == {"merge", "kinds", "match", "engine", "fusion"}


def test_the_values_still_fixed_in_modules_are_listed_too() -> None:
    listed = fixed()
    assert listed["vectors.DEFAULT_EF_SEARCH"]["hnsw"] == 96
    assert listed["_ranking.MIN_CANDIDATES"] == 100
    assert listed["store.BUSY_TIMEOUT_S"] == 60.0
    assert not set(listed) & set(defaults())


@pytest.mark.parametrize(
    "build",
    [
        lambda: MergePolicy(merge_factor=1),
        lambda: MergePolicy(seal_vectors=0),
        lambda: KindPolicy(flat_max_vectors=10, float_max_vectors=5),
        lambda: KindPolicy(tombstone_rebuild_fraction=0.0),
    ],
)
def test_impossible_values_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_an_auto_collection_follows_its_kind_policy(tmp_path: Path) -> None:
    config = IndexConfig(kinds=KindPolicy(flat_max_vectors=4, float_max_vectors=8))
    with Collection.create(tmp_path / "c", FakeEmbedder(), config=config) as coll:
        assert coll.config is config
        coll.upsert([make_article("a0", ["经济 一", "经济 二"])])
        assert coll.info().index_kind == "flat"
        coll.upsert([make_article("a1", ["项目 一", "项目 二", "项目 三"])])
        assert coll.info().index_kind == "hnsw"
        coll.upsert([make_article("a2", ["城市 一", "城市 二", "城市 三", "城市 四"])])
        assert coll.info().index_kind == "hnsw_fp16"
    with Collection.open(tmp_path / "c", FakeEmbedder()) as default:
        # Opened with the default policy, 9 passages are a flat collection again.
        default.upsert([make_article("a3", ["交通"])])
        assert default.info().index_kind == "flat"


def test_the_corpus_script_profile_counts_what_was_written(tmp_path: Path) -> None:
    with Collection.create(tmp_path / "c", FakeEmbedder()) as coll:
        assert (coll.script_profile().cjk, coll.script_profile().latin) == (0, 0)
        coll.upsert([make_article("a0", ["经济发展 GDP"])])
        profile = coll.script_profile()
        assert profile.cjk >= 4 and profile.latin >= 3


def test_a_merge_policy_tells_its_observer_before_each_build(tmp_path: Path) -> None:
    built: list[int] = []
    policy = MergePolicy(merge_factor=3, seal_vectors=1000, before_build=built.append)
    assert policy == MergePolicy(merge_factor=3, seal_vectors=1000)  # not a tunable
    with Collection.create(tmp_path / "c", FakeEmbedder(), config=IndexConfig(merge=policy)) as coll:
        for n in range(3):
            coll.upsert([make_article(f"a{n}", ["经济 一"])])
            # The third write folds the three one-vector segments into one, inline.
            assert built == ([3] if n == 2 else [])
        assert [s["vectors"] for s in coll.info().segments] == [3]
    assert not any(name.endswith("before_build") for name in defaults())
