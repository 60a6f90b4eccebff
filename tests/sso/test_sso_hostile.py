"""Hostile single sign-on: each ID token or callback a provider, a network attacker or another
site could forge is refused with a 4xx and its reason, nobody is signed in and nothing is made
(no account, no link). The tokens are forged by a fake provider over real HTTP
(tests/sso/fake_idp.py) with keys of its own. SECURITY.md ("Single sign-on") lists these."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import select

from federation.gate import ContactRefused, Purpose
from storage.db import Database
from storage.models import AuditEntry
from tests.factory import LocalNode, running_node
from tests.sso.browser import Browser, browser, links, local_accounts
from tests.sso.fake_idp import CLIENT_SECRET, FakeIdP, fake_idp, new_key, unsigned, use_provider


@asynccontextmanager
async def sso_node(db: Database) -> AsyncIterator[tuple[FakeIdP, LocalNode, Browser]]:
    async with fake_idp() as idp, running_node(db, instance=True) as node, browser(node.url) as b:
        use_provider(node.ctx, idp.issuer)
        yield idp, node, b


async def assert_refused(node: LocalNode, b: Browser, status: int, reason: str) -> None:
    landed = await b.sso()
    assert landed.status == status, landed.text[:800]
    assert reason in landed.text, landed.text[:800]
    assert not b.signed_in()
    assert await local_accounts(node.ctx) == [] and await links(node.ctx) == 0
    # and the refusal is in the audit trail with its reason
    async with node.ctx.db.reader() as s:
        audited = list(await s.scalars(select(AuditEntry.reason).where(AuditEntry.rule == "account:sso-refused")))
    assert any(reason in r for r in audited), audited


def forged(change: dict[str, Any]) -> Any:
    def tamper(claims: dict[str, Any]) -> None:
        claims.update(change)
    return tamper


HOSTILE_CLAIMS = {
    "wrong audience": ({"aud": "someone-else"}, "meant for another client"),
    "audience list with another azp": ({"aud": ["atrium-test", "other"], "azp": "other"}, "authorized party"),
    "another issuer": ({"iss": "https://evil.example"}, "is not this node's identity provider"),
    "expired": ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}, "has expired"),
    "issued in the future": ({"iat": int(time.time()) + 3600}, "in the future"),
    "no nonce": ({"nonce": None}, "nonce is not this sign-in's"),
}


@pytest.mark.parametrize("case", list(HOSTILE_CLAIMS))
async def test_claims_that_do_not_hold_are_refused(db: Database, case: str) -> None:
    change, reason = HOSTILE_CLAIMS[case]
    async with sso_node(db) as (idp, node, b):
        # Given a provider whose signed ID token says something that must not be believed
        idp.tamper = forged(change)
        # Then the sign-in is refused with its reason, and nothing is made
        await assert_refused(node, b, 400, reason)


async def test_a_token_signed_by_another_key_under_the_providers_key_id(db: Database) -> None:
    async with sso_node(db) as (idp, node, b):
        impostor = new_key(idp.signing_key.kid or "k1")  # same kid, not the published key
        idp.tamper = lambda claims: idp.sign(claims, impostor)
        await assert_refused(node, b, 400, "signature is not valid")


async def test_a_token_signed_by_a_key_the_provider_does_not_publish(db: Database) -> None:
    async with sso_node(db) as (idp, node, b):
        idp.tamper = lambda claims: idp.sign(claims, new_key("not-published"))
        await assert_refused(node, b, 400, "does not publish")
        # The unknown key id made the node re-read the keys once (a rotation would be found)
        assert idp.hits.count("/jwks") == 2


async def test_alg_none_is_refused(db: Database) -> None:
    async with sso_node(db) as (idp, node, b):
        idp.tamper = unsigned
        await assert_refused(node, b, 400, "algorithm 'none' is not accepted")


async def test_hmac_with_the_client_secret_is_refused(db: Database) -> None:
    # Anyone holding the client secret (every node process) could forge such a token.
    async with sso_node(db) as (idp, node, b):
        idp.tamper = lambda claims: jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(CLIENT_SECRET))
        await assert_refused(node, b, 400, "algorithm 'HS256' is not accepted")


async def test_a_replayed_nonce_is_refused(db: Database) -> None:
    # Given Alice signed in once
    async with sso_node(db) as (idp, node, b):
        assert (await b.sso()).status == 200
        first_nonce = idp.nonces_seen[0]
        # When a later sign-in is answered with a token carrying the first sign-in's nonce
        idp.tamper = forged({"nonce": first_nonce, "sub": "someone-else", "preferred_username": "mallory"})
        async with browser(node.url) as other:
            landed = await other.sso()
        # Then it is refused, and only Alice's account exists
        assert landed.status == 400 and "nonce is not this sign-in's" in landed.text
        assert [a.username for a in await local_accounts(node.ctx)] == ["alice"]


async def test_a_replayed_state_is_refused(db: Database) -> None:
    async with sso_node(db) as (idp, node, b):
        # Given a callback the provider sent and the node took once
        callback = await b.callback_url()
        assert (await b.get(callback)).status == 200 and b.signed_in()
        # When the same callback (state and code) is sent again, from another browser or this one
        async with browser(node.url) as other:
            again = await other.get(callback)
        assert again.status == 400 and "already used or has expired" in again.text
        assert not other.signed_in()
        assert len(await local_accounts(node.ctx)) == 1


async def test_a_state_carried_to_another_browser_is_refused(db: Database) -> None:
    # Given a sign-in started in Mallory's browser, its callback link sent to Alice (login CSRF)
    async with sso_node(db) as (idp, node, mallory):
        callback = await mallory.callback_url()
        async with browser(node.url) as alice:
            landed = await alice.get(callback)
        assert landed.status == 400 and "started in another browser" in landed.text
        assert not alice.signed_in() and await local_accounts(node.ctx) == []


async def test_a_callback_with_a_made_up_state(db: Database) -> None:
    async with sso_node(db) as (idp, node, b):
        landed = await b.get(f"{node.url}/auth/oidc/callback?state=made-up&code=x")
        assert landed.status == 400 and "already used or has expired" in landed.text
        landed = await b.get(f"{node.url}/auth/oidc/callback")
        assert landed.status == 400


async def test_the_redirect_uri_is_fixed_whatever_the_request_says(db: Database) -> None:
    async with sso_node(db) as (idp, node, b):
        async with b.http.get(f"{node.url}/auth/oidc",
                              params={"next": "https://evil.example/", "redirect_uri": "https://evil.example/cb"},
                              allow_redirects=False) as r:
            sent = parse_qs(urlsplit(r.headers["Location"]).query)
        assert sent["redirect_uri"] == [f"{node.url}/auth/oidc/callback"]
        assert sent["code_challenge_method"] == ["S256"] and sent["nonce"] and sent["state"]
        assert "evil" not in r.headers["Location"]


async def test_key_rotation_is_followed(db: Database) -> None:
    async with sso_node(db) as (idp, node, b):
        # Given a sign-in with the first key (its keys now cached)
        assert (await b.sso()).status == 200
        # When the provider rolls to a new key
        idp.rotate("k2")
        async with browser(node.url) as again:
            # Then the next sign-in, signed with it, is accepted after one re-read of the keys
            assert (await again.sso()).status == 200 and again.signed_in()
        assert idp.hits.count("/jwks") == 2


async def test_the_identity_provider_purpose_reaches_no_other_host(db: Database) -> None:
    # The gate admits Purpose.IDENTITY_PROVIDER for the provider's hosts only, and audits the rest.
    async with sso_node(db) as (idp, node, b), fake_idp() as other:
        assert node.ctx.gate is not None
        with pytest.raises(ContactRefused):
            async with node.ctx.gate.request("GET", f"{other.issuer}/jwks", purpose=Purpose.IDENTITY_PROVIDER):
                pass
        assert other.hits == []
        # and the provider's host is no peer: the (closed) trust policy still refuses it for federation
        with pytest.raises(ContactRefused):
            async with node.ctx.gate.request("GET", f"{idp.issuer}/jwks", purpose=Purpose.ACTOR):
                pass
        assert idp.hits == []
        async with node.ctx.db.reader() as s:
            rules = list(await s.scalars(select(AuditEntry.rule).where(AuditEntry.decision == "refused")))
        assert "auth.oidc" in rules


async def test_a_node_without_single_sign_on(db: Database) -> None:
    async with running_node(db, instance=True) as node, browser(node.url) as b:
        landed = await b.get(f"{node.url}/auth/oidc")
        assert landed.status == 404 and "not set up" in landed.text
        assert "Sign in with" not in (await b.get(f"{node.url}/signin")).text
