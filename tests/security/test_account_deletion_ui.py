"""Deleting one's own account from the settings, against hostile and careless requests (real
HTTP, a node in-process): no session, no form token, a wrong password, a missing second-factor
code, an account under legal hold — each refused with nothing changed; done right, the
session, the cookie and the client apps' tokens are void at once."""

from __future__ import annotations

import json

import aiohttp
import pytest

from node import accounts
from storage.models import LegalHold, utcnow
from tests.conftest import StartNode
from tests.factory import PASSWORD, LocalNode
from tests.security.clients import new_app, password_grant
from tests.security.test_second_factors import HOME, browser, enrol_totp


@pytest.fixture
async def node(start_node: StartNode) -> LocalNode:
    return await start_node(users=("alice", "bob", "carol"), admins=("root",), instance=True)


async def _still_there(node: LocalNode, username: str) -> bool:
    try:
        await accounts.get_local(node.ctx, username)
    except Exception:
        return False
    return True


async def test_careless_and_hostile_deletions_are_refused(node: LocalNode) -> None:
    # Given no session: the form sends to the sign-in page, the post is refused
    b = await browser(node, HOME)
    async with b.http:
        assert (await b.get("/settings/delete")).status == 303
        assert (await b.post("/settings/delete", password=PASSWORD)).status == 403
        # Given alice signed in with an authenticator app
        assert (await b.password("alice")).status == 303
        await enrol_totp(b)
        form = await b.get("/settings/delete")
        assert form.status == 200 and 'name="code"' in form.text
        # When the form is posted without its token (a cross-site request)
        async with b.http.post(b.base + "/settings/delete", data={"password": PASSWORD}, allow_redirects=False) as r:
            assert r.status == 403
        # When the password is wrong, or the second factor's code is missing or wrong
        wrong = await b.post("/settings/delete", password="not hers", code="000000")
        no_code = await b.post("/settings/delete", password=PASSWORD)
        bad_code = await b.post("/settings/delete", password=PASSWORD, code="12345-abcde")
        # Then each is refused with its reason, and she is still there, signed in
        assert wrong.status == 403 and "password is not right" in wrong.text
        assert no_code.status == 403 and "code is not right" in no_code.text
        assert bad_code.status == 403 and "code is not right" in bad_code.text
        assert await _still_there(node, "alice")
        assert (await b.get("/settings")).status == 200


async def test_an_account_under_hold_is_refused_from_the_settings(node: LocalNode) -> None:
    # Given bob, under a legal hold, signed in
    bob = await accounts.get_local(node.ctx, "bob")
    async with node.ctx.db.session() as s:
        s.add(LegalHold(case_name="case-7", account_id=bob.id, reason="", created_by="root", created_at=utcnow()))
    b = await browser(node, HOME)
    async with b.http:
        await b.password("bob")
        await b.get("/settings/delete")
        # When he deletes his account with his password
        refused = await b.post("/settings/delete", password=PASSWORD)
        # Then it is refused with the reason (not the case's name), and nothing changed
        assert refused.status == 409 and "under legal hold" in refused.text and "case-7" not in refused.text
        assert await _still_there(node, "bob")


async def test_a_deletion_voids_the_session_and_the_apps_tokens(node: LocalNode) -> None:
    # Given carol with a client app's token, signed in
    app = await new_app(node.ctx.base_url)
    token = json.loads((await password_grant(node.ctx.base_url, app, "carol", PASSWORD, source=HOME)).text)["access_token"]
    b = await browser(node, HOME)
    async with b.http:
        await b.password("carol")
        await b.get("/settings/delete")
        # When she deletes her account
        done = await b.post("/settings/delete", password=PASSWORD)
        # Then she lands on the goodbye page, signed out; the settings are closed to her
        assert done.status == 303 and done.headers["Location"] == "/goodbye"
        assert (await b.get("/goodbye")).status == 200
        assert (await b.get("/settings")).status == 303
    # And the app's token is void
    async with aiohttp.ClientSession() as http, http.get(
        f"{node.ctx.base_url}/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"}
    ) as r:
        assert r.status == 401
    assert not await _still_there(node, "carol")
