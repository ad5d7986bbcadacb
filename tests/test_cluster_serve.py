"""A sharded collection served end to end over HTTP by Ray Serve on a local Ray cluster:
answers as the unsharded collection, routed writes, and a shard replica killed during a
query stream (partial answers, 503 writes, whole again once Serve has replaced it).

One Serve application per module, on the session's local Ray: Ray start-up is slow."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from semsearch import Collection, prepare_articles
from semsearch.embedder.settings import Settings
from semsearch.index.cluster import shard_of, split_collection
from semsearch.service.config import ServiceSettings
from tests.helpers.ray_runtime import RayRuntime
from tests.live_server import free_port

try:
    import ray
    from ray import serve
except ImportError:
    pytest.skip(
        'Ray Serve is not installed: pip install "semsearch[distributed]"', allow_module_level=True
    )

from semsearch.service.cluster_serve import ClusterPlan, deploy

pytestmark = pytest.mark.slow
SHARDS = 3
KEY = "cluster-key-1"
TOPICS = {
    "经济": "数字经济 核心产业 增加值 同比 增长 企业 投资 市场 金融 贷款",
    "交通": "地铁 线路 开通 运营 公交 换乘 道路 拥堵 出行 高铁",
    "教育": "学校 学生 教师 课程 高考 招生 大学 教育 改革 课堂",
    "医疗": "医院 患者 医生 医保 药品 手术 门诊 疫苗 健康 护理",
    "农业": "小麦 丰收 农民 种植 粮食 农村 合作社 灌溉 化肥 收购",
}


def _records(n: int = 45) -> list[dict[str, Any]]:
    rng = random.Random(3)
    out = []
    for i in range(n):
        topic = list(TOPICS)[i % len(TOPICS)]
        words = TOPICS[topic].split()
        paragraphs = ["，".join(rng.sample(words, 5)) + f"。第{i}号报道" for _ in range(rng.randint(1, 3))]
        out.append(
            {
                "id": f"r{i:03d}",
                "title": f"{topic}新闻 {i}",
                "text": "\n\n".join(paragraphs),
                "date": f"2023-{1 + i % 12:02d}-{1 + i % 27:02d}",
                "source": rng.choice(["zzwb", "rmrb"]),
            }
        )
    return out


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("X-API-Key", KEY)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _search(base: str, **params: Any) -> tuple[int, dict[str, Any]]:
    query = urllib.parse.urlencode(params, doseq=True)
    return _http("GET", f"{base}/search?{query}")


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
    real_settings: Settings,
    real_embedder: Any,
    ray_runtime: RayRuntime,
) -> Iterator[tuple[str, Collection]]:
    root = tmp_path_factory.mktemp("cluster")
    with Collection.create(root / "one", real_embedder) as one:
        one.upsert(prepare_articles(_records(), real_embedder))
    split_collection(root / "one", root / "cluster", real_embedder, SHARDS)
    port = free_port()
    settings = ServiceSettings(
        **real_settings.model_dump(),
        api_key=SecretStr(KEY),
        host="127.0.0.1",
        port=port,
        cluster_deadline_s=3.0,
    )
    # The session's Ray has more logical CPUs than cores: 3 shard replicas and the ingress,
    # each mostly idle.
    ray_runtime.ensure()
    try:
        deploy(ClusterPlan(path=root / "cluster", settings=settings))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while _http("GET", f"{base}/readyz")[0] != 200:
            assert time.monotonic() < deadline, "the cluster never turned ready"
            time.sleep(1)
        with Collection.open(root / "one", real_embedder, read_only=True) as single:
            yield base, single
    finally:
        serve.shutdown()


@pytest.mark.parametrize("query", ["数字经济 增长", "地铁 开通", "高考 招生 改革"])
def test_http_answers_as_the_single_collection(served, query: str) -> None:
    base, single = served
    for mode in ("dense", "hybrid", "lexical"):
        status, body = _search(base, q=query, mode=mode, k=10, count="true", facets="source,year")
        assert status == 200 and body["partial"] is False
        alone = single.search(query, mode=mode, k=10, count=True, facets=("source", "year"))
        assert (body["total"], body["total_relation"]) == (alone.total, alone.total_relation or "eq")
        assert body["facets"] == alone.facets
        got = [(h["article"]["id"], h["passage"]["ordinal"]) for h in body["results"]]
        want = [(h.article_id, h.ordinal) for h in alone.results]
        if mode == "dense":
            assert [round(h["score"], 4) for h in body["results"]] == [round(h.score, 4) for h in alone.results]
            assert set(got) == set(want)
        else:  # BM25 per shard: the same members, ranks may move
            assert len(set(got) & set(want)) >= 0.7 * len(want)
    status, body = _search(base, q=query, mode="dense", sort="date-desc", k=5)
    assert status == 200
    assert [h["article"]["date"] for h in body["results"]] == [
        h.date for h in single.search(query, mode="dense", sort="date-desc", k=5).results
    ]


def test_routed_reads_and_writes(served) -> None:
    base, _ = served
    status, article = _http("GET", f"{base}/articles/r007")
    assert status == 200 and article["id"] == "r007"
    assert _http("GET", f"{base}/articles/nope")[0] == 404
    status, similar = _http("GET", f"{base}/similar?article_id=r007&k=3")
    assert status == 200 and "r007" not in {h["article"]["id"] for h in similar["results"]}
    new = {"id": "fresh-1", "title": "新能源汽车", "text": "新能源汽车 产量 同比 增长 电池 产业链"}
    status, report = _http("POST", f"{base}/articles", {"articles": [new]})
    assert status == 200 and report["added"] == 1
    status, found = _search(base, q="新能源汽车 电池", mode="hybrid", k=3)
    assert found["results"][0]["article"]["id"] == "fresh-1"
    assert _http("DELETE", f"{base}/articles/fresh-1")[0] == 200
    assert _http("GET", f"{base}/articles/fresh-1")[0] == 404


def _replica_of(shard: int) -> Any:
    name = f"#shard-{shard:03d}#"
    for actor in ray.util.list_named_actors(all_namespaces=True):
        if name in actor["name"]:
            return ray.get_actor(actor["name"], namespace=actor["namespace"])
    raise AssertionError(f"no replica of shard {shard}")


def test_killing_a_shard_replica_mid_stream(served) -> None:
    base, _ = served
    answers: list[tuple[int, dict[str, Any]]] = []
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            answers.append(_search(base, q="数字经济 增长", mode="hybrid", count="true"))
            time.sleep(0.05)

    status, whole = _search(base, q="数字经济 增长", mode="hybrid", count="true")
    assert status == 200 and not whole["partial"]
    victim = next(f"v{i}" for i in range(200) if shard_of(f"v{i}", SHARDS) == 1)
    reader = threading.Thread(target=stream)
    reader.start()
    try:
        time.sleep(1.0)
        ray.kill(_replica_of(1), no_restart=True)
        write = _http("POST", f"{base}/articles", {"articles": [{"id": victim, "title": "t", "text": "新能源 汽车"}]})
        deadline = time.monotonic() + 120
        while True:  # Serve notices the lost replica and starts another
            time.sleep(1.0)
            if answers and not answers[-1][1].get("partial") and any(a[1].get("partial") for a in answers):
                break
            assert time.monotonic() < deadline, "answers never became whole again"
        time.sleep(1.0)
    finally:
        stop.set()
        reader.join()
    assert all(status == 200 for status, _ in answers), {s for s, _ in answers}
    partial = [body for _, body in answers if body["partial"]]
    assert partial and all(body["missing_shards"] == [1] for body in partial)
    assert all(body["total_relation"] == "gte" for body in partial)
    assert write[0] == 503 and write[1]["error"]["code"] == "shard_unavailable"
    assert _http("GET", f"{base}/articles/{victim}")[0] == 404
    last = answers[-1][1]
    assert not last["partial"] and last["total"] == whole["total"]
    assert [h["article"]["id"] for h in last["results"]] == [h["article"]["id"] for h in whole["results"]]
