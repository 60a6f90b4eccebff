"""`POST /api/v1/reports` over HTTP (web/api/reports.py): a local account reported with its
posts the reporter may see, the Report entity, and hostile input answered with Mastodon's
404 or 422 with nothing written (both engines)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from node import accounts, moderation
from storage.errors import NotFound
from tests.api.conftest import SignIn, auth
from web.keys import CTX

Client = TestClient[Any, Any]


async def _post(api: Client, token: str, text: str, visibility: str = "public") -> dict[str, Any]:
    resp = await api.post("/api/v1/statuses", data={"status": text, "visibility": visibility}, headers=auth(token))
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def _queue(api: Client) -> list[moderation.ReportView]:
    ctx = api.server.app[CTX]
    try:
        mod = await accounts.get_local(ctx, "mod")
    except NotFound:  # made on the first look
        mod = await accounts.create_user(ctx, "mod", "mod-password-1", role="moderator")
    return await moderation.list_reports(ctx, mod, resolved=False)


async def test_a_report_of_a_local_account_is_kept_and_answered_as_mastodons_entity(api: Client, sign_in: SignIn) -> None:
    # Given bob posted, and alice may see it
    alice, bob = await sign_in("alice"), await sign_in("bob")
    status = await _post(api, bob, "rude words")
    # When alice reports bob with the post (form-encoded, as most apps send it)
    resp = await api.post("/api/v1/reports", data=[("account_id", status["account"]["id"]), ("status_ids[]", status["id"]),
                                                   ("comment", "rude"), ("category", "violation"), ("forward", "true")],
                          headers=auth(alice))
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    # Then the entity is Mastodon's; a local account is never forwarded
    assert report["status_ids"] == [status["id"]] and report["comment"] == "rude" and report["category"] == "violation"
    assert report["forwarded"] is False and report["action_taken"] is False
    assert report["target_account"]["id"] == status["account"]["id"] and report["rule_ids"] is None
    # And the moderators have it
    [view] = await _queue(api)
    assert view.reporter.username == "alice" and [p.id for p in view.posts] == [int(status["id"])]


async def test_hostile_reports_get_404_or_422_and_nothing_is_kept(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    bobs = await _post(api, bob, "hello")
    alices = await _post(api, alice, "mine")
    private = await _post(api, bob, "for my followers", visibility="private")
    bob_id = bobs["account"]["id"]
    cases: list[tuple[Any, int]] = [
        ({"account_id": "99999999999"}, 404),  # unknown account
        ({}, 404),  # no account at all
        ({"account_id": "bob"}, 404),  # not an id
        ({"account_id": bob_id, "status_ids": [alices["id"]]}, 404),  # another's status
        ({"account_id": bob_id, "status_ids": [private["id"]]}, 404),  # one alice may not see
        ({"account_id": bob_id, "status_ids": ["not-an-id"]}, 404),
        ({"account_id": bob_id, "status_ids": [str(i) for i in range(10_000)]}, 422),  # 10k ids
        ({"account_id": bob_id, "comment": "x" * 100_000}, 422),  # a huge comment
        ({"account_id": bob_id, "category": "nonsense"}, 422),
        ({"account_id": bob_id, "rule_ids": ["1"]}, 422),
        ({"account_id": bob_id, "forward": "perhaps"}, 422),
        ({"account_id": alices["account"]["id"]}, 422),  # oneself
    ]
    for body, status in cases:
        resp = await api.post("/api/v1/reports", json=body, headers=auth(alice))
        assert resp.status == status, (body if len(str(body)) < 200 else list(body), await resp.text())
        assert "error" in await resp.json()
    assert await _queue(api) == []


async def test_a_report_needs_the_write_reports_scope(api: Client, sign_in: SignIn) -> None:
    reader, bob = await sign_in("alice", scope="read"), await sign_in("bob")
    bobs = await _post(api, bob, "hello")
    resp = await api.post("/api/v1/reports", json={"account_id": bobs["account"]["id"]}, headers=auth(reader))
    assert resp.status == 403
    assert (await api.post("/api/v1/reports", json={"account_id": bobs["account"]["id"]})).status == 401
    writer = await sign_in("alice", scope="write:reports")
    assert (await api.post("/api/v1/reports", json={"account_id": bobs["account"]["id"]}, headers=auth(writer))).status == 200
