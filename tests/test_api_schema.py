"""Property-based API test: schemathesis drives every route from the OpenAPI schema.

No input the schema allows (or nearly allows) may produce a 5xx; every response must
match the documented shape; and the schema and the validation say the same thing (issue 26
item 6): a request the schema allows is accepted, one it forbids is refused. The patterns
the schema states for dates, facets, ``meta`` and queries are checked against the code that
reads those values. Runs against the ASGI app with the fake embedder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis.specs.openapi.checks import positive_data_acceptance

from semsearch.embedder.dates import GIVEN_DATE_PATTERN, normalize_date
from semsearch.embedder.errors import InputError
from semsearch.index import parse_entity
from semsearch.index._search import check_facets
from semsearch.service import api_models as m
from semsearch.service.app import create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import Runtime
from tests.fakes import FakeEmbedder
from tests.helpers.api import build_index

# Bounded so the whole module runs well under a minute on a shared 2-core machine.
MAX_EXAMPLES = 40
API_KEY = "schema-key"
# Rules OpenAPI cannot state, so a request the schema allows may rightly be refused there.
# Every other operation must accept what its schema allows.
BEYOND_THE_SCHEMA = {
    ("GET", "/similar"): "exactly one of article_id, passage_id and text",
    ("POST", "/articles"): "one id twice in a batch with other content; a record's size in "
    "bytes; the nesting of its extra fields; text that is empty once control characters "
    "and zero-width marks are dropped",
}


# Writes enabled, so that what POST /articles accepts and refuses is checked too.
SETTINGS = ServiceSettings(api_key=SecretStr(API_KEY), batch_window_ms=0)
# schemathesis parametrizes tests from a schema object at collection, so the app exists at
# import; its OpenAPI document depends on the settings only. The collection it serves is
# built when the tests run (fixture below), not at import.
APP = create_app(settings=SETTINGS)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The small fake-embedder collection, handed to the app as a loader would."""
    path = build_index(tmp_path_factory.mktemp("schema") / "index")
    loaded = Runtime(path, FakeEmbedder(), SETTINGS)
    APP.state.semsearch.runtime = loaded
    yield loaded
    APP.state.semsearch.runtime = None
    loaded.close()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_schema_and_the_validation_agree(case: schemathesis.Case) -> None:
    response = case.call(headers={"X-API-Key": API_KEY})
    assert response.status_code < 500, (case.method, case.path, response.text)
    # The query language's one refusal (``-word`` alone) is no pattern either.
    beyond = (case.method, case.path) in BEYOND_THE_SCHEMA or "only exclusions" in response.text
    case.validate_response(
        response, excluded_checks=[positive_data_acceptance] if beyond else []
    )


# ----------------------------------------------------- the patterns against the code


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.from_regex(GIVEN_DATE_PATTERN))
def test_every_date_the_pattern_allows_is_read(text: str) -> None:
    assert normalize_date(text) is not None


date_like = st.from_regex(
    r"^\s*[0-9]{4}[-/.年]?\s*[0-9]{1,2}[-/.月]?\s*[0-9]{1,2}[日T ]?[0-9:]*\s*$"
)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=24) | date_like)
def test_the_date_pattern_allows_exactly_what_is_read(text: str) -> None:
    assert (re.search(GIVEN_DATE_PATTERN, text) is not None) == (normalize_date(text) is not None)


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("2023-04-20", True),
        ("2023/4/20", True),
        ("20230420", True),
        ("2023年4月20日", True),
        (" 2023-04-20T08:00:00+08:00 ", True),
        ("2024-02-29", True),
        ("2000-02-29", True),
        ("1800-01-01", True),
        ("2200-12-31", True),
        ("", False),
        (" ", False),
        ("2023-02-29", False),
        ("1900-02-29", False),
        ("2023-04-31", False),
        ("2023-13-01", False),
        ("1600-01-01", True),
        ("1600-02-29", True),
        ("1700-02-29", False),
        ("1599-12-31", False),
        ("2201-01-01", False),
        ("yesterday", False),
    ],
)
def test_the_date_pattern_on_the_edges(text: str, read: bool) -> None:
    assert (re.search(GIVEN_DATE_PATTERN, text) is not None) is read
    assert (normalize_date(text) is not None) is read


def _facets_read(names: list[str]) -> bool:
    try:
        check_facets(names)
    except InputError:
        return False
    return True


facet_text = st.text(alphabet="sourceintyharmt.-_ ,\t\nX9", max_size=20)


@settings(max_examples=800, deadline=None)
@given(facet_text | st.sampled_from(["source", "meta.page", " month ", "meta.", "meta.a b"]))
def test_the_facet_patterns_allow_exactly_what_is_read(text: str) -> None:
    assert (re.search(m.FACET_PATTERN, text) is not None) == _facets_read([text])
    # GET /search takes them comma-separated.
    read = _facets_read([name for name in text.split(",") if name.strip()])
    assert (re.search(m.FACETS_PATTERN, text) is not None) == read


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab1_.-= \n\u00e9", max_size=8))
def test_the_meta_pattern_allows_exactly_what_is_read(text: str) -> None:
    pattern = m.MetaItem.__metadata__[1].json_schema["pattern"]  # type: ignore[attr-defined]
    try:
        m.meta_item(text)
        read = True
    except ValueError:
        read = False
    assert (re.search(pattern, text) is not None) == read


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t\n\u3000\u00a0\x1f\x85\ufeffx字", max_size=4))
def test_a_query_is_blank_exactly_when_the_pattern_says(text: str) -> None:
    assert (re.search(m.NOT_BLANK, text) is None) == (not text.strip())


# What \s means in a schema's pattern (ECMAScript), against Python's \s.
ECMA_SPACE = r"\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def ecma(pattern: str) -> str:
    """The pattern as a schema reader (ECMAScript) reads it, in Python's syntax (for
    ``\\s`` and ``\\S`` outside brackets; ``[\\s\\S]``, any character, means the same in both)."""
    anything = "\x00ANY\x00"
    spelled = pattern.replace(r"[\s\S]", anything)
    spelled = spelled.replace(r"\s", f"[{ECMA_SPACE}]").replace(r"\S", f"[^{ECMA_SPACE}]")
    return spelled.replace(anything, r"[\s\S]")


def test_the_blank_pattern_knows_every_space_python_strips() -> None:
    # \x1c-\x1f and \x85 are spaces to str.strip but not to a schema's (ECMAScript) \s.
    for code in range(0x3100):
        char = chr(code)
        assert (re.search(ecma(m.NOT_BLANK), char) is None) == char.isspace(), hex(code)


def _entity_read(text: str) -> bool:
    try:
        parse_entity(text)
    except InputError:
        return False
    return True


@settings(max_examples=500, deadline=None)
@given(
    st.builds(
        lambda kind, sep, name: f"{kind}{sep}{name}",
        st.sampled_from(["person", " place ", "org", "who", ""]),
        st.sampled_from([":", " : ", ""]),
        st.text(alphabet=" \x1f\x85何雄a\n", max_size=6) | st.text(alphabet="雄", min_size=99, max_size=102),
    )
)
def test_the_entity_pattern_allows_exactly_what_is_read(text: str) -> None:
    assert (re.search(ecma(m.ENTITY_PATTERN), text) is not None) == _entity_read(text)
