"""schemathesis against a real `atrium serve` process, driven by the description it serves.

Each described operation gets a bounded, derandomised (seeded) batch of generated requests,
valid ones and ones that break the description,
sent with alice's bearer token, and no response may be a server error. The streams
(the WebSocket and the server-sent-event forms) are left out: a one-shot request cannot exercise a socket and a stream never ends (the streaming health
endpoint stays in).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode

from tests.api.conftest import SignIn, auth
from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess

# Examples per operation: valid requests, and requests that break the description (wrong
# types, missing fields). Bounded so the whole run stays near a minute per engine.
MODES = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 4}
# Streams never end (heartbeats keep them open): reading a whole body would hang.
EXCLUDED = {("GET", "/api/v1/streaming")} | {
    ("GET", f"/api/v1/streaming/{p}")
    for p in ("user", "user/notification", "public", "public/local", "public/remote", "hashtag", "hashtag/local")
}
TIMEOUT = 30


@pytest.fixture(scope="module", params=ENGINES)
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    root: Path = tmp_path_factory.mktemp(f"schemathesis_{request.param}")
    pg_name = f"atrium_st_{worker_tag()}"
    process = NodeProcess("eng", root, recreate_pg_database(pg_name) if request.param == "postgresql" else None)
    process.init()
    process.create_user("alice", "--email", "alice@eng.acme.test")
    process.create_user("bob")
    process.start()
    try:
        yield process
    finally:
        process.stop()
        if request.param == "postgresql" and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


def _bearer(node: NodeProcess) -> str:
    """alice's token by the password grant, and a post of hers so reads find something."""
    app = requests.post(f"{node.base_url}/api/v1/apps", timeout=TIMEOUT, data={
        "client_name": "schemathesis", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write follow push",
    }).json()
    token = requests.post(f"{node.base_url}/oauth/token", timeout=TIMEOUT, data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": "alice", "password": "alice-password", "scope": "read write follow push",
    }).json()["access_token"]
    posted = requests.post(f"{node.base_url}/api/v1/statuses", timeout=TIMEOUT, data={"status": "seed #atrium"},
                           headers={"Authorization": f"Bearer {token}"})
    assert posted.status_code == 200, posted.text
    return str(token)


def test_no_described_operation_answers_with_a_server_error(node: NodeProcess) -> None:
    # Given the description the node serves, and a signed-in user
    schema = schemathesis.openapi.from_url(f"{node.base_url}/api/openapi.json", timeout=TIMEOUT)
    headers = {"Authorization": f"Bearer {_bearer(node)}"}
    session = requests.Session()
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"schemathesis cannot read an operation: {result.err()}"
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in EXCLUDED:
            operations.append(operation)
    assert len(operations) > 20, "the description lost its operations"
    failures: dict[str, str] = {}
    statuses: list[int] = []

    # When each operation gets a bounded, seeded batch of generated requests
    for operation, mode in itertools.product(operations, MODES):
        examples = MODES[mode]

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def exercise(case: schemathesis.Case) -> None:
            response = case.call_and_validate(base_url=node.base_url, session=session, headers=headers,
                                              checks=[not_a_server_error], timeout=TIMEOUT)
            statuses.append(response.status_code)

        try:
            exercise()
        except Unsatisfiable:
            # An operation without parameters or a body: there is nothing to send wrongly.
            assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid request can be generated"
        except (Exception, FailureGroup) as exc:  # noqa: BLE001 - collected so one run names every failing operation
            failures[f"{operation.label} ({mode.value})"] = str(exc)[:1500]

    # Then every operation was called, some successfully, and none answered with a server error
    assert len(statuses) >= len(operations) and sum(200 <= s < 300 for s in statuses) >= len(operations) // 2
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


async def test_a_multipart_part_with_a_malformed_header_is_refused_not_a_server_error(
    api: TestClient[Any, Any], sign_in: SignIn
) -> None:
    """Pinned from what schemathesis found: aiohttp's parser error used to end as a 500."""
    token = await sign_in("alice")
    boundary = "b0undary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="\x14'.encode() + b"\xc3\x85\"\r\n\r\nx\r\n"
            + f"--{boundary}--\r\n".encode())
    # When a client sends a form whose part header holds a control character
    resp = await api.post("/api/v1/statuses", data=body, headers={
        **auth(token), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    # Then the node refuses it as the client's error, with a reason
    assert 400 <= resp.status < 500
    assert (await resp.json())["error"] in ("the body is not a valid form", "the request body is malformed")


async def test_an_app_whose_redirect_uris_hold_a_number_is_refused_not_a_server_error(
    api: TestClient[Any, Any],
) -> None:
    """Pinned from what schemathesis found: a JSON list of non-strings used to end as a 500."""
    resp = await api.post("/api/v1/apps", json={"client_name": "x", "redirect_uris": [-13.5, "urn:ietf:wg:oauth:2.0:oob"]})
    assert 400 <= resp.status < 500
    assert (await resp.json())["error"] == "not an absolute URI: '-13.5'"


@pytest.mark.parametrize(("path", "status"), [
    ("/api/v1/timelines/public?max_id=%C2%B2", 422),
    ("/api/v1/timelines/public?limit=%C2%B2", 422),
    ("/api/v1/statuses/%C2%B2", 404),
    ("/users/alice/outbox?page=true&max_id=%C2%B2", 200),
    ("/users/alice/outbox?page=true&max_id=99999999999999999999999", 200),
])
async def test_ids_in_digits_int_refuses_are_client_errors_not_server_errors(
    api: TestClient[Any, Any], path: str, status: int
) -> None:
    """"²" passes str.isdigit() but not int(): an id like that used to end as a 500."""
    resp = await api.get(path)
    assert resp.status == status, await resp.text()


@pytest.mark.parametrize(("path", "status"), [
    ("/api/v1/timelines/public?since_id=9230710045646310413", 422),
    ("/api/v1/timelines/public?limit=" + "9" * 5000, 200),
    ("/api/v1/accounts/9230710045646310413/followers", 404),
    ("/api/v1/statuses/9230710045646310413", 404),
])
async def test_ids_beyond_bigint_are_client_errors_not_server_errors(
    api: TestClient[Any, Any], path: str, status: int
) -> None:
    """Pinned from what schemathesis found: a 19-digit id above 2**63-1 reached the database."""
    resp = await api.get(path)
    assert resp.status == status, await resp.text()
