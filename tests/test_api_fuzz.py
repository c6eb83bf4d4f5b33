"""Property-based fuzz of the API's own OpenAPI schema: zero server errors, replies as documented.

Schemathesis turns the app's schema into Hypothesis strategies; every generated request
goes over real HTTP to uvicorn on the echo engine, so the whole fuzz takes seconds.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.api.app import create_app
from tests.api_helpers import echo_runtime, serve

OPERATIONS = [("POST", "/api/chat"), ("POST", "/v1/chat/completions"), ("GET", "/v1/models"),
              ("POST", "/v1/embeddings"), ("GET", "/api/health")]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    app = create_app(echo_runtime(tmp_path_factory.mktemp("api-fuzz")))
    with serve(app) as url:
        yield schemathesis.openapi.from_dict(app.openapi()), url


def test_every_operation_is_fuzzed(api):
    schema, _ = api
    listed = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert listed == set(OPERATIONS)


def _answerable(case):
    """Random roles rarely include a user turn, and random model names are (correct) 404s: fix both."""
    case.body["model"] = "base"
    case.body["messages"].append({"role": "user", "content": "hello"})
    return case


CASES = [(m, p, mode) for m, p in OPERATIONS for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if m == "POST" or mode is GenerationMode.POSITIVE]  # a GET without parameters has no invalid form


@pytest.mark.parametrize("method,path,mode", CASES, ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES])
def test_no_request_makes_the_server_fail(api, method, path, mode):
    schema, url = api
    seen: set[int] = set()

    strategy = schema[path][method].as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE and path == "/v1/chat/completions":
        strategy = strategy.map(_answerable)

    @given(case=strategy)
    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        response = case.call(base_url=url, timeout=10)
        seen.add(response.status_code)
        assert response.status_code < 500, f"{method} {path} -> {response.status_code}: {response.text[:300]}"
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                 content_type_conformance, response_schema_conformance])
        if response.status_code >= 400:
            assert set(response.json()) == {"error"}, "errors use OpenAI's shape"

    check()
    # The fuzz reached both sides: valid bodies get answers, invalid ones get 4xx.
    if mode is GenerationMode.NEGATIVE:
        assert any(400 <= code < 500 for code in seen), seen
    else:
        assert 200 in seen, seen
