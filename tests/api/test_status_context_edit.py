"""Thread context, editing (with history and source), and replies keeping an inward audience."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from node import follows, remote
from storage.models import Job, Post
from tests.api.conftest import SignIn, auth
from tests.api.two_nodes import api_token, http, pair
from tests.federation.nodes import NodeProcess, eventually
from web.keys import CTX

__all__ = ["http", "pair"]  # fixtures, used by name

Client = TestClient[Any, Any]


async def _post(api: Client, token: str, **data: str) -> dict[str, Any]:
    resp = await api.post("/api/v1/statuses", data=data, headers=auth(token))
    body: dict[str, Any] = await resp.json()
    assert resp.status == 200, body
    return body


async def test_context_lists_ancestors_and_descendants_the_reader_may_see(api: Client, sign_in: SignIn) -> None:
    # Given a thread: alice's root, bob's public reply, alice's answer, and bob's followers-only aside
    alice, bob = await sign_in("alice"), await sign_in("bob")
    root = await _post(api, alice, status="root")
    reply = await _post(api, bob, status="@alice a reply", in_reply_to_id=root["id"])
    answer = await _post(api, alice, status="@bob an answer", in_reply_to_id=reply["id"])
    aside = await _post(api, bob, status="only my followers", in_reply_to_id=root["id"], visibility="private")
    # When alice reads the context of bob's reply
    resp = await api.get(f"/api/v1/statuses/{reply['id']}/context", headers=auth(alice))
    body = await resp.json()
    # Then its ancestors are the root and its descendants the answer
    assert resp.status == 200
    assert [s["id"] for s in body["ancestors"]] == [root["id"]]
    assert [s["id"] for s in body["descendants"]] == [answer["id"]]
    # And from the root, alice (who does not follow bob) does not see the followers-only aside, bob does
    seen_by_alice = await (await api.get(f"/api/v1/statuses/{root['id']}/context", headers=auth(alice))).json()
    seen_by_bob = await (await api.get(f"/api/v1/statuses/{root['id']}/context", headers=auth(bob))).json()
    assert aside["id"] not in [s["id"] for s in seen_by_alice["descendants"]]
    assert aside["id"] in [s["id"] for s in seen_by_bob["descendants"]]
    # And an anonymous reader gets the public thread, but not a followers-only post's context
    anonymous = await (await api.get(f"/api/v1/statuses/{root['id']}/context")).json()
    assert [s["id"] for s in anonymous["descendants"]] == [reply["id"], answer["id"]]
    assert (await api.get(f"/api/v1/statuses/{aside['id']}/context")).status == 404


async def test_edit_keeps_the_exact_audience_history_and_source_and_federates_an_update(
    api: Client, sign_in: SignIn
) -> None:
    # Given alice's organization post
    alice = await sign_in("alice")
    post = await _post(api, alice, status="first draft #old", visibility="organization")
    # When a stock client edits it (sending a visibility, as some do), as JSON
    resp = await api.put(
        f"/api/v1/statuses/{post['id']}",
        json={"status": "second draft #new", "spoiler_text": "cw", "visibility": "public"},
        headers=auth(alice),
    )
    edited = await resp.json()
    # Then the text changed and the exact audience did not
    assert resp.status == 200, edited
    assert "second draft" in edited["content"] and edited["spoiler_text"] == "cw" and edited["sensitive"] is True
    assert (edited["visibility"], edited["atrium_visibility"], edited["local_only"]) == ("unlisted", "organization", False)
    assert edited["edited_at"] is not None and [t["name"] for t in edited["tags"]] == ["new"]
    # And the history lists both versions, oldest first, and the source is what she typed
    history = await (await api.get(f"/api/v1/statuses/{post['id']}/history", headers=auth(alice))).json()
    assert ["first draft" in h["content"] for h in history] == [True, False]
    assert [h["spoiler_text"] for h in history] == ["", "cw"]
    source = await (await api.get(f"/api/v1/statuses/{post['id']}/source", headers=auth(alice))).json()
    assert source == {"id": post["id"], "text": "second draft #new", "spoiler_text": "cw"}
    # And an Update of the note is queued for federation, after the Create
    async with api.server.app[CTX].db.reader() as s:
        kinds = [json.loads(j.payload)["kind"] for j in await s.scalars(select(Job).where(Job.queue == "fanout").order_by(Job.id))]
    assert kinds == ["Create", "Update"]


async def test_others_cannot_edit_and_bad_edits_are_refused(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    post = await _post(api, alice, status="mine")
    secret = await _post(api, alice, status="hers only", visibility="direct")
    assert (await api.put(f"/api/v1/statuses/{post['id']}", data={"status": "yours"}, headers=auth(bob))).status == 404
    assert (await api.put(f"/api/v1/statuses/{secret['id']}", data={"status": "x"}, headers=auth(bob))).status == 404
    missing = await api.put(f"/api/v1/statuses/{post['id']}", data={"spoiler_text": "x"}, headers=auth(alice))
    assert missing.status == 422 and "status" in (await missing.json())["error"]
    assert (await api.put(f"/api/v1/statuses/{post['id']}", data={"status": "x"})).status == 401
    # The post is unchanged and has no history beyond itself
    history = await (await api.get(f"/api/v1/statuses/{post['id']}/history", headers=auth(alice))).json()
    assert len(history) == 1 and "mine" in history[0]["content"]
    assert (await api.get(f"/api/v1/statuses/{secret['id']}/history", headers=auth(bob))).status == 404


async def test_a_stock_client_reply_keeps_the_originals_exact_audience(api: Client, sign_in: SignIn) -> None:
    # Given alice's organization post and a local-only one
    alice, bob = await sign_in("alice"), await sign_in("bob")
    org = await _post(api, alice, status="inside news", visibility="organization")
    local = await _post(api, alice, status="this node only", visibility="local")
    # When bob replies from a stock client, which only knows Mastodon's words
    to_org = await _post(api, bob, status="@alice noted", visibility="unlisted", in_reply_to_id=org["id"])
    to_local = await _post(api, bob, status="@alice noted", visibility="public", in_reply_to_id=local["id"])
    # Then each reply keeps its original's exact audience
    assert (to_org["atrium_visibility"], to_org["visibility"]) == ("organization", "unlisted")
    assert (to_local["atrium_visibility"], to_local["local_only"]) == ("local", True)
    # And editing the reply keeps it so
    edited = await (await api.put(f"/api/v1/statuses/{to_org['id']}", data={"status": "@alice noted, thanks"},
                                  headers=auth(bob))).json()
    assert edited["atrium_visibility"] == "organization"


async def test_an_edit_through_the_api_reaches_a_followers_node_with_its_audience_intact(
    pair: tuple[NodeProcess, NodeProcess], http: aiohttp.ClientSession
) -> None:
    # Given pat, on a sibling node of the organisation, follows alice
    here, there = pair
    async with there.act() as ctx:
        pat = await there.user(ctx, "pat")
        alice = await remote.resolve_handle(ctx, f"alice@{here.domain}")
        await follows.follow(ctx, pat, alice.id)

    async def following() -> bool:
        async with there.act() as ctx:
            return (await follows.relationship(ctx, await there.user(ctx, "pat"), alice.id))["following"]

    await eventually(following, timeout=60, what="pat's follow accepted")
    # And alice's organization post has reached his node
    token = await api_token(http, here, "alice")
    resp = await http.post(f"{here.base_url}/api/v1/statuses", data={"status": "draft one", "visibility": "organization"},
                           headers=auth(token))
    posted = await resp.json()
    assert resp.status == 200, posted

    async def copy() -> Post | None:
        async with there.act() as ctx, ctx.db.reader() as s:
            return await s.scalar(select(Post).where(Post.uri == posted["uri"]))

    first = await eventually(copy, timeout=60, what="the post on pat's node")
    assert first.visibility == "organization"
    # When she edits it from a stock client, which sends a visibility of its own
    edit = await http.put(f"{here.base_url}/api/v1/statuses/{posted['id']}",
                          json={"status": "draft two, final", "visibility": "public"}, headers=auth(token))
    assert edit.status == 200 and (await edit.json())["atrium_visibility"] == "organization"

    # Then the Update reaches pat's node: new text, same audience
    async def updated() -> Post | None:
        found = await copy()
        return found if found is not None and "draft two" in found.content_html else None

    second = await eventually(updated, timeout=60, what="the edit on pat's node")
    assert second.visibility == "organization" and second.edited_at is not None
