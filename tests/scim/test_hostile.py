"""Hostile SCIM requests (web/scim.py): no token, a revoked token, a user name that is already
a local account's or a known remote person's handle, a 1 MB PATCH, malformed JSON, a PATCH
that fails half-way — each refused with a 4xx and an RFC 7644 error saying why, and nothing
created or changed. docs/identity.md ("Provisioning from the company directory (SCIM 2.0)")."""

from __future__ import annotations

import json

import pytest

from node import scim_tokens
from storage.models import Account, LegalHold
from tests.scim.conftest import ENTERPRISE, PATCH_OP, USER_SCHEMA, Scim

NEW = {"schemas": [USER_SCHEMA], "userName": "newcomer@acme.test", "displayName": "New Comer", "active": True}


def _is_scim_error(body: object, status: int) -> None:
    assert isinstance(body, dict) and body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status) and body["detail"], body


@pytest.mark.parametrize("method,path", [("GET", "/Users"), ("POST", "/Users"), ("GET", "/ServiceProviderConfig"),
                                         ("PATCH", "/Users/x"), ("DELETE", "/Groups/x"), ("GET", "/nothing")])
async def test_no_token_is_refused_everywhere_with_a_reason(scim: Scim, method: str, path: str) -> None:
    before = await scim.counts()
    # When a request comes without a token, or with a client-API or made-up one
    for token in (None, "atrium_scim_madeup", "not even a bearer"):
        answer = await scim.call(method, path, NEW, token=token)
        # Then it is refused with 401, a SCIM error and the bearer challenge, and nothing is made
        assert answer.status == 401, (token, answer.body)
        _is_scim_error(answer.body, 401)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await scim.call("GET", "/Users", token="x")).body["detail"] == "this bearer token is not a SCIM token of this node"
    assert await scim.counts() == before


async def test_a_revoked_token_is_refused_and_creates_nothing(scim: Scim) -> None:
    # Given the identity provider's token, revoked by the admin
    await scim_tokens.revoke_token(scim.node.ctx, "idp")
    before = await scim.counts()
    # When the provider sends a create with it
    answer = await scim.call("POST", "/Users", NEW)
    # Then it is refused, saying the token was revoked, and no account is made
    assert answer.status == 401 and answer.body["detail"] == "this SCIM token was revoked"
    assert await scim.counts() == before


@pytest.mark.parametrize("user_name", ["alice", "ALICE", "alice@corp.example"])
async def test_a_user_name_that_is_a_local_accounts_handle_is_refused(scim: Scim, user_name: str) -> None:
    # Given alice, a password account made on the command line
    before = await scim.counts()
    # When the directory provisions a userName whose handle is hers
    answer = await scim.call("POST", "/Users", {**NEW, "userName": user_name})
    # Then it is refused with 409 uniqueness and why, and her account is not taken over
    assert answer.status == 409 and answer.body["scimType"] == "uniqueness"
    assert "already exists on this node and was not provisioned" in answer.body["detail"]
    assert await scim.counts() == before
    alice = await scim.account("alice")
    assert alice.password_hash is not None and alice.department == ""


async def test_a_user_name_that_is_a_remote_persons_handle_is_refused(scim: Scim) -> None:
    # Given bob of another node, known here
    async with scim.node.ctx.db.session() as s:
        s.add(Account(username="bob", domain="sales.acme.test", display_name="Bob", actor_uri="https://sales.acme.test/users/bob",
                      credentials_version=0))
    before = await scim.counts()
    # When the directory provisions userName bob@sales.acme.test
    answer = await scim.call("POST", "/Users", {**NEW, "userName": "Bob@Sales.Acme.Test"})
    # Then it is refused with 409 and why, and nothing is made
    assert answer.status == 409 and answer.body["scimType"] == "uniqueness"
    assert "handle of a person of another node" in answer.body["detail"]
    assert await scim.counts() == before


async def test_a_user_name_provisioned_twice_is_refused(scim: Scim) -> None:
    assert (await scim.call("POST", "/Users", NEW)).status == 201
    before = await scim.counts()
    answer = await scim.call("POST", "/Users", {**NEW, "userName": "NEWCOMER@acme.test"})
    assert answer.status == 409 and "already provisioned" in answer.body["detail"]
    assert await scim.counts() == before


async def test_a_1_mb_patch_is_refused_and_changes_nothing(scim: Scim) -> None:
    # Given a provisioned user
    uid = (await scim.call("POST", "/Users", NEW)).body["id"]
    before = await scim.call("GET", f"/Users/{uid}")
    # When a PATCH of 1 MB arrives (a department of a million characters)
    big = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": f"{ENTERPRISE}:department", "value": "x" * 1024 * 1024}]}
    answer = await scim.call("PATCH", f"/Users/{uid}", big)
    # Then it is refused as too large, with the limit, and the user is as it was
    assert answer.status == 413, answer.body
    _is_scim_error(answer.body, 413)
    assert "larger than" in answer.body["detail"]
    after = await scim.call("GET", f"/Users/{uid}")
    assert after.body == before.body


async def test_a_1_mb_patch_sent_in_chunks_without_a_length_is_refused_too(scim: Scim) -> None:
    uid = (await scim.call("POST", "/Users", NEW)).body["id"]

    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"schemas": ["' + PATCH_OP.encode() + b'"], "Operations": [{"op": "replace", "path": "title", "value": "'
        for _ in range(64):
            yield b"y" * 16384
        yield b'"}]}'

    async with scim.http.patch(f"{scim.node.url}/scim/v2/Users/{uid}", data=chunks(),
                               headers={"Authorization": f"Bearer {scim.token}"}) as resp:
        assert resp.status == 413
        assert "larger than" in (await resp.json(content_type=None))["detail"]
    assert (await scim.account("newcomer")).title == ""


@pytest.mark.parametrize("raw,detail", [
    (b'{"schemas": [', "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b'["a list"]', "JSON object"),
])
async def test_malformed_json_is_invalid_syntax(scim: Scim, raw: bytes, detail: str) -> None:
    before = await scim.counts()
    answer = await scim.call("POST", "/Users", raw=raw)
    assert answer.status == 400 and answer.body["scimType"] == "invalidSyntax" and detail in answer.body["detail"]
    assert await scim.counts() == before


async def test_a_patch_that_fails_half_way_changes_nothing(scim: Scim) -> None:
    # Given a provisioned user
    uid = (await scim.call("POST", "/Users", NEW)).body["id"]
    before = await scim.call("GET", f"/Users/{uid}")
    # When a PATCH deactivates it and then names an attribute that does not exist
    answer = await scim.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "active", "value": False},
        {"op": "replace", "path": 'emails[type eq "work"]', "value": 42},
    ]})
    # Then it is refused with a reason, and the user is still active, as it was
    assert answer.status == 400 and answer.body["scimType"], answer.body
    assert (await scim.call("GET", f"/Users/{uid}")).body == before.body
    assert not (await scim.account("newcomer")).disabled


@pytest.mark.parametrize("payload", [
    {"schemas": [USER_SCHEMA], "displayName": "no user name"},
    {"schemas": [USER_SCHEMA], "userName": 42},
    {"schemas": [USER_SCHEMA], "userName": "x", "emails": [{"value": "not an address"}]},
])
async def test_an_invalid_user_is_refused_with_a_reason(scim: Scim, payload: dict[str, object]) -> None:
    before = await scim.counts()
    answer = await scim.call("POST", "/Users", payload)
    assert answer.status == 400 and answer.body["detail"], answer.body
    assert await scim.counts() == before


async def test_a_group_naming_an_unknown_member_is_refused_whole(scim: Scim) -> None:
    before = await scim.counts()
    answer = await scim.call("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                                 "displayName": "Admins", "members": [{"value": "nobody"}]})
    assert answer.status == 400 and "neither a provisioned user nor a group" in answer.body["detail"]
    assert await scim.counts() == before


async def test_a_filter_that_does_not_parse_is_invalid_filter(scim: Scim) -> None:
    answer = await scim.call("GET", "/Users", params={"filter": 'userName eq "unterminated'})
    assert answer.status == 400 and answer.body["scimType"] == "invalidFilter", answer.body
    assert json.dumps(answer.body).count("Traceback") == 0


async def test_deleting_a_user_under_legal_hold_is_refused_and_changes_nothing(scim: Scim) -> None:
    # Given a provisioned user whose account is held under a case
    uid = (await scim.call("POST", "/Users", NEW)).body["id"]
    account = await scim.account("newcomer")
    async with scim.node.ctx.db.session() as s:
        s.add(LegalHold(case_name="case-7", account_id=account.id, reason="litigation", created_by="legal"))
    # When the directory deletes the user
    answer = await scim.call("DELETE", f"/Users/{uid}")
    # Then it is refused with 409 and the case-less reason, and the user and account stay
    assert answer.status == 409 and answer.body["detail"] == "the account is under legal hold", answer.body
    assert "case-7" not in answer.body["detail"]
    assert (await scim.call("GET", f"/Users/{uid}")).status == 200
    assert (await scim.account("newcomer")).deleted_at is None
