"""A suspension by this node's staff takes effect in the client API and in ActivityPub serving
at once: the account's posts, profile and tokens are gone; its actor says it is suspended."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from node import accounts, moderation
from tests.api.conftest import SignIn, auth
from web.keys import CTX

Client = TestClient[Any, Any]
AP = {"Accept": "application/activity+json"}


async def test_a_suspended_accounts_posts_profile_and_tokens_are_gone(api: Client, sign_in: SignIn) -> None:
    # Given alice posted, and bob can read the post
    ctx = api.server.app[CTX]
    alice_token, bob_token = await sign_in("alice"), await sign_in("bob")
    resp = await api.post("/api/v1/statuses", data={"status": "soon gone", "visibility": "public"}, headers=auth(alice_token))
    status = await resp.json()
    assert (await api.get(f"/api/v1/statuses/{status['id']}", headers=auth(bob_token))).status == 200
    # When a moderator suspends alice
    mod = await accounts.create_user(ctx, "mod", "mod-password-1", role="moderator")
    await moderation.moderate_account(ctx, mod, int(status["account"]["id"]), "suspend")
    # Then her post, her profile and her token are gone from the client API
    assert (await api.get(f"/api/v1/statuses/{status['id']}", headers=auth(bob_token))).status == 404
    assert (await api.get(f"/api/v1/accounts/{status['account']['id']}", headers=auth(bob_token))).status == 404
    public = await (await api.get("/api/v1/timelines/public", headers=auth(bob_token))).json()
    assert status["id"] not in [s["id"] for s in public]
    assert (await api.get("/api/v1/accounts/verify_credentials", headers=auth(alice_token))).status == 401
    # And from ActivityPub: the note is not served, the actor says it is suspended
    assert (await api.get(f"/users/alice/statuses/{status['id']}", headers=AP)).status == 404
    actor = await (await api.get("/users/alice", headers=AP)).json()
    assert actor["suspended"] is True
