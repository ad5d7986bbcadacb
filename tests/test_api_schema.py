"""Property-based API test: schemathesis drives every route from the OpenAPI schema.

No input the schema allows (or nearly allows) may produce a 5xx; every response must
match the documented shape. Runs against the ASGI app with the fake embedder.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from semsearch.service.app import create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import Runtime
from tests.fakes import FakeEmbedder
from tests.helpers.api import build_index

# Bounded so the whole module runs well under a minute on a shared 2-core machine.
MAX_EXAMPLES = 40


# No API key: writes answer 403 and the collection stays small and fast.
SETTINGS = ServiceSettings(api_key=None, batch_window_ms=0)
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
def test_no_server_errors_and_documented_responses(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.text)
    # The "exactly one of article_id, passage_id, text" rule of /similar cannot be said in
    # OpenAPI, so a schema-valid request may rightly get a 422. And a query string cannot
    # tell an empty list from a list holding "", so "negative" list parameters are often
    # valid requests in disguise.
    case.validate_response(
        response, excluded_checks=[positive_data_acceptance, negative_data_rejection]
    )
