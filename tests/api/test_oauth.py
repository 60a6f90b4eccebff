"""OAuth 2: app registration, the grants, scopes, revocation and void tokens."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from aiohttp.test_utils import TestClient

from node import accounts
from tests.api.conftest import ALL_SCOPES, PASSWORD, SignIn, auth, register_app
from web.keys import CTX

Client = TestClient[Any, Any]


async def test_an_app_registers_by_form_or_json(api: Client) -> None:
    # Given a form registration and a JSON one
    form = await register_app(api, website="https://app.example")
    resp = await api.post(
        "/api/v1/apps",
        json={"client_name": "json app", "redirect_uris": ["https://app.example/cb"], "scopes": "read write"},
    )
    # Then both get credentials, with their scopes and redirect URIs
    assert form["client_id"] and form["client_secret"] and form["website"] == "https://app.example"
    assert form["scopes"] == sorted(ALL_SCOPES.split())
    body = await resp.json()
    assert resp.status == 200 and body["redirect_uris"] == ["https://app.example/cb"]
    assert body["scopes"] == ["read", "write"]


async def test_registration_refuses_bad_input(api: Client) -> None:
    no_name = await api.post("/api/v1/apps", data={"redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})
    bad_scope = await api.post(
        "/api/v1/apps", data={"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "root"}
    )
    assert no_name.status == 422 and bad_scope.status == 400


async def test_password_grant_by_username_or_email(api: Client) -> None:
    # Given a registered app
    app = await register_app(api)
    for login in ("alice", "alice@eng.acme.test"):
        # When alice signs in with her username, then with her email
        resp = await api.post(
            "/oauth/token",
            data={
                "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
                "username": login, "password": PASSWORD, "scope": "read write",
            },
        )
        token = await resp.json()
        # Then she gets a bearer token that verifies as her
        assert resp.status == 200 and token["token_type"] == "Bearer" and token["scope"] == "read write"
        me = await api.get("/api/v1/accounts/verify_credentials", headers=auth(token["access_token"]))
        assert (await me.json())["username"] == "alice"


async def test_wrong_password_and_wrong_secret_are_refused(api: Client) -> None:
    app = await register_app(api)
    base = {"grant_type": "password", "client_id": app["client_id"], "username": "alice"}
    wrong_pw = await api.post("/oauth/token", data={**base, "client_secret": app["client_secret"], "password": "nope"})
    wrong_secret = await api.post("/oauth/token", data={**base, "client_secret": "nope", "password": PASSWORD})
    assert wrong_pw.status == 400 and (await wrong_pw.json())["error"] == "invalid_grant"
    assert wrong_secret.status == 401 and (await wrong_secret.json())["error"] == "invalid_client"


async def test_a_token_cannot_exceed_the_apps_scopes(api: Client) -> None:
    app = await register_app(api, scopes="read")
    resp = await api.post(
        "/oauth/token",
        data={
            "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
            "username": "alice", "password": PASSWORD, "scope": "read write",
        },
    )
    assert resp.status == 400 and (await resp.json())["error"] == "invalid_scope"


async def test_a_read_only_token_cannot_post(api: Client, sign_in: SignIn) -> None:
    # Given a token with only the read scope
    token = await sign_in("alice", "read")
    # When it posts, Then 403; and it still reads
    resp = await api.post("/api/v1/statuses", data={"status": "hello"}, headers=auth(token))
    assert resp.status == 403 and "scope" in (await resp.json())["error"]
    assert (await api.get("/api/v1/timelines/home", headers=auth(token))).status == 200


async def test_granular_scopes(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice", "write:statuses")
    assert (await api.post("/api/v1/statuses", data={"status": "hi"}, headers=auth(token))).status == 200
    assert (await api.get("/api/v1/timelines/home", headers=auth(token))).status == 403


async def test_no_or_bad_token_is_401(api: Client) -> None:
    assert (await api.get("/api/v1/accounts/verify_credentials")).status == 401
    bad = await api.get("/api/v1/accounts/verify_credentials", headers=auth("forged"))
    assert bad.status == 401


async def test_disabled_account_or_new_password_voids_tokens(api: Client, sign_in: SignIn) -> None:
    # Given tokens for alice and bob
    alice_token, bob_token = await sign_in("alice"), await sign_in("bob")
    ctx = api.app[CTX]  # type: ignore[index]
    # When alice is disabled and bob's password changes
    await accounts.disable(ctx, "alice")
    await accounts.set_password(ctx, "bob", "another long password")
    # Then both tokens are void
    for token in (alice_token, bob_token):
        resp = await api.get("/api/v1/accounts/verify_credentials", headers=auth(token))
        assert resp.status == 401
    # and enabling alice again does not revive the old token
    await accounts.enable(ctx, "alice")
    assert (await api.get("/api/v1/accounts/verify_credentials", headers=auth(alice_token))).status == 401


async def test_revoked_token_is_void(api: Client) -> None:
    app = await register_app(api)
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    resp = await api.post(
        "/oauth/token", data={**creds, "grant_type": "password", "username": "alice", "password": PASSWORD}
    )
    token = (await resp.json())["access_token"]
    assert (await api.post("/oauth/revoke", data={**creds, "token": token})).status == 200
    assert (await api.get("/api/v1/accounts/verify_credentials", headers=auth(token))).status == 401


async def test_refresh_token_rotates(api: Client) -> None:
    app = await register_app(api)
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    first = await (
        await api.post("/oauth/token", data={**creds, "grant_type": "password", "username": "bob", "password": PASSWORD})
    ).json()
    resp = await api.post("/oauth/token", data={**creds, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    second = await resp.json()
    assert resp.status == 200 and second["access_token"] != first["access_token"]
    assert (await api.get("/api/v1/accounts/verify_credentials", headers=auth(first["access_token"]))).status == 401
    assert (await api.get("/api/v1/accounts/verify_credentials", headers=auth(second["access_token"]))).status == 200
    again = await api.post("/oauth/token", data={**creds, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert again.status == 400


async def test_client_credentials_acts_for_the_app_only(api: Client) -> None:
    app = await register_app(api)
    resp = await api.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"]},
    )
    token = (await resp.json())["access_token"]
    assert (await api.get("/api/v1/instance", headers=auth(token))).status == 200
    assert (await api.get("/api/v1/accounts/verify_credentials", headers=auth(token))).status == 422


async def test_authorization_code_with_pkce(api: Client) -> None:
    # Given an app with a redirect URI, and a PKCE verifier
    app = await register_app(api, redirect_uris="https://app.example/cb")
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code", "client_id": app["client_id"], "redirect_uri": "https://app.example/cb",
        "scope": "read", "state": "xyz", "code_challenge": challenge, "code_challenge_method": "S256",
    }
    # When alice opens the consent page and signs in on it
    page = await api.get("/oauth/authorize", params=query)
    assert page.status == 200 and "test client" in await page.text()
    resp = await api.post("/oauth/authorize", data={**query, "username": "alice", "password": PASSWORD}, allow_redirects=False)
    # Then she is sent back with a code and the state
    assert resp.status == 302
    location = resp.headers["Location"]
    assert location.startswith("https://app.example/cb?") and "state=xyz" in location
    code = re.search(r"code=([^&]+)", location).group(1)  # type: ignore[union-attr]
    # And a public client exchanges it with the verifier alone, once
    exchange = {
        "grant_type": "authorization_code", "client_id": app["client_id"], "code": code,
        "redirect_uri": "https://app.example/cb", "code_verifier": verifier,
    }
    wrong = await api.post("/oauth/token", data={**exchange, "code_verifier": "w" * 64})
    assert wrong.status == 400
    page2 = await api.post("/oauth/authorize", data={**query, "username": "alice", "password": PASSWORD}, allow_redirects=False)
    code2 = re.search(r"code=([^&]+)", page2.headers["Location"]).group(1)  # type: ignore[union-attr]
    ok = await api.post("/oauth/token", data={**exchange, "code": code2})
    assert ok.status == 200 and (await ok.json())["scope"] == "read"
    reuse = await api.post("/oauth/token", data={**exchange, "code": code2})
    assert reuse.status == 400


async def test_out_of_band_code_is_shown_and_wrong_password_refused(api: Client) -> None:
    app = await register_app(api)
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": "urn:ietf:wg:oauth:2.0:oob"}
    bad = await api.post("/oauth/authorize", data={**query, "username": "alice", "password": "wrong"})
    assert bad.status == 401
    good = await api.post("/oauth/authorize", data={**query, "username": "alice", "password": PASSWORD})
    text = await good.text()
    code = re.search(r'readonly size=50 value="([^"]+)"', text).group(1)  # type: ignore[union-attr]
    resp = await api.post(
        "/oauth/token",
        data={**query, "grant_type": "authorization_code", "code": code, "client_secret": app["client_secret"]},
    )
    assert resp.status == 200


async def test_server_metadata(api: Client) -> None:
    body = await (await api.get("/.well-known/oauth-authorization-server")).json()
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["token_endpoint"].endswith("/oauth/token")
