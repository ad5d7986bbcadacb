"""Property-based API test: schemathesis drives every route from the OpenAPI schema.

No input the schema allows (or nearly allows) may produce a 5xx; every response must
match the documented shape. Runs against the ASGI app with the fake embedder.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from fastapi import FastAPI
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


def _app() -> FastAPI:
    # Built at import: schemathesis parametrizes tests from a schema object at collection.
    path = build_index(Path(tempfile.mkdtemp(prefix="semsearch-schema-")) / "index")
    atexit.register(shutil.rmtree, path.parent, ignore_errors=True)
    # No API key: writes answer 403 and the collection stays small and fast.
    runtime = Runtime(path, FakeEmbedder(), ServiceSettings(api_key=None, batch_window_ms=0))
    atexit.register(runtime.close)
    return create_app(runtime)


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


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
