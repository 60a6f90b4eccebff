"""Polls fed what no client should send: each refused with a 422 and its reason, nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.api.conftest import SignIn, auth

Client = TestClient[Any, Any]


async def _statuses(api: Client, token: str) -> int:
    me = await (await api.get("/api/v1/accounts/verify_credentials", headers=auth(token))).json()
    return len(await (await api.get(f"/api/v1/accounts/{me['id']}/statuses", headers=auth(token))).json())


@pytest.mark.parametrize(
    ("poll", "reason"),
    [
        ({"options": ["only one"], "expires_in": 600}, "at least 2"),
        ({"options": [f"o{i}" for i in range(10_000)], "expires_in": 600}, "at most 4 options"),
        ({"options": ["a", "x" * 51], "expires_in": 600}, "at most 50 characters"),
        ({"options": ["a", " "], "expires_in": 600}, "empty"),
        ({"options": ["same", "same"], "expires_in": 600}, "differ"),
        ({"options": ["a", "b"], "expires_in": 10}, "300 seconds"),
        ({"options": ["a", "b"], "expires_in": 99_999_999}, "a month"),
        ({"options": ["a", "b"], "expires_in": "soon"}, "number of seconds"),
        ({"options": ["a", "b"]}, "expires_in"),
        ({"options": [{"nested": 1}, "b"], "expires_in": 600}, "text"),
        ("a poll", "object"),
    ],
)
async def test_malformed_polls_are_refused(api: Client, sign_in: SignIn, poll: Any, reason: str) -> None:
    # Given alice signed in
    token = await sign_in("alice")
    # When she posts a poll that breaks a rule
    resp = await api.post("/api/v1/statuses", json={"status": "vote", "poll": poll}, headers=auth(token))
    # Then it is a 422 that says which rule, and no post was made
    body = await resp.json()
    assert resp.status == 422 and reason in body["error"], body
    assert await _statuses(api, token) == 0


async def test_ten_thousand_form_options_are_refused(api: Client, sign_in: SignIn) -> None:
    # Given alice signed in
    token = await sign_in("alice")
    # When her app sends 10,000 options as form fields
    data = [("status", "vote"), ("poll[expires_in]", "600")] + [("poll[options][]", f"o{i}") for i in range(10_000)]
    resp = await api.post("/api/v1/statuses", data=data, headers=auth(token))
    # Then the body is refused whole, before any of it is read into a post (its size alone)
    assert resp.status == 413, await resp.text()
    assert await _statuses(api, token) == 0
    # And 100 (a body of ordinary size) are a 422 that says the limit
    data = [("status", "vote"), ("poll[expires_in]", "600")] + [("poll[options][]", f"{i}") for i in range(100)]
    resp = await api.post("/api/v1/statuses", data=data, headers=auth(token))
    assert resp.status == 422 and "at most 4 options" in (await resp.json())["error"]


async def test_a_poll_with_media_or_scheduled_is_refused(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice")
    poll = {"options": ["a", "b"], "expires_in": 600}
    scheduled = await api.post("/api/v1/statuses", json={"status": "later", "poll": poll,
                                                          "scheduled_at": "2099-01-01T00:00:00Z"}, headers=auth(token))
    assert scheduled.status == 422 and "scheduled" in (await scheduled.json())["error"]
    with_media = await api.post("/api/v1/statuses", json={"status": "pic", "poll": poll, "media_ids": ["123"]},
                                headers=auth(token))
    assert with_media.status == 422


async def _poll(api: Client, token: str, **extra: Any) -> str:
    resp = await api.post("/api/v1/statuses", json={"status": "q", "poll": {"options": ["a", "b"], "expires_in": 600},
                                                     **extra}, headers=auth(token))
    assert resp.status == 200
    return str((await resp.json())["id"])


@pytest.mark.parametrize(
    ("choices", "reason"),
    [
        ([5], "no option 5"),
        ([-1], "no option -1"),
        ([0, 1], "one choice"),
        ([0, 0], "twice"),
        ([], "required"),
        (["zero"], "number"),
    ],
)
async def test_bad_choices_are_refused(api: Client, sign_in: SignIn, choices: list[Any], reason: str) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    poll_id = await _poll(api, alice)
    body: dict[str, Any] = {"choices": choices} if choices else {}
    resp = await api.post(f"/api/v1/polls/{poll_id}/votes", json=body, headers=auth(bob))
    assert resp.status == 422 and reason in (await resp.json())["error"]
    poll = await (await api.get(f"/api/v1/polls/{poll_id}", headers=auth(bob))).json()
    assert poll["votes_count"] == 0 and poll["voted"] is False


async def test_who_may_not_see_the_poll_may_not_vote(api: Client, sign_in: SignIn) -> None:
    # Given alice's poll to her followers only (bob does not follow her)
    alice, bob = await sign_in("alice"), await sign_in("bob")
    poll_id = await _poll(api, alice, visibility="private")
    # When bob votes, or reads it
    vote = await api.post(f"/api/v1/polls/{poll_id}/votes", json={"choices": [0]}, headers=auth(bob))
    read = await api.get(f"/api/v1/polls/{poll_id}", headers=auth(bob))
    # Then both are 404: its existence is not told
    assert (vote.status, read.status) == (404, 404)
    # And without a token the vote needs one
    anonymous = await api.post(f"/api/v1/polls/{poll_id}/votes", json={"choices": [0]})
    assert anonymous.status == 401
    # And a post without a poll has none to vote on
    plain = await (await api.post("/api/v1/statuses", json={"status": "no poll"}, headers=auth(alice))).json()
    assert plain["poll"] is None
    none = await api.post(f"/api/v1/polls/{plain['id']}/votes", json={"choices": [0]}, headers=auth(bob))
    assert none.status == 404


async def test_editing_a_poll_is_refused(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    poll_id = await _poll(api, alice)
    resp = await api.put(f"/api/v1/statuses/{poll_id}", json={"status": "q edited", "poll": {"options": ["c", "d"],
                                                                                              "expires_in": 600}},
                         headers=auth(alice))
    assert resp.status == 422 and "cannot be edited" in (await resp.json())["error"]
    text_only = await api.put(f"/api/v1/statuses/{poll_id}", json={"status": "q edited"}, headers=auth(alice))
    body = await text_only.json()
    assert text_only.status == 200 and [o["title"] for o in body["poll"]["options"]] == ["a", "b"]


async def test_the_open_web_reads_no_poll_a_content_rule_keeps_in(api: Client, sign_in: SignIn) -> None:
    # Given alice's public poll whose text the policy's content rule keeps inside the organisation
    alice = await sign_in("alice")
    resp = await api.post("/api/v1/statuses", json={"status": "confidential: pick a codename",
                                                     "poll": {"options": ["Kestrel", "Osprey"], "expires_in": 600}},
                          headers=auth(alice))
    poll_id = (await resp.json())["id"]
    # When someone without a token asks for the poll, or the post
    # Then both are 404, as for a post that does not exist; signed in, bob reads it
    assert (await api.get(f"/api/v1/polls/{poll_id}")).status == 404
    assert (await api.get(f"/api/v1/statuses/{poll_id}")).status == 404
    bob = await sign_in("bob")
    assert (await api.get(f"/api/v1/polls/{poll_id}", headers=auth(bob))).status == 200
