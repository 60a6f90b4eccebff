"""Clients of a node under test that come from a chosen loopback address (127.0.0.2,
127.0.0.3, … are all this machine on Linux), so a test can be several people, or an attacker
and a colleague, as the node's limits see them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE
from tests.security.conftest import Answer


def session_from(source: str, base_url: str | None = None) -> aiohttp.ClientSession:
    """An HTTP client whose connections leave from `source` (cookies kept, even for an IP host)."""
    return aiohttp.ClientSession(base_url=base_url, connector=aiohttp.TCPConnector(local_addr=(source, 0)),
                                 cookie_jar=aiohttp.CookieJar(unsafe=True))


async def new_app(base_url: str, scopes: str = "read write") -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(
        f"{base_url}/api/v1/apps",
        data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": scopes},
    ) as r:
        assert r.status == 200, await r.text()
        return dict(await r.json())


async def password_grant(base_url: str, app: Mapping[str, Any], username: str, password: str, *,
                         source: str, scope: str = "read write") -> Answer:
    """The OAuth password grant, asked from `source`."""
    async with session_from(source) as http, http.post(f"{base_url}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": username, "password": password, "scope": scope,
    }) as r:
        return Answer(r.status, await r.text(), dict(r.headers))


async def authorize_form(base_url: str, app: Mapping[str, Any], username: str, password: str, *,
                         source: str) -> Answer:
    """The OAuth authorize form (username and password on the consent page), from `source`."""
    async with session_from(source) as http, http.post(f"{base_url}/oauth/authorize", data={
        "client_id": app["client_id"], "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", "response_type": "code",
        "scope": "read", "username": username, "password": password,
    }) as r:
        return Answer(r.status, await r.text(), dict(r.headers))


async def ui_sign_in(base_url: str, login: str, password: str, *, source: str) -> Answer:
    """The web UI's sign-in form, as a browser at `source` fills it (form token included)."""
    async with session_from(source) as http:
        async with http.get(f"{base_url}/signin") as r:
            token = re.search(r'name="csrf" value="([^"]+)"', await r.text())
            assert token is not None, (r.status, (await r.text())[:500])
        async with http.post(f"{base_url}/signin", data={"csrf": token.group(1), "login": login, "password": password},
                             allow_redirects=False) as r:
            return Answer(r.status, await r.text(), dict(r.headers))


async def post_signed_from(source: str, inbox: str, activity: Mapping[str, object] | bytes, key_id: str,
                           key: rsa.RSAPrivateKey, *, url: str | None = None,
                           extra: Mapping[str, str] | None = None) -> Answer:
    """POST `activity` to `inbox` from `source`, signed with `key` under `key_id`; `url` is the
    address the signature names when it differs from where the request goes (another process
    of the same node)."""
    body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
    headers = sign_request("POST", url or inbox, {"Content-Type": AP_CONTENT_TYPE}, body, key_id, key)
    headers.update(extra or {})
    async with session_from(source) as http, http.post(inbox, data=body, headers=headers) as r:
        return Answer(r.status, await r.text(), dict(r.headers))
