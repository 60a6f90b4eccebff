"""NodeInfo 2.0 and 2.1, both listed at /.well-known/nodeinfo, each valid against its own schema
(vendored in schemas/) and both telling the same facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from node import accounts
from storage.db import Database
from tests.factory import loopback_context
from tests.web.conftest import Serve

SCHEMAS = Path(__file__).parent / "schemas"


def schema(version: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"nodeinfo-{version}.json").read_text())
    return loaded


async def test_both_versions_are_listed_served_and_valid(db: Database, serve: Serve) -> None:
    # Given a node with one user
    async with serve(db) as client:
        ctx = loopback_context(db, client.port)
        await accounts.create_user(ctx, "alice", "alice-password")
        # When a peer reads the well-known document
        resp = await client.get("/.well-known/nodeinfo")
        links = (await resp.json())["links"]
        # Then it lists 2.1 and 2.0, each at its own address on this node
        base = f"http://127.0.0.1:{client.port}"
        assert links == [
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f"{base}/nodeinfo/2.1"},
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": f"{base}/nodeinfo/2.0"},
        ]
        documents = {}
        for link in links:
            version = link["href"].rsplit("/", 1)[1]
            resp = await client.get(link["href"].removeprefix(base))
            # And each answers with its schema's profile and a document its schema accepts
            assert resp.status == 200
            assert resp.headers["Content-Type"] == f'application/json; profile="{link["rel"]}#"'
            documents[version] = json.loads(await resp.text())
            jsonschema.Draft4Validator(schema(version)).validate(documents[version])
    # And both tell the same facts: 2.0 lacks only what 2.1 added
    v20, v21 = documents["2.0"], documents["2.1"]
    assert v20["version"] == "2.0" and v21["version"] == "2.1"
    assert v20["software"] == {"name": "atrium", "version": v21["software"]["version"]}
    assert {k: v for k, v in v20.items() if k not in ("version", "software")} == {
        k: v for k, v in v21.items() if k not in ("version", "software")}
    assert v20["usage"]["users"]["total"] == 1 and v20["protocols"] == ["activitypub"]
    assert "organization" in v20["metadata"]["visibilities"]


@pytest.mark.parametrize("version", ["2.0", "2.1"])
def test_the_schemas_have_teeth(version: str) -> None:
    # A 2.1 key in a 2.0 document, a wrong version or a protocol the schema does not know is refused
    validator = jsonschema.Draft4Validator(schema(version))
    good = {"version": version, "software": {"name": "atrium", "version": "1"}, "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": []}, "openRegistrations": False,
            "usage": {"users": {}}, "metadata": {}}
    validator.validate(good)
    other = "2.1" if version == "2.0" else "2.0"
    for broken in ({**good, "version": other}, {**good, "protocols": ["smoke-signals"]}):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(broken)
    homepage = {**good, "software": {**good["software"], "homepage": "https://atrium.example/"}}  # type: ignore[dict-item]
    if version == "2.0":
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(homepage)
    else:
        validator.validate(homepage)
