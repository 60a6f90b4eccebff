"""`auth.password_sign_in = false`: every password door refuses with a clear reason — the
web UI's form, the OAuth authorize form and the password grant — except for the break-glass
admin (an admin with a password and no single-sign-on link), unless
`auth.admin_password_sign_in = false` says otherwise.
See docs/identity.md ("Single sign-on (OpenID Connect)")."""

from __future__ import annotations

from typing import Any

import aiohttp

from storage.db import Database
from tests.factory import PASSWORD, LocalNode, running_node
from tests.sso.browser import browser
from tests.sso.fake_idp import fake_idp, use_provider


async def password_grant(node: LocalNode, username: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{node.url}/api/v1/apps", data={
                "client_name": "app", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"}) as r:
            app = await r.json()
        async with http.post(f"{node.url}/oauth/token", data={
                "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
                "username": username, "password": PASSWORD, "scope": "read"}) as r:
            return r.status, await r.json()


async def test_the_password_grant_is_refused_with_a_clear_error(db: Database) -> None:
    # Given a node with single sign-on and password sign-in off, a password user and a break-glass admin
    async with fake_idp() as idp, running_node(db, instance=True, users=("bob",), admins=("root",),
                                               password_sign_in=False) as node:
        use_provider(node.ctx, idp.issuer)
        # When Bob's app asks for a token with his (right) password
        status, body = await password_grant(node, "bob")
        # Then it is refused, saying why and what to do
        assert status == 400 and body["error"] == "invalid_grant"
        assert body["error_description"] == "password sign-in is turned off on this node: sign in with the " \
            "company's single sign-on"
        # And the break-glass admin still gets one
        status, body = await password_grant(node, "root")
        assert status == 200 and body["access_token"]
        # Unless the node says admins sign in through the provider too
        node.ctx.admin_password_sign_in = False
        status, body = await password_grant(node, "root")
        assert status == 400 and "turned off" in body["error_description"]


async def test_the_web_form_and_the_authorize_form_refuse_passwords(db: Database) -> None:
    async with fake_idp() as idp, running_node(db, instance=True, users=("bob",), password_sign_in=False) as node, \
            browser(node.url) as b:
        use_provider(node.ctx, idp.issuer)
        # The sign-in page leads with the provider; the password form is folded as the admins' way in
        page = await b.get(f"{node.url}/signin")
        assert "Sign in with Acme ID" in page.text and "Administrator sign-in" in page.text
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        async with b.http.post(f"{node.url}/signin", data={"csrf": csrf, "login": "bob", "password": PASSWORD}) as r:
            text = await r.text()
            assert r.status == 403 and "password sign-in is turned off" in text
        assert not b.signed_in()
        # The OAuth authorize form too
        async with b.http.post(f"{node.url}/api/v1/apps", data={
                "client_name": "app", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"}) as r:
            app = await r.json()
        fields = {"client_id": app["client_id"], "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", "scope": "read",
                  "response_type": "code"}
        async with b.http.get(f"{node.url}/oauth/authorize", params=fields) as r:
            shown = await r.text()
        assert "Sign in with Acme ID" in shown and "Administrator sign-in" in shown
        async with b.http.post(f"{node.url}/oauth/authorize",
                               data={**fields, "username": "bob", "password": PASSWORD}) as r:
            assert r.status == 403 and "password sign-in is turned off" in await r.text()


async def test_a_signed_in_browser_confirms_an_app_only_with_its_form_token(db: Database) -> None:
    # Given Alice signed in to the web UI through the provider
    async with fake_idp() as idp, running_node(db, instance=True) as node, browser(node.url) as b:
        use_provider(node.ctx, idp.issuer)
        assert (await b.sso()).status == 200
        async with b.http.post(f"{node.url}/api/v1/apps", data={
                "client_name": "app", "redirect_uris": "https://app.example/cb", "scopes": "read"}) as r:
            app = await r.json()
        fields = {"client_id": app["client_id"], "redirect_uri": "https://app.example/cb", "scope": "read"}
        # When a form from elsewhere posts a consent without the session's form token
        async with b.http.post(f"{node.url}/oauth/authorize", data={**fields, "consent": "session", "csrf": "x"},
                               allow_redirects=False) as r:
            assert r.status == 403 and "expired" in await r.text()
        # And an unregistered redirect_uri is refused even for a signed-in browser
        async with b.http.get(f"{node.url}/oauth/authorize", params={**fields, "redirect_uri": "https://evil.example/"},
                              allow_redirects=False) as r:
            assert r.status == 400 and "redirect_uri is not one the app registered" in await r.text()
