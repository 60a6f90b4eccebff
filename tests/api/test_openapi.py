"""The OpenAPI description against the routes create_app really registers.

Every route of the app's router is described (method and path), and every described
operation is served. Out of scope, by what handles them rather than by a list of paths:
routes whose handler lives in the web UI package (`web.ui`, HTML pages for people, not an API)
and static-file directories (aiohttp `StaticResource`, files rather than operations). A HEAD
route that aiohttp adds beside a GET is the GET's and is not described separately.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web_urldispatcher import StaticResource
from openapi_spec_validator import validate

from storage.db import Database
from tests.factory import loopback_context
from web import openapi
from web.app import create_app

METHODS = {m.upper() for m in openapi.METHODS}
UI_PACKAGE = "web.ui"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[web.Application]:
    # create_app never touches the database; the context only has to exist.
    path = tmp_path_factory.mktemp("openapi") / "unused.db"
    ctx = loopback_context(Database(f"sqlite+aiosqlite:///{path}"), 1)
    yield create_app(ctx)


def _in_scope(route: web.AbstractRoute) -> bool:
    if isinstance(route.resource, StaticResource):
        return False
    module = getattr(route.handler, "__module__", "") or ""
    return module != UI_PACKAGE and not module.startswith(UI_PACKAGE + ".")


def served(app: web.Application) -> set[tuple[str, str]]:
    routes = [r for r in app.router.routes() if r.resource is not None and _in_scope(r)]
    pairs = {(r.method, r.resource.canonical) for r in routes}  # type: ignore[union-attr]
    # aiohttp adds HEAD beside every GET; it is part of the GET, not an operation of its own.
    return {(m, p) for m, p in pairs if not (m == "HEAD" and ("GET", p) in pairs)}


def described(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), path) for path, item in doc["paths"].items() for m in item if m.upper() in METHODS}


def test_every_served_route_is_described(app: web.Application) -> None:
    # Given the merged description and the router of a freshly built app
    doc = openapi.merge()
    # Then each route the node serves is described, with its method
    missing = sorted(served(app) - described(doc), key=lambda mp: (mp[1], mp[0]))
    assert not missing, "served but not described:\n" + "\n".join(f"  {m} {p}" for m, p in missing)


def test_every_described_operation_is_served(app: web.Application) -> None:
    doc = openapi.merge()
    extra = sorted(described(doc) - served(app), key=lambda mp: (mp[1], mp[0]))
    assert not extra, "described but not served:\n" + "\n".join(f"  {m} {p}" for m, p in extra)


def test_the_merged_description_is_valid_openapi_3_1() -> None:
    doc = openapi.merge()
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema


@pytest.fixture
async def client(app: web.Application) -> AsyncIterator[TestClient[Any, Any]]:
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def test_the_node_serves_its_description_as_json(client: TestClient[Any, Any]) -> None:
    # When a client asks the node for its description
    resp = await client.get("/api/openapi.json")
    # Then it gets the merged document, which describes that very route
    assert resp.status == 200 and resp.content_type == "application/json"
    body = await resp.json()
    assert body == json.loads(json.dumps(openapi.merge()))
    assert "get" in body["paths"]["/api/openapi.json"]


def _fragments(tmp_path: Path, **files: dict[str, Any]) -> Path:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}}))
    for name, content in files.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(content))
    return tmp_path


OK = {"200": {"description": "ok"}}


def test_merging_refuses_an_operation_described_twice(tmp_path: Path) -> None:
    # Given two fragments that both describe GET /x
    folder = _fragments(tmp_path, one={"paths": {"/x": {"get": {"responses": OK}}}},
                        two={"paths": {"/x": {"get": {"responses": OK}, "post": {"responses": OK}}}})
    # Then merging names the operation and where it was first described
    with pytest.raises(openapi.DescriptionError, match="GET /x is already described in one.yaml"):
        openapi.merge(folder)


def test_merging_joins_methods_of_one_path_from_two_fragments(tmp_path: Path) -> None:
    folder = _fragments(tmp_path, one={"paths": {"/x": {"get": {"responses": OK}}}},
                        two={"paths": {"/x": {"delete": {"responses": OK}}}})
    assert set(openapi.merge(folder)["paths"]["/x"]) == {"get", "delete"}


def test_merging_refuses_a_reference_that_points_nowhere(tmp_path: Path) -> None:
    bad = {"paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/components/responses/Nope"}}}}}}
    with pytest.raises(openapi.DescriptionError, match="points nowhere: #/components/responses/Nope"):
        openapi.merge(_fragments(tmp_path, one=bad))


def test_merging_refuses_an_undeclared_path_parameter(tmp_path: Path) -> None:
    with pytest.raises(openapi.DescriptionError, match=r"GET /x/\{id\}"):
        openapi.merge(_fragments(tmp_path, one={"paths": {"/x/{id}": {"get": {"responses": OK}}}}))


def test_merging_refuses_a_component_defined_twice_differently(tmp_path: Path) -> None:
    one = {"paths": {}, "components": {"schemas": {"A": {"type": "string"}}}}
    two = {"paths": {}, "components": {"schemas": {"A": {"type": "integer"}}}}
    with pytest.raises(openapi.DescriptionError, match="components.schemas.A"):
        openapi.merge(_fragments(tmp_path, one=one, two=two))


def test_a_fragment_holds_only_paths_and_components(tmp_path: Path) -> None:
    with pytest.raises(openapi.DescriptionError, match="only paths and components"):
        openapi.merge(_fragments(tmp_path, one={"paths": {}, "info": {"title": "again"}}))
