"""Query syntax, facets, totals and date order over HTTP (fake embedder, fast)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.helpers.api import assert_error, build_index, make_client


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = build_index(tmp_path_factory.mktemp("apiq") / "index")
    test_client, runtime = make_client(path, max_k=20, max_query_chars=200)
    with test_client:
        yield test_client
    runtime.close()


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_phrase_and_exclusion_constrain_every_mode(client: TestClient, mode: str) -> None:
    body = client.get("/search", params={"q": '"项目为王"', "mode": mode}).json()
    assert {h["article"]["id"] for h in body["results"]} == {"a2"}
    text = body["results"][0]["snippet_text"]
    assert [text[s:e] for s, e in body["results"][0]["highlights"]] == ["项目为王"]
    body = client.get("/search", params={"q": "+数字 -项目", "mode": mode}).json()
    assert {h["article"]["id"] for h in body["results"]} == {"a1"}
    assert body["total"] == 1


def test_facets_and_total_over_get_and_post(client: TestClient) -> None:
    params = {"q": "+数字", "mode": "lexical", "k": 1, "facets": "source,month,meta.page"}
    body = client.get("/search", params=params).json()
    assert len(body["results"]) == 1 and body["has_more"] is True
    assert body["total"] == 2  # a1 and a2 hold 数字; a3 is English
    assert body["facets"]["source"] == [{"value": "zzwb", "count": 2}]
    assert body["facets"]["month"] == [{"value": "2023-04", "count": 2}]
    assert body["facets"]["meta.page"] == [{"value": 1, "count": 1}, {"value": 2, "count": 1}]
    posted = client.post(
        "/search", json={"q": "+数字", "mode": "lexical", "k": 1, "facets": ["source"]}
    ).json()
    assert posted["total"] == 2 and posted["facets"]["source"] == body["facets"]["source"]
    assert "month" not in posted["facets"]


@pytest.mark.parametrize(("sort", "first"), [("date-desc", "a2"), ("date-asc", "a1")])
def test_date_sort(client: TestClient, sort: str, first: str) -> None:
    body = client.get(
        "/search", params={"q": "+数字", "mode": "lexical", "sort": sort, "collapse": "true"}
    ).json()
    assert body["sort"] == sort
    assert body["results"][0]["article"]["id"] == first
    dates = [h["article"]["date"] for h in body["results"]]
    assert dates == sorted(dates, reverse=sort == "date-desc")


def test_parsed_says_how_the_query_was_read(client: TestClient) -> None:
    body = client.get("/search", params={"q": '"项目为王', "mode": "lexical"}).json()
    assert body["parsed"] == {
        "text": '"项目为王',
        "words": ['"项目为王'],
        "phrases": [],
        "required": [],
        "excluded": [],
        "notes": ['unbalanced quote " read as text'],
    }
    assert "a2" in {h["article"]["id"] for h in body["results"]}
    posted = client.post("/search", json={"q": '+数字 -项目 "项目为王"'}).json()
    assert posted["parsed"]["required"] == [["数字"], ["项目为王"]]
    assert posted["parsed"]["phrases"] == ["项目为王"] and posted["parsed"]["notes"] == []
    similar = client.get("/similar", params={"text": "数字"}).json()
    assert similar["parsed"] is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "-项目"}, "only exclusions"),
        ({"q": '-"项目为王'}, "only exclusions"),
        ({"q": "数字", "facets": "colour"}, "unknown facet"),
        ({"q": "数字", "sort": "newest"}, None),
    ],
)
def test_malformed_queries_are_422(client: TestClient, params: dict, message: str | None) -> None:
    error = assert_error(client.get("/search", params=params), 422)
    if message is not None:
        assert message in error["message"]


def test_openapi_documents_sort_and_facets(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    names = {p["name"] for p in spec["paths"]["/search"]["get"]["parameters"]}
    assert {"sort", "facets", "q"} <= names
    result = spec["components"]["schemas"]["SearchResult"]["properties"]
    assert {"total", "total_passages", "facets", "sort", "results", "parsed"} <= set(result)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("q=数字&q=经济", "q"),
        ("q=数字&min_score=abc&min_score=0.5", "min_score"),
        ("q=数字&mode=dense&mode=lexical", "mode"),
        ("q=数字&k=3&k=5", "k"),
    ],
)
def test_a_single_valued_parameter_given_twice_is_refused(
    client: TestClient, query: str, name: str
) -> None:
    # FastAPI reads only the last repeat: the first (even a malformed one) went unseen.
    response = client.get(f"/search?{query}")
    assert_error(response, 422, "invalid_request")
    assert repr(name) in response.json()["error"]["message"]


def test_parameters_that_repeat_by_design_still_repeat(client: TestClient) -> None:
    response = client.get("/search?q=数字&source=zzwb&source=wire&facets=source&facets=month")
    assert response.status_code == 200, response.text
