"""`/api/v2/search` — local accounts, hashtags and posts, and `resolve=true` against another real
node over HTTP — and the hashtag timeline with its Link-header pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp.test_utils import TestClient

from node import posts
from node.posts import NewPost
from tests.api.conftest import SignIn, auth
from tests.api.two_nodes import api_token, http, pair
from tests.federation.nodes import NodeProcess

__all__ = ["http", "pair"]  # fixtures, used by name

Client = TestClient[Any, Any]


async def _post(api: Client, token: str, **data: str) -> dict[str, Any]:
    resp = await api.post("/api/v1/statuses", data=data, headers=auth(token))
    body: dict[str, Any] = await resp.json()
    assert resp.status == 200, body
    return body


async def test_local_search_finds_accounts_hashtags_and_readable_posts(api: Client, sign_in: SignIn) -> None:
    # Given posts by alice and bob, one of them followers-only
    alice, bob = await sign_in("alice"), await sign_in("bob")
    public = await _post(api, bob, status="the quarterly #Roadmap is out")
    private = await _post(api, bob, status="the quarterly numbers, privately", visibility="private")
    # When alice searches
    found = await (await api.get("/api/v2/search", params={"q": "quarterly"}, headers=auth(alice))).json()
    people = await (await api.get("/api/v2/search", params={"q": "@bo", "type": "accounts"}, headers=auth(alice))).json()
    tags = await (await api.get("/api/v2/search", params={"q": "#road"}, headers=auth(alice))).json()
    # Then she finds the post she may read, not the followers-only one, and bob and the tag
    assert [s["id"] for s in found["statuses"]] == [public["id"]] and private["id"] != public["id"]
    assert [a["acct"] for a in people["accounts"]] == ["bob"] and people["statuses"] == [] and people["hashtags"] == []
    assert [t["name"] for t in tags["hashtags"]] == ["roadmap"] and tags["hashtags"][0]["url"].endswith("/tags/roadmap")
    # And bob, its author, finds both; an exact handle finds the account; a post URL finds the post
    mine = await (await api.get("/api/v2/search", params={"q": "quarterly", "type": "statuses"}, headers=auth(bob))).json()
    assert {s["id"] for s in mine["statuses"]} == {public["id"], private["id"]}
    domain = urlsplit(public["uri"]).netloc
    exact = await (await api.get("/api/v2/search", params={"q": f"@alice@{domain}"}, headers=auth(bob))).json()
    assert [a["username"] for a in exact["accounts"]] == ["alice"]
    by_url = await (await api.get("/api/v2/search", params={"q": public["url"]}, headers=auth(alice))).json()
    hidden = await (await api.get("/api/v2/search", params={"q": private["uri"]}, headers=auth(alice))).json()
    assert [s["id"] for s in by_url["statuses"]] == [public["id"]] and hidden["statuses"] == []
    # And an anonymous caller searches no posts; a bad type is refused with a reason
    anonymous = await (await api.get("/api/v2/search", params={"q": "quarterly"})).json()
    assert anonymous["statuses"] == []
    bad = await api.get("/api/v2/search", params={"q": "x", "type": "people"}, headers=auth(alice))
    assert bad.status == 422 and "type" in (await bad.json())["error"]


def _links(header: str) -> dict[str, dict[str, list[str]]]:
    out = {}
    for part in header.split(","):
        url, rel = part.split(";")
        out[rel.strip().split('"')[1]] = parse_qs(urlsplit(url.strip()[1:-1]).query)
    return out


async def test_tag_timeline_pages_with_the_link_header(api: Client, sign_in: SignIn) -> None:
    # Given five posts tagged #Ship (one followers-only, one local) and one untagged
    alice = await sign_in("alice")
    ids = [(await _post(api, alice, status=f"#Ship number {n}"))["id"] for n in range(3)]
    ids.append((await _post(api, alice, status="#ship this node only", visibility="local"))["id"])
    secret = await _post(api, alice, status="#ship for followers", visibility="private")
    await _post(api, alice, status="no tag here")
    ids.reverse()  # newest first
    # When alice reads the tag two at a time
    first = await api.get("/api/v1/timelines/tag/ship", params={"limit": "2"}, headers=auth(alice))
    page1 = [s["id"] for s in await first.json()]
    links = _links(first.headers["Link"])
    second = await (await api.get("/api/v1/timelines/tag/ship", params={"limit": "2", "max_id": links["next"]["max_id"][0]},
                                  headers=auth(alice))).json()
    # Then the pages walk down the tagged, shared-timeline posts, newest first
    assert page1 == ids[:2] and [s["id"] for s in second] == ids[2:4]
    assert links["prev"]["min_id"] == [ids[0]] and links["next"]["limit"] == ["2"]
    assert secret["id"] not in page1 + [s["id"] for s in second]
    # And an anonymous reader sees only the public ones
    anonymous = await (await api.get("/api/v1/timelines/tag/Ship")).json()
    assert [s["id"] for s in anonymous] == ids[1:]


async def test_resolve_finds_a_remote_account_by_webfinger_and_a_remote_post_by_its_url(
    pair: tuple[NodeProcess, NodeProcess], http: aiohttp.ClientSession
) -> None:
    here, there = pair
    token = await api_token(http, here, "alice")
    search = f"{here.base_url}/api/v2/search"
    handle = f"pat@{there.domain}"
    # Given pat on another node, unknown here: without resolve, searching his handle finds nobody
    plain = await (await http.get(search, params={"q": f"@{handle}"}, headers=auth(token))).json()
    assert plain["accounts"] == []
    # When alice searches his handle with resolve=true
    resp = await http.get(search, params={"q": f"@{handle}", "resolve": "true"}, headers=auth(token))
    found = await resp.json()
    # Then WebFinger on his node finds him, and his acct carries the host's port
    assert resp.status == 200, found
    assert [a["acct"] for a in found["accounts"]] == [handle] and ":" in there.domain
    assert found["accounts"][0]["url"].startswith(there.base_url)
    # And a public post of his, unknown here, is fetched (signed) by its URL and shown
    async with there.act() as ctx:
        post = await posts.create_post(ctx, await there.user(ctx, "pat"), NewPost("hello from over there"))
    assert post.uri is not None
    before = await (await http.get(search, params={"q": post.uri}, headers=auth(token))).json()
    assert before["statuses"] == []
    resolved = await (await http.get(search, params={"q": post.uri, "resolve": "1"}, headers=auth(token))).json()
    assert [s["uri"] for s in resolved["statuses"]] == [post.uri]
    assert "hello from over there" in resolved["statuses"][0]["content"]
    assert resolved["statuses"][0]["account"]["acct"] == handle
    # And a followers-only post of his is not handed to alice, who does not follow him
    async with there.act() as ctx:
        private = await posts.create_post(ctx, await there.user(ctx, "pat"), NewPost("just followers", visibility="followers"))
    hidden = await (await http.get(search, params={"q": private.uri, "resolve": "true"}, headers=auth(token))).json()
    assert hidden["statuses"] == []
    # And an anonymous caller cannot make the node fetch anything: the same search signed in can
    async with there.act() as ctx:
        later = await posts.create_post(ctx, await there.user(ctx, "pat"), NewPost("a later note"))
    anonymous = await (await http.get(search, params={"q": later.uri, "resolve": "true"})).json()
    signed_in = await (await http.get(search, params={"q": later.uri, "resolve": "true"}, headers=auth(token))).json()
    assert anonymous["statuses"] == [] and [s["uri"] for s in signed_in["statuses"]] == [later.uri]
