"""The sample page ingested with the real model and the LAC tagger: the people, districts
and companies the issue lists come out as facets, filters and entity pages; the misses
are the tagger's (named here, explained in docs/entities.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import Cli
from tests.helpers.paths import SEED

pytestmark = pytest.mark.slow

LEADERS = {"安伟", "何雄", "周富强", "吕挺琳"}
OFFICIALS = {"路云", "陈明", "虎强", "李党生", "张红伟", "李黔淼", "陈宏伟", "陈红民", "王鸿勋", "李凤芝"}
REPORTERS = {"张昕", "王际宾", "董艳竹", "王治", "翟宝宽"}
PEOPLE = LEADERS | OFFICIALS | REPORTERS | {"习近平"}
PLACES = {
    "巩义市", "上街区", "荥阳市", "高新区", "中原区", "登封市",
    "新密市", "航空港区", "二七区", "新郑市", "经开区", "管城区",
}  # fmt: skip
COMPANIES = {
    "盛见网络科技", "折扣牛信息科技", "数链科技",
    "蚂蚁集团北方技术服务中心", "视源股份", "阿里巴巴客户体验中心",
}  # fmt: skip
# What LAC does not tag: 虎强 (a rare surname, read as two words), 高新区 and 航空港区
# (development zones: 航空 alone comes out as a place), and the three companies printed
# without a suffix the tagger knows as organisations (科技 is not one).
MISSES = {"虎强", "高新区", "航空港区", "盛见网络科技", "折扣牛信息科技", "数链科技"}


@pytest.fixture(scope="module")
def sample_index(cli: Cli, tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    index = tmp_path_factory.mktemp("entities") / "index"
    argv = ["ingest", str(SEED), "--index", str(index), "--model-dir", str(model_dir), "--json"]
    assert cli(argv) == 0
    return index


def test_sample_page_people_places_and_companies_are_facets(
    cli: Cli, sample_index: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 项目 is in both articles: the facets count over both.
    response = cli.search_json(
        capsys, sample_index, model_dir, "项目", "--mode", "lexical", "--facets", "person,place,org"
    )
    facets = {name: {v["value"]: v["count"] for v in values} for name, values in response["facets"].items()}
    assert facets["person"].keys() >= PEOPLE - MISSES
    assert facets["place"].keys() >= PLACES - MISSES
    assert facets["org"].keys() >= COMPANIES - MISSES
    # Named in both articles: the mayor and a reporter credited twice.
    assert facets["person"]["何雄"] == 2 and facets["person"]["王际宾"] == 2
    # The bare 市委 is the paper's city's: 郑州晚报 is a Zhengzhou paper.
    assert "郑州市委" in facets["org"] and "市委" not in facets["org"]
    assert MISSES.isdisjoint(facets["person"].keys() | facets["place"].keys() | facets["org"].keys())


def test_sample_page_entity_filter_and_page(
    cli: Cli, sample_index: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    response = cli.search_json(
        capsys, sample_index, model_dir, "数字经济", "--entity", "org:阿里巴巴客户体验中心", "--per-article"
    )
    assert [hit["title"] for hit in response["results"]] == [
        "促进数字技术与实体经济深度融合全力以赴打造数字经济发展新高地"
    ]
    code, out, _ = cli.run(capsys, "entities", "show", "person", "吕挺琳", "--index", str(sample_index), "--json")
    assert code == 0
    page = json.loads(out)
    assert page["articles"] == 1 and page["months"] == [{"month": "2023-04", "articles": 1}]
    companions = {(e["type"], e["name"]) for e in page["cooccurring"]}
    # Twenty listed, most shared articles first, then by type and name (all share one here).
    assert len(companions) == 20
    assert {("org", "郑州市委"), ("person", "周富强"), ("person", "安伟")} <= companions
    assert page["latest"][0]["title"] == "2023年全市重大项目观摩活动举行"
