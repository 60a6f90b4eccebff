"""Statuses through the client API: every audience, reading back, idempotency, interactions."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.api.conftest import SignIn, auth

Client = TestClient[Any, Any]


@pytest.mark.parametrize(
    ("asked", "extra", "mastodon", "atrium", "local_only"),
    [
        ("public", {}, "public", "public", False),
        ("unlisted", {}, "unlisted", "unlisted", False),
        ("private", {}, "private", "followers", False),
        ("direct", {}, "direct", "direct", False),
        ("organization", {}, "unlisted", "organization", False),
        ("local", {}, "unlisted", "local", True),
        ("public", {"local_only": "true"}, "unlisted", "local", True),
        ("unlisted", {"local_only": "1"}, "unlisted", "local", True),
        ("public", {"local_only": "0"}, "public", "public", False),
    ],
)
async def test_post_with_each_visibility_and_read_it_back(
    api: Client, sign_in: SignIn, asked: str, extra: dict[str, str], mastodon: str, atrium: str, local_only: bool
) -> None:
    # Given alice signed in
    token = await sign_in("alice")
    # When she posts with a visibility (form-encoded)
    resp = await api.post("/api/v1/statuses", data={"status": "hello @bob #Atrium", "visibility": asked, **extra}, headers=auth(token))
    body = await resp.json()
    # Then the status carries Mastodon's visibility and Atrium's own
    assert resp.status == 200, body
    assert (body["visibility"], body["atrium_visibility"], body["local_only"]) == (mastodon, atrium, local_only)
    assert body["account"]["username"] == "alice" and "hello" in body["content"]
    assert [m["acct"] for m in body["mentions"]] == ["bob"] and [t["name"] for t in body["tags"]] == ["atrium"]
    # And she reads it back
    again = await (await api.get(f"/api/v1/statuses/{body['id']}", headers=auth(token))).json()
    assert again["id"] == body["id"] and again["atrium_visibility"] == atrium


async def test_json_body_and_boolean_forms(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice")
    resp = await api.post(
        "/api/v1/statuses",
        json={"status": "careful", "spoiler_text": "cw", "sensitive": True, "local_only": False, "visibility": "public"},
        headers=auth(token),
    )
    body = await resp.json()
    assert resp.status == 200 and body["sensitive"] is True and body["spoiler_text"] == "cw"
    assert body["visibility"] == "public"


async def test_bad_visibility_and_local_only_direct_are_refused(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice")
    odd = await api.post("/api/v1/statuses", data={"status": "x", "visibility": "secret"}, headers=auth(token))
    direct = await api.post(
        "/api/v1/statuses", data={"status": "x", "visibility": "direct", "local_only": "true"}, headers=auth(token)
    )
    assert odd.status == 422 and direct.status == 422


async def test_others_cannot_read_a_followers_only_post(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    body = await (await api.post("/api/v1/statuses", data={"status": "friends", "visibility": "private"}, headers=auth(alice))).json()
    assert (await api.get(f"/api/v1/statuses/{body['id']}", headers=auth(bob))).status == 404
    assert (await api.get(f"/api/v1/statuses/{body['id']}")).status == 404


async def test_idempotency_key_returns_the_same_post(api: Client, sign_in: SignIn) -> None:
    # Given alice posts twice with the same Idempotency-Key
    token = await sign_in("alice")
    headers = {**auth(token), "Idempotency-Key": "retry-1"}
    first = await (await api.post("/api/v1/statuses", data={"status": "once"}, headers=headers)).json()
    second = await (await api.post("/api/v1/statuses", data={"status": "once"}, headers=headers)).json()
    other = await (await api.post("/api/v1/statuses", data={"status": "once"}, headers={**auth(token), "Idempotency-Key": "retry-2"})).json()
    # Then the retry gets the first post, and another key makes another post
    assert first["id"] == second["id"] != other["id"]
    home = await (await api.get("/api/v1/timelines/home", headers=auth(token))).json()
    assert [s["id"] for s in home].count(first["id"]) == 1 and len(home) == 2


async def test_delete_returns_the_source(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    body = await (await api.post("/api/v1/statuses", data={"status": "oops"}, headers=auth(alice))).json()
    assert (await api.delete(f"/api/v1/statuses/{body['id']}", headers=auth(bob))).status == 404
    resp = await api.delete(f"/api/v1/statuses/{body['id']}", headers=auth(alice))
    assert resp.status == 200 and (await resp.json())["text"] == "oops"
    assert (await api.get(f"/api/v1/statuses/{body['id']}", headers=auth(alice))).status == 404


async def test_favourite_and_reblog(api: Client, sign_in: SignIn) -> None:
    # Given a public post of alice
    alice, bob = await sign_in("alice"), await sign_in("bob")
    post = await (await api.post("/api/v1/statuses", data={"status": "boost me"}, headers=auth(alice))).json()
    sid = post["id"]
    # When bob favourites and reblogs it
    fav = await (await api.post(f"/api/v1/statuses/{sid}/favourite", headers=auth(bob))).json()
    boost = await (await api.post(f"/api/v1/statuses/{sid}/reblog", headers=auth(bob))).json()
    shown = await (await api.get(f"/api/v1/statuses/{sid}", headers=auth(bob))).json()
    assert (shown["favourited"], shown["reblogged"]) == (True, True)
    # Then the counts and flags say so
    assert fav["favourited"] is True and fav["favourites_count"] == 1
    assert boost["reblog"]["id"] == sid and boost["reblog"]["reblogged"] is True
    assert boost["account"]["username"] == "bob"
    # And alice is notified of both, in Mastodon's words
    notes = await (await api.get("/api/v1/notifications", headers=auth(alice))).json()
    assert sorted(n["type"] for n in notes) == ["favourite", "reblog"]
    only = await (await api.get("/api/v1/notifications", params={"types[]": "reblog"}, headers=auth(alice))).json()
    assert [n["type"] for n in only] == ["reblog"] and only[0]["status"]["id"] == sid
    # And undoing both brings the counts back
    unfav = await (await api.post(f"/api/v1/statuses/{sid}/unfavourite", headers=auth(bob))).json()
    unboost = await (await api.post(f"/api/v1/statuses/{sid}/unreblog", headers=auth(bob))).json()
    assert unfav["favourites_count"] == 0 and unboost["reblogs_count"] == 0
    assert unfav["favourited"] is False and unboost["reblogged"] is False
    seen = await (await api.get(f"/api/v1/statuses/{sid}", headers=auth(bob))).json()
    assert (seen["favourited"], seen["reblogged"]) == (False, False)


async def test_content_rules_keep_a_public_post_from_anonymous_readers(api: Client, sign_in: SignIn) -> None:
    # Given alice posts publicly about something the node's content rule keeps inside
    token = await sign_in("alice")
    posted = await (await api.post("/api/v1/statuses", data={"status": "the Confidential plan", "visibility": "public"},
                                   headers=auth(token))).json()
    harmless = await (await api.post("/api/v1/statuses", data={"status": "a harmless note", "visibility": "public"},
                                     headers=auth(token))).json()
    # Then an anonymous reader (the open web) gets neither the post nor it in public timelines
    assert (await api.get(f"/api/v1/statuses/{posted['id']}")).status == 404
    listed = [s["id"] for s in await (await api.get("/api/v1/timelines/public", params={"local": "true"})).json()]
    assert listed == [harmless["id"]]
    # While a signed-in colleague sees both
    assert (await api.get(f"/api/v1/statuses/{posted['id']}", headers=auth(token))).status == 200
