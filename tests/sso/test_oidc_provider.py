"""Single sign-on against a real OpenID provider: oidc-provider (npm, a certified OpenID
Connect implementation) on Node 22 over loopback, through its own login page — the account made
just in time from its claims, its group claim giving a role at the next sign-in, its keys
rolled, and a Mastodon app (Mastodon.py's authorization-code flow) signed in through it.
docs/identity.md ("Single sign-on (OpenID Connect)")."""

from __future__ import annotations

import asyncio
import re
import secrets
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import mastodon
from yarl import URL

from storage.db import Database
from tests.factory import running_node
from tests.sso.browser import Browser, Landed, browser, local_accounts
from tests.sso.fake_idp import ADMINS, use_provider
from tests.sso.real_provider import real_provider

APP_REDIRECT = "http://app.example/callback"  # never contacted: the test stops at the redirect
SCOPES = ["read", "write"]


async def log_in_at_provider(b: Browser, url: str, login: str) -> Landed:
    """Open `url`, which leads to the provider's login page; sign in there as `login` and follow
    the redirects back, as a person's browser would."""
    async with b.http.get(url) as r:
        page, at = await r.text(), str(r.url)
    assert 'name="login"' in page, page[:500]
    action = re.search(r'<form[^>]*action="([^"]+)"', page)
    assert action is not None
    async with b.http.post(urljoin(at, action.group(1)),
                           data={"prompt": "login", "login": login, "password": "any"}) as r:
        return Landed(r.status, str(r.url), await r.text())


async def test_a_person_signs_in_through_the_real_provider(db: Database, tmp_path: Path) -> None:
    async with running_node(db, instance=True) as node, real_provider(tmp_path, node.url) as provider:
        use_provider(node.ctx, provider.issuer, scopes=("openid", "profile", "email", "groups"))
        # Given Alice at the provider, in no staff group
        async with browser(node.url) as b:
            # When she clicks "Sign in with Acme ID" and signs in on the provider's page
            landed = await log_in_at_provider(b, f"{node.url}/auth/oidc?next=/notifications", "alice")
            # Then she is back on the node, signed in where she was going
            assert landed.status == 200 and landed.url == f"{node.url}/notifications", landed.text[:800]
            assert b.signed_in()
        [alice] = await local_accounts(node.ctx)
        assert (alice.username, alice.display_name, alice.email, alice.role) == \
            ("alice", "Alice Liddell", "alice@acme.example", "user")
        # When the company puts her in the admins' group and rolls its signing key
        provider.users["alice"]["groups"] = [ADMINS]
        provider.rotate("second")
        async with browser(node.url) as b:
            landed = await log_in_at_provider(b, f"{node.url}/auth/oidc", "alice")
            assert landed.status == 200 and b.signed_in(), landed.text[:800]
        # Then the same account is an admin now (the group claim re-read at sign-in)
        [again] = await local_accounts(node.ctx)
        assert (again.id, again.role) == (alice.id, "admin")


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.fields[str(a["name"])] = a.get("value") or ""
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))


async def test_a_mastodon_app_signs_in_through_single_sign_on(db: Database, tmp_path: Path) -> None:
    async with running_node(db, instance=True) as node, real_provider(tmp_path, node.url) as provider:
        use_provider(node.ctx, provider.issuer)
        # Given an app registered by Mastodon.py, and the authorize URL it builds
        client_id, client_secret = await asyncio.to_thread(
            mastodon.Mastodon.create_app, "sso app", scopes=SCOPES, redirect_uris=APP_REDIRECT, api_base_url=node.url)
        app = await asyncio.to_thread(mastodon.Mastodon, client_id=client_id, client_secret=client_secret,
                                      api_base_url=node.url, version_check_mode="none")
        state = secrets.token_urlsafe(12)
        # (Mastodon.py is synchronous and reads the node's OAuth metadata: off the node's event loop)
        url = await asyncio.to_thread(app.auth_request_url, redirect_uris=APP_REDIRECT, scopes=SCOPES, state=state,
                                      allow_http=True)
        async with browser(node.url) as b:
            # When the person opens it: the authorize page offers the company's sign-in
            page = await b.get(url)
            inputs = _Inputs()
            inputs.feed(page.text)
            [sso] = [link for link in inputs.links if link.startswith("/auth/oidc")]
            assert "Sign in with Acme ID" in page.text
            # and they sign in at the provider, which sends them back to the authorize page
            back = await log_in_at_provider(b, node.url + sso, "alice")
            assert back.status == 200 and "/oauth/authorize" in back.url and "@alice" in back.text, back.text[:800]
            confirm = _Inputs()
            confirm.feed(back.text)
            # where one click authorizes the app
            async with b.http.post(f"{node.url}/oauth/authorize", data=confirm.fields, allow_redirects=False) as r:
                assert r.status == 302, await r.text()
                to_app = URL(r.headers["Location"])
        # Then the app gets its code and state back, and Mastodon.py's token is Alice's
        assert str(to_app.with_query(None)) == APP_REDIRECT and to_app.query["state"] == state
        await asyncio.to_thread(app.log_in, code=to_app.query["code"], redirect_uri=APP_REDIRECT, scopes=SCOPES,
                                allow_http=True)
        me = await asyncio.to_thread(app.account_verify_credentials)
        assert me.username == "alice"
