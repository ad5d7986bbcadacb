"""Named entities through the API and the CLI, with the fake embedder and a dictionary
tagger: facets, repeatable entity filters, entity routes, `entities top|show` and
`index enrich`, and bad input (4xx / exit 2, collection unchanged)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from semsearch.index import Collection
from semsearch.service.runtime import Runtime
from tests.fake_tagger import fake_extractor
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.api import assert_error, make_client
from tests.helpers.cli import fake_cli


def _articles() -> list:
    return [
        make_article("a1", ["何雄到巩义市调研数字经济", "阿里巴巴 项目"], date="2023-04-18", source="zzwb"),
        make_article("a2", ["何雄 观摩 管城区 项目", "李明 陪同 数字经济"], date="2023-05-19", source="zzwb"),
        make_article("a3", ["蚂蚁集团 在 郑州 发布 数字经济 报告"], date="2023-05-02", source="wire"),
    ]


@pytest.fixture()
def index(tmp_path: Path) -> Path:
    path = tmp_path / "index"
    with Collection.create(path, FakeEmbedder(), entities=fake_extractor()) as collection:
        collection.upsert(_articles())
    return path


@pytest.fixture()
def client(index: Path) -> Iterator[tuple[TestClient, Runtime]]:
    made = make_client(index)
    yield made
    made[1].close()


def test_api_facets_and_repeatable_entity_filters(client: tuple[TestClient, Runtime]) -> None:
    api, _ = client
    body = api.get("/search", params={"q": "数字经济", "mode": "lexical", "facets": "person,place,org"}).json()
    people = {v["value"]: v["count"] for v in body["facets"]["person"]}
    assert people == {"何雄": 2, "李明": 1}
    assert {v["value"] for v in body["facets"]["org"]} == {"阿里巴巴", "蚂蚁集团"}
    one = api.get("/search", params={"q": "数字经济", "mode": "lexical", "entity": "person:何雄"}).json()
    assert {r["article"]["id"] for r in one["results"]} == {"a1", "a2"}
    both = api.get(
        "/search",
        params=[("q", "项目"), ("mode", "lexical"), ("entity", "person:何雄"), ("entity", "place:管城区")],
    ).json()
    assert [r["article"]["id"] for r in both["results"]] == ["a2"]
    posted = api.post(
        "/search",
        json={"q": "数字经济", "mode": "lexical", "filters": {"entities": ["org:螞蟻集團"]}},
    ).json()
    assert [r["article"]["id"] for r in posted["results"]] == ["a3"]


@pytest.mark.parametrize("bad", ["何雄", "people:何雄", "person:", "person:   "])
def test_api_refuses_a_malformed_entity_filter(client: tuple[TestClient, Runtime], bad: str) -> None:
    api, _ = client
    assert_error(api.get("/search", params={"q": "数字经济", "entity": bad}), 422)
    assert_error(api.post("/search", json={"q": "数字经济", "filters": {"entities": [bad]}}), 422)


def test_api_entity_page_and_top(client: tuple[TestClient, Runtime]) -> None:
    api, _ = client
    page = api.get("/entities/person/何雄").json()
    assert page["articles"] == 2 and page["printed"] == "何雄"
    assert page["months"] == [{"month": "2023-04", "articles": 1}, {"month": "2023-05", "articles": 1}]
    assert {(e["type"], e["name"]) for e in page["cooccurring"]} >= {("place", "巩义市"), ("person", "李明")}
    assert [a["id"] for a in page["latest"]] == ["a2", "a1"]
    assert api.get("/entities/place/鞏義市").json()["articles"] == 1  # either script
    assert_error(api.get("/entities/person/无名氏"), 404, "not_found")
    assert_error(api.get("/entities/people/何雄"), 422)
    assert_error(api.get("/entities/person/" + "名" * 101), 422)
    top = api.get("/entities", params={"type": "person", "limit": 1}).json()
    assert top == [{"type": "person", "name": "何雄", "printed": "何雄", "articles": 2}]
    assert_error(api.get("/entities", params={"limit": 0}), 422)


def test_cli_facets_filters_top_show_and_enrich(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(
        "\n".join(
            json.dumps({"id": a.id, "title": a.title, "text": a.text, "date": a.date}, ensure_ascii=False)
            for a, _ in _articles()
        ),
        encoding="utf-8",
    )
    cli = fake_cli(FakeEmbedder())
    index = str(tmp_path / "index")
    code, _, err = cli.run(capsys, "ingest", str(records), "--index", index, "--no-entities")
    assert code == 0, err
    code, out, _ = cli.run(capsys, "entities", "top", "--index", index)
    assert "no entities" in out and "index enrich" in out
    code, out, _ = cli.run(capsys, "index", "enrich", "--index", index, "--limit", "2")
    assert (code, out.strip()) == (0, "tagged 2 articles: 6 mentions, 1 left (run again)")
    code, out, _ = cli.run(capsys, "index", "enrich", "--index", index, "--json")
    assert json.loads(out) == {"articles": 1, "mentions": 2, "skipped": 0, "remaining": 0}
    code, out, _ = cli.run(capsys, "entities", "top", "--type", "person", "--index", index)
    assert out.split("\n")[0].split() == ["2", "person", "何雄"]
    response = cli.search_json(
        capsys, Path(index), tmp_path, "数字经济", "--mode", "lexical",
        "--facets", "person,org", "--entity", "person:何雄",
    )
    assert {r["article_id"] for r in response["results"]} == {"a1", "a2"}
    assert {v["value"] for v in response["facets"]["org"]} == {"阿里巴巴"}
    code, out, _ = cli.run(capsys, "entities", "show", "person", "何雄", "--index", index)
    assert code == 0 and out.startswith("person 何雄: 2 articles") and "2023-05  1" in out
    code, out, _ = cli.run(capsys, "entities", "show", "person", "无名氏", "--index", index)
    assert code == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "数字经济", "--entity", "何雄"],
        ["search", "数字经济", "--entity", "people:何雄"],
        ["search", "数字经济", "--facets", "persons"],
        ["entities", "top", "--type", "people"],
        ["entities", "top", "-n", "0"],
    ],
)
def test_cli_bad_entity_input_exits_2_with_one_line(
    index: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    cli = fake_cli(FakeEmbedder())
    before = (index / "collection.sqlite").read_bytes()
    extra = ["--mode", "lexical"] if argv[0] == "search" else []
    code, _, err = cli.run(capsys, *argv, "--index", str(index), *extra)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert (index / "collection.sqlite").read_bytes() == before
