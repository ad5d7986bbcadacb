"""``semsearch ingest --engine ray`` into a sharded collection and into one collection: the
same articles, passages, totals, facets and entities as local ingest of the same input; a
shard whose write fails leaves the others written and itself as it was."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from semsearch.embedder.entities import ArticleEntities
from semsearch.embedder.records import Article, Passage
from semsearch.index import Collection, SearchRequest
from semsearch.index.cluster import create_cluster, read_cluster, shard_of
from semsearch.index.sharded import ShardedCollection
from semsearch.service import distributed
from semsearch.service.context import CommandContext
from tests import fake_tagger, fakes
from tests.fake_tagger import fake_extractor
from tests.fakes import FakeEmbedder
from tests.helpers.cli import Cli, fake_cli
from tests.helpers.paths import shared_path
from tests.helpers.ray_runtime import RayRuntime

pytestmark = pytest.mark.slow  # every test here starts Ray

SHARDS = 3
NAMES = ["何雄", "张昕", "李明"]
PLACES = ["巩义市", "管城区", "郑州"]
FACETS = ("person", "place", "org", "source", "year")


@pytest.fixture(scope="module")
def ray_local(ray_runtime: RayRuntime) -> Any:
    """The session's local Ray, shared by the tests below (the CLI joins it)."""
    ray = ray_runtime.ensure()
    # Test doubles travel to the workers by value; they cannot import test modules by name.
    for module in (sys.modules[__name__], fake_tagger, fakes):
        ray.cloudpickle.register_pickle_by_value(module)
    return ray


class FakeActor(distributed.EmbedActor):
    """The embedding actor with the fake embedder (what the fast index tests use)."""

    def __init__(self) -> None:
        self._embedder = FakeEmbedder()  # type: ignore[assignment]


@pytest.fixture()
def fake_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(distributed, "EmbedActor", FakeActor)


def write_corpus(path: Path, ids: Sequence[int]) -> Path:
    records = [
        {
            "id": f"art{i:03d}",
            "title": f"第{i}期 {PLACES[i % 3]}新闻",
            "text": f"{NAMES[i % 3]}到{PLACES[(i + 1) % 3]}调研数字经济 第{i}次。\n\n"
            f"阿里巴巴 项目 落地 {'蚂蚁集团' if i % 4 == 0 else '城市'} 交通 第{i}段",
            "date": f"202{i % 3}-0{1 + i % 9}-1{i % 10}",
            "source": ["zzwb", "rmrb"][i % 2],
        }
        for i in ids
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    return path


def ingest(cli: Cli, capsys: pytest.CaptureFixture[str], source: Path, index: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    code = cli(["ingest", str(source), "--index", str(index), "--json", "--no-progress", *extra])
    captured = capsys.readouterr()
    out = captured.out.strip().splitlines()
    return code, (json.loads(out[-1]) if out else {}), captured.err


def shard_contents(root: Path) -> list[list[tuple[str, int, str]]]:
    """Every shard's passages (article, ordinal, text), each shard checked whole."""
    manifest = read_cluster(root)
    out = []
    for index in range(manifest.shards):
        with Collection.open(manifest.shard_path(root, index), None, read_only=True) as shard:
            assert shard.check().ok
            rows = shard._conn.execute("SELECT article_id, ordinal, text FROM passages").fetchall()
            assert all(shard_of(str(a), manifest.shards) == index for a, _, _ in rows)
        out.append(sorted((str(a), int(o), str(t)) for a, o, t in rows))
    return out


def answers(root: Path) -> list[Any]:
    """Totals, facets and pages of a few searches, and the entity pages' counts."""
    out: list[Any] = []
    with ShardedCollection.open(root, FakeEmbedder()) as cluster:
        for query, mode in (("数字经济", "lexical"), ("阿里巴巴 项目", "hybrid"), ("交通", "dense")):
            found = cluster.run(SearchRequest(query=query, mode=mode, facets=FACETS, count=True))
            out.append((found.total, found.total_passages, found.facets))
            out.append([(h.article_id, h.ordinal) for h in found.results])
    return out


def test_ray_cluster_ingest_writes_what_local_routed_ingest_writes(
    ray_local: Any, fake_actor: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = fake_cli(FakeEmbedder())
    source = write_corpus(tmp_path / "in.jsonl", range(30))
    for name in ("local", "ray"):
        create_cluster(tmp_path / name, FakeEmbedder(), SHARDS)
    code, local, _ = ingest(cli, capsys, source, tmp_path / "local")
    assert code == 0
    code, ray, err = ingest(cli, capsys, source, tmp_path / "ray", "--engine", "ray", "--workers", "2")
    assert code == 0, err
    assert ray["engine"] == "ray" and ray["shards"] == SHARDS
    same = ("files", "articles", "paragraphs", "passages", "added", "replaced", "unchanged", "shards")
    assert {k: ray[k] for k in same} == {k: local[k] for k in same}
    routed = [sum(shard_of(f"art{i:03d}", SHARDS) == s for i in range(30)) for s in range(SHARDS)]
    assert [p["articles"] for p in ray["per_shard"]] == routed
    assert all(p["written"] and p["added"] == p["articles"] for p in ray["per_shard"])
    assert shard_contents(tmp_path / "ray") == shard_contents(tmp_path / "local")
    assert answers(tmp_path / "ray") == answers(tmp_path / "local")
    facets = answers(tmp_path / "ray")[0][2]
    assert {e["value"] for e in facets["person"]} == set(NAMES)  # the shards' tasks tagged
    # Again: nothing changes, every article is counted unchanged.
    code, again, err = ingest(cli, capsys, source, tmp_path / "ray", "--engine", "ray")
    assert code == 0, err
    assert (again["added"], again["unchanged"]) == (0, 30)


class FailingTagger:
    """Tags as the fake extractor does, but fails on the articles of one shard: that
    shard's write fails part way, after its task has started writing."""

    def __init__(self, shard: int) -> None:
        self.shard = shard
        self.inner = fake_extractor()

    def extract_article(self, article: Article, passages: Sequence[Passage]) -> ArticleEntities:
        if shard_of(article.id, SHARDS) == self.shard:
            raise OSError("disk full (a test double)")
        return self.inner.extract_article(article, passages)

    def extract_articles(
        self, items: Sequence[tuple[Article, Sequence[Passage]]]
    ) -> list[ArticleEntities]:
        return [self.extract_article(article, passages) for article, passages in items]


def test_a_failed_shard_write_leaves_every_shard_readable_and_says_what_was_written(
    ray_local: Any, fake_actor: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = fake_cli(FakeEmbedder())
    first, second = write_corpus(tmp_path / "a.jsonl", range(12)), write_corpus(tmp_path / "b.jsonl", range(12, 30))
    for name in ("expected", "ray"):
        create_cluster(tmp_path / name, FakeEmbedder(), SHARDS)
        assert ingest(good, capsys, first, tmp_path / name)[0] == 0
    before = shard_contents(tmp_path / "ray")
    failing = Cli(CommandContext(load_embedder=lambda _: FakeEmbedder(), load_extractor=lambda _: FailingTagger(1)))  # type: ignore[arg-type,return-value]
    code, report, err = ingest(failing, capsys, second, tmp_path / "ray", "--engine", "ray")
    assert code == 2
    # One line of ours (Ray's workers may log to the same stderr).
    ours = [line for line in err.splitlines() if line.startswith("semsearch:")]
    assert len(ours) == 1 and "shard 1 not written" in ours[0]
    parts = {p["shard"]: p for p in report["per_shard"]}
    assert not parts[1]["written"] and "disk full" in parts[1]["error"]
    assert parts[0]["written"] and parts[2]["written"]
    assert report["added"] == parts[0]["added"] + parts[2]["added"] > 0
    after = shard_contents(tmp_path / "ray")  # every shard opens and checks whole
    assert after[1] == before[1]  # the failed shard is as it was
    assert after[0] != before[0] and after[2] != before[2]
    # The same input again completes the job: the cluster is what local ingest makes.
    code, done, err = ingest(good, capsys, second, tmp_path / "ray", "--engine", "ray")
    assert code == 0, err
    assert done["added"] == parts[1]["articles"]
    assert ingest(good, capsys, second, tmp_path / "expected")[0] == 0
    assert shard_contents(tmp_path / "ray") == shard_contents(tmp_path / "expected")
    assert answers(tmp_path / "ray") == answers(tmp_path / "expected")


def entity_state(path: Path) -> tuple[Any, ...]:
    with Collection.open(path, FakeEmbedder(), read_only=True) as collection:
        found = collection.run(SearchRequest(query="数字经济", mode="lexical", facets=FACETS, count=True))
        return found.facets, collection.top_entities(None, 50), collection.tagged_articles()


def test_ray_ingest_of_one_collection_tags_entities_as_local_ingest(
    ray_local: Any, fake_actor: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = fake_cli(FakeEmbedder())
    source = write_corpus(tmp_path / "in.jsonl", range(20))
    assert ingest(cli, capsys, source, tmp_path / "local")[0] == 0
    code, _, err = ingest(cli, capsys, source, tmp_path / "ray", "--engine", "ray")
    assert code == 0, err
    facets, top, tagged = entity_state(tmp_path / "ray")
    assert (facets, top, tagged) == entity_state(tmp_path / "local")
    assert tagged == 20 and {e.name for e in top} >= set(NAMES)
    # Turned off, as for local ingest.
    code, _, err = ingest(cli, capsys, source, tmp_path / "off", "--engine", "ray", "--no-entities")
    assert code == 0, err
    assert entity_state(tmp_path / "off")[1:] == ([], 0)


# ---------------------------------------------------------------------------- the real model


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 240 People's Daily 1998 paragraphs of the shared corpus, as articles."""
    lines = []
    with shared_path("corpus", "news-112k.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if json.loads(line)["src"] == "pd1998_para":
                lines.append(line)
                if len(lines) == 240:
                    break
    path = tmp_path_factory.mktemp("news") / "news.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_real_model_ray_cluster_ingest_answers_as_local_routed_ingest(
    ray_local: Any,
    cli: Cli,
    news: Path,
    model_dir: Path,
    real_embedder: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("local", "ray"):
        assert cli(["shard", "create", str(tmp_path / name), "--shards", "2", "--model-dir", str(model_dir)]) == 0
    capsys.readouterr()
    flags = ("--model-dir", str(model_dir))
    code, local, err = ingest(cli, capsys, news, tmp_path / "local", *flags)
    assert code == 0, err
    code, ray, err = ingest(cli, capsys, news, tmp_path / "ray", *flags, "--engine", "ray", "--workers", "2")
    assert code == 0, err
    assert ray["added"] == local["added"] == 240 and ray["passages"] == local["passages"]
    assert shard_contents(tmp_path / "ray") == shard_contents(tmp_path / "local")
    with (
        ShardedCollection.open(tmp_path / "ray", real_embedder) as a,
        ShardedCollection.open(tmp_path / "local", real_embedder) as b,
    ):
        for query in ("经济体制改革", "香港回归祖国", "农业生产和农民收入"):
            request = SearchRequest(query=query, mode="hybrid", facets=FACETS, count=True)
            x, y = a.run(request), b.run(request)
            # The actors embed with one thread each, the driver with all cores: vectors may
            # differ in the last float bits, enough to swap two hits tied to 1e-6 but no more.
            mine = {(h.article_id, h.ordinal): h.score for h in x.results}
            theirs = {(h.article_id, h.ordinal): h.score for h in y.results}
            assert mine.keys() == theirs.keys() and len(mine) == 10
            assert all(np.isclose(mine[key], theirs[key], atol=1e-4) for key in mine)
            assert (x.total, x.facets) == (y.total, y.facets)
        assert x.facets is not None and any(x.facets[t] for t in ("person", "place", "org"))
