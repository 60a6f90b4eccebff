"""Timelines and the read-only endpoints clients call on start-up."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient

from tests.api.conftest import SignIn, auth

Client = TestClient[Any, Any]


def _links(header: str) -> dict[str, dict[str, list[str]]]:
    out = {}
    for part in header.split(","):
        url, rel = part.split(";")
        out[rel.strip().split('"')[1]] = parse_qs(urlsplit(url.strip()[1:-1]).query)
    return out


async def test_home_timeline_pages_with_link_header(api: Client, sign_in: SignIn) -> None:
    # Given five posts of alice
    token = await sign_in("alice")
    ids = []
    for n in range(5):
        body = await (await api.post("/api/v1/statuses", data={"status": f"post {n}"}, headers=auth(token))).json()
        ids.append(body["id"])
    ids.reverse()  # newest first
    # When she reads her home timeline two at a time
    first = await api.get("/api/v1/timelines/home", params={"limit": "2"}, headers=auth(token))
    page1 = [s["id"] for s in await first.json()]
    links = _links(first.headers["Link"])
    # Then the first page is the newest two, and `next` continues below the last
    assert page1 == ids[:2]
    assert links["next"]["max_id"] == [ids[1]] and links["next"]["limit"] == ["2"]
    assert links["prev"]["min_id"] == [ids[0]]
    second = await api.get("/api/v1/timelines/home", params={"limit": "2", "max_id": ids[1]}, headers=auth(token))
    assert [s["id"] for s in await second.json()] == ids[2:4]
    # And min_id gives the ones just above, since_id the newest above
    above = await (await api.get("/api/v1/timelines/home", params={"min_id": ids[3], "limit": "2"}, headers=auth(token))).json()
    assert [s["id"] for s in above] == ids[1:3]
    newest = await (await api.get("/api/v1/timelines/home", params={"since_id": ids[3], "limit": "2"}, headers=auth(token))).json()
    assert [s["id"] for s in newest] == ids[0:2]
    empty = await api.get("/api/v1/timelines/home", params={"max_id": ids[4]}, headers=auth(token))
    assert await empty.json() == [] and "Link" not in empty.headers


async def test_public_local_timeline_keeps_local_posts_from_anonymous_readers(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice")
    for visibility in ("public", "local", "unlisted"):
        await api.post("/api/v1/statuses", data={"status": visibility, "visibility": visibility}, headers=auth(token))
    anonymous = await (await api.get("/api/v1/timelines/public", params={"local": "true"})).json()
    signed_in = await (await api.get("/api/v1/timelines/public", params={"local": "true"}, headers=auth(token))).json()
    assert [s["atrium_visibility"] for s in anonymous] == ["public"]
    assert sorted(s["atrium_visibility"] for s in signed_in) == ["local", "public"]


async def test_instance_and_accounts(api: Client, sign_in: SignIn) -> None:
    for path in ("/api/v1/instance", "/api/v1/instance/", "/api/v2/instance", "/api/v2/instance/"):
        body = await (await api.get(path)).json()
        assert body["version"].startswith("4.3.0 (compatible; Atrium ")
    token = await sign_in("alice")
    me = await (await api.get("/api/v1/accounts/verify_credentials", headers=auth(token))).json()
    assert me["acct"] == "alice" and me["source"]["privacy"] == "public"
    by_id = await (await api.get(f"/api/v1/accounts/{me['id']}")).json()
    found = await (await api.get("/api/v1/accounts/lookup", params={"acct": "bob"})).json()
    assert by_id["username"] == "alice" and found["username"] == "bob"
    assert (await api.get("/api/v1/accounts/lookup", params={"acct": "nobody"})).status == 404
    assert (await api.get("/api/v1/accounts/123abc")).status == 404


async def test_start_up_endpoints_answer_empty(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice")
    for path in ("/api/v1/custom_emojis", "/api/v1/announcements"):
        resp = await api.get(path, headers=auth(token))
        assert resp.status == 200 and await resp.json() == [], path
    assert await (await api.get("/api/v1/markers", headers=auth(token))).json() == {}
    prefs = await (await api.get("/api/v1/preferences", headers=auth(token))).json()
    assert prefs["posting:default:visibility"] == "public"
