"""Polls through the client API (as Mastodon's): created with a status (form and JSON), read in
the status and at /api/v1/polls/:id, voted once, closed by the closer; and what is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from node.context import NodeContext
from node.poll_closer import close_due
from storage.models import utcnow
from tests.api.conftest import SignIn, auth
from web.app import CTX

Client = TestClient[Any, Any]


def _ctx(api: Client) -> NodeContext:
    return api.server.app[CTX]


async def _poll(api: Client, token: str, options: list[str], **extra: Any) -> dict[str, Any]:
    body = {"status": "lunch?", "poll": {"options": options, "expires_in": 3600, **extra}}
    resp = await api.post("/api/v1/statuses", json=body, headers=auth(token))
    status: dict[str, Any] = await resp.json()
    assert resp.status == 200, status
    return status


async def test_a_poll_made_with_form_fields_reads_back_as_mastodons_entity(api: Client, sign_in: SignIn) -> None:
    # Given alice signed in
    token = await sign_in("alice")
    # When she posts a poll as Mastodon apps send it (form fields)
    data = [("status", "Where to?"), ("poll[options][]", "Pizza"), ("poll[options][]", "Sushi"),
            ("poll[expires_in]", "600"), ("poll[multiple]", "false")]
    resp = await api.post("/api/v1/statuses", data=data, headers=auth(token))
    status = await resp.json()
    # Then the status carries the poll, nobody has voted yet
    assert resp.status == 200, status
    poll = status["poll"]
    assert poll["id"] == status["id"] and poll["multiple"] is False and poll["expired"] is False
    assert [(o["title"], o["votes_count"]) for o in poll["options"]] == [("Pizza", 0), ("Sushi", 0)]
    assert (poll["votes_count"], poll["voters_count"], poll["voted"], poll["own_votes"]) == (0, 0, False, [])
    assert poll["expires_at"] is not None
    # And GET /api/v1/polls/:id answers the same poll
    again = await (await api.get(f"/api/v1/polls/{poll['id']}", headers=auth(token))).json()
    assert again["options"] == poll["options"]


async def test_votes_are_counted_once_per_person(api: Client, sign_in: SignIn) -> None:
    # Given alice's multiple-choice poll (JSON body)
    alice, bob = await sign_in("alice"), await sign_in("bob")
    status = await _poll(api, alice, ["Red", "Green", "Blue"], multiple=True)
    url = f"/api/v1/polls/{status['id']}/votes"
    # When bob votes for two options
    resp = await api.post(url, data=[("choices[]", "0"), ("choices[]", "2")], headers=auth(bob))
    poll = await resp.json()
    # Then both are counted, one voter, his own votes said
    assert resp.status == 200, poll
    assert [o["votes_count"] for o in poll["options"]] == [1, 0, 1]
    assert (poll["votes_count"], poll["voters_count"], poll["voted"], poll["own_votes"]) == (2, 1, True, [0, 2])
    # And alice (the author: Mastodon lets her) votes too, as JSON
    resp = await api.post(url, json={"choices": [1]}, headers=auth(alice))
    assert resp.status == 200 and (await resp.json())["voters_count"] == 2
    # When bob votes again
    again = await api.post(url, data={"choices[]": "1"}, headers=auth(bob))
    # Then it is refused with the reason, and nothing changed
    assert again.status == 422 and "already voted" in (await again.json())["error"]
    shown = await (await api.get(f"/api/v1/statuses/{status['id']}", headers=auth(bob))).json()
    assert [o["votes_count"] for o in shown["poll"]["options"]] == [1, 1, 1]
    assert shown["poll"]["own_votes"] == [0, 2]


async def test_closed_poll_refuses_votes_and_notifies(api: Client, sign_in: SignIn) -> None:
    # Given alice's poll that bob voted on
    alice, bob = await sign_in("alice"), await sign_in("bob")
    status = await _poll(api, alice, ["Yes", "No"])
    assert (await api.post(f"/api/v1/polls/{status['id']}/votes", data={"choices[]": "0"}, headers=auth(bob))).status == 200
    # When its time is past and the closer runs
    closed = await close_due(_ctx(api), now=utcnow() + timedelta(hours=2))
    assert closed == 1
    # Then it reads as expired, with its results
    poll = await (await api.get(f"/api/v1/polls/{status['id']}", headers=auth(bob))).json()
    assert poll["expired"] is True and [o["votes_count"] for o in poll["options"]] == [1, 0]
    # And a vote now is refused
    late = await api.post(f"/api/v1/polls/{status['id']}/votes", data={"choices[]": "1"}, headers=auth(alice))
    assert late.status == 422 and "ended" in (await late.json())["error"]
    # And both the voter and the author have Mastodon's `poll` notification
    for token in (alice, bob):
        notes = await (await api.get("/api/v1/notifications", headers=auth(token))).json()
        assert [(n["type"], n["status"]["id"]) for n in notes if n["type"] == "poll"] == [("poll", status["id"])]
    # And closing again closes nothing
    assert await close_due(_ctx(api), now=utcnow() + timedelta(hours=3)) == 0


async def test_instance_says_the_limits(api: Client) -> None:
    body = await (await api.get("/api/v2/instance")).json()
    polls = body["configuration"]["polls"]
    assert polls == {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300,
                     "max_expiration": 2_629_746}
