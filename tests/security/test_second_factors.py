"""Second factors for password accounts (issue #17; docs/identity.md "Second factors"): a TOTP
app enrolled from the settings page, then asked for after the password at every door — the
web UI's sign-in, the OAuth authorize form; the password grant refuses such an account; codes
are spent once (TOTP per time step, recovery codes for good) and limited like passwords; a
role an admin names in `auth.require_second_factor_for` may do nothing before enrolling.

Real HTTP against a node in-process, clients at chosen loopback addresses (tests/security/clients.py).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest

from node import audit
from node.instance import create_instance
from node.settings import load
from storage.errors import Invalid
from storage.models import ROLES
from tests.conftest import StartNode
from tests.factory import PASSWORD, LocalNode
from tests.security.clients import authorize_form, new_app, password_grant, session_from
from tests.security.conftest import Answer

HOME, OFFICE, ATTACKER = "127.0.0.3", "127.0.0.4", "127.0.0.2"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def hidden(text: str, name: str) -> str:
    found = re.search(rf'name="?{name}"? value="([^"]+)"', text)
    assert found, text[:2000]
    return found.group(1)


@dataclass
class Browser:
    """A browser at one address: its cookies, and the form token of the page it last read."""

    http: aiohttp.ClientSession
    base: str
    csrf: str = ""

    async def get(self, path: str) -> Answer:
        async with self.http.get(self.base + path, allow_redirects=False) as r:
            answer = Answer(r.status, await r.text(), dict(r.headers))
        if m := CSRF.search(answer.text):
            self.csrf = m.group(1)
        return answer

    async def post(self, path: str, **form: str) -> Answer:
        async with self.http.post(self.base + path, data={"csrf": self.csrf, **form}, allow_redirects=False) as r:
            answer = Answer(r.status, await r.text(), dict(r.headers))
        if m := CSRF.search(answer.text):
            self.csrf = m.group(1)
        return answer

    async def password(self, login: str, password: str = PASSWORD) -> Answer:
        await self.get("/signin")
        return await self.post("/signin", login=login, password=password)


async def browser(node: LocalNode, source: str) -> Browser:
    return Browser(session_from(source), node.ctx.base_url)


def code_at(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(int(time.time()) + 30 * steps_ahead)


def wrong(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 5) % 10)


async def enrol_totp(b: Browser) -> tuple[str, list[str]]:
    """Add an authenticator app from the settings page: (its secret, the recovery codes shown)."""
    page = await b.get("/settings/security")
    assert page.status == 200, page.text[:500]
    begun = await b.post("/settings/security/totp")
    assert begun.status == 200 and 'alt="QR code for your authenticator app"' in begun.text, begun.text[:500]
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', begun.text)
    assert secret, begun.text
    shown = await b.post("/settings/security/totp/confirm", token=hidden(begun.text, "token"),
                         code=code_at(secret.group(1)), name="Phone")
    assert shown.status == 200, shown.text[:1000]
    return secret.group(1), re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", shown.text)


@pytest.fixture
async def node(start_node: StartNode) -> LocalNode:
    return await start_node(users=("alice", "bob"), admins=("root",), instance=True)


async def test_totp_enrolment_then_sign_in_asks_for_a_code_spent_once(node: LocalNode) -> None:
    # Given alice signed in, who adds an authenticator app
    b = await browser(node, HOME)
    async with b.http:
        assert (await b.password("alice")).status == 303
        secret, codes = await enrol_totp(b)
        # Then ten recovery codes are shown once, and the enrolment is audited
        assert len(set(codes)) == 10
        rules = [e.rule async for e in audit.entries(node.ctx.db)]
        assert "account:second-factor-enrolled" in rules
    # When she signs in again with her password alone
    b = await browser(node, HOME)
    async with b.http:
        asked = await b.password("alice")
        # Then the password is not enough: the page asks for the second factor, no session yet
        assert asked.status == 200 and "Second factor" in asked.text
        assert "atrium_session" not in asked.headers.get("Set-Cookie", "")
        token = hidden(asked.text, "token")
        # A wrong code is refused, and still no session
        refused = await b.post("/signin/factor", token=token, code=wrong(code_at(secret, 1)))
        assert refused.status == 401 and "not right" in refused.text
        assert (await b.get("/organization")).status == 303
        # The app's code (of the next step: the current one was spent on enrolment) signs her in
        code = code_at(secret, 1)
        done = await b.post("/signin/factor", token=token, code=code)
        assert done.status == 303 and "atrium_session" in done.headers.get("Set-Cookie", "")
        assert (await b.get("/organization")).status == 200
    # When the same code is tried again within its time step (seen over her shoulder)
    thief = await browser(node, OFFICE)
    async with thief.http:
        asked = await thief.password("alice")
        replayed = await thief.post("/signin/factor", token=hidden(asked.text, "token"), code=code)
        # Then it is refused
        assert replayed.status == 401 and "used already" in replayed.text
        # A recovery code signs in once
        asked = await thief.password("alice")
        used = await thief.post("/signin/factor", token=hidden(asked.text, "token"), code=codes[0].upper())
        assert used.status == 303
    again = await browser(node, OFFICE)
    async with again.http:
        asked = await again.password("alice")
        assert (await again.post("/signin/factor", token=hidden(asked.text, "token"), code=codes[0])).status == 401


async def test_removing_a_factor_asks_for_the_password_again(node: LocalNode) -> None:
    # Given bob with an authenticator app, signed in
    b = await browser(node, HOME)
    async with b.http:
        await b.password("bob")
        await enrol_totp(b)
        page = await b.get("/settings/security")
        factor = re.search(r"/settings/security/remove\?factor=(\d+)", page.text)
        assert factor, page.text
        # When he removes it with a wrong password, then with his own
        await b.get(f"/settings/security/remove?factor={factor.group(1)}")
        refused = await b.post("/settings/security/remove", factor=factor.group(1), password="not his")
        done = await b.post("/settings/security/remove", factor=factor.group(1), password=PASSWORD)
        # Then only the right password removes it, and the removal is audited
        assert refused.status == 403 and "password is not right" in refused.text
        assert done.status == 303 and done.headers["Location"].endswith("done=removed")
        assert "account:second-factor-removed" in [e.rule async for e in audit.entries(node.ctx.db)]
    # and his password alone signs him in again
    b = await browser(node, OFFICE)
    async with b.http:
        assert (await b.password("bob")).status == 303


async def test_the_password_grant_refuses_an_account_with_a_second_factor_and_the_authorize_form_asks(
    node: LocalNode,
) -> None:
    # Given alice with an authenticator app, and a client app
    b = await browser(node, HOME)
    async with b.http:
        await b.password("alice")
        secret, _ = await enrol_totp(b)
    app = await new_app(node.ctx.base_url)
    # When the app uses the password grant with her right password
    answer = await password_grant(node.ctx.base_url, app, "alice", PASSWORD, source=HOME)
    # Then it is refused with a reason that names the flow to use
    body = json.loads(answer.text)
    assert answer.status == 400 and body["error"] == "invalid_grant"
    assert "authorization-code flow" in body["error_description"]
    # When she uses the authorize form instead: the password, then the code
    first = await authorize_form(node.ctx.base_url, app, "alice", PASSWORD, source=HOME)
    assert first.status == 200 and "second factor" in first.text and "Authorization code" not in first.text
    fields: dict[str, Any] = dict(re.findall(r'<input type=hidden name="([^"]+)" value="([^"]*)">', first.text))
    async with session_from(HOME) as http:
        async with http.post(f"{node.ctx.base_url}/oauth/authorize",
                             data={**fields, "code": wrong(code_at(secret, 1))}) as r:
            wrong_answer = Answer(r.status, await r.text(), dict(r.headers))
        async with http.post(f"{node.ctx.base_url}/oauth/authorize", data={**fields, "code": code_at(secret, 1)}) as r:
            right = Answer(r.status, await r.text(), dict(r.headers))
    # Then a wrong code is refused on the same step, and the right one gives the code
    assert wrong_answer.status == 401 and "second factor" in wrong_answer.text
    assert right.status == 200 and "Authorization code" in right.text, right.text


async def test_wrong_codes_are_limited_like_passwords(node: LocalNode) -> None:
    # Given alice with an authenticator app
    b = await browser(node, HOME)
    async with b.http:
        await b.password("alice")
        secret, _ = await enrol_totp(b)
    # When someone who knows her password guesses codes from one address, signing in anew each time
    thief = await browser(node, ATTACKER)
    statuses = []
    async with thief.http:
        for n in range(7):
            asked = await thief.password("alice")
            assert asked.status == 200, asked.text[:300]
            statuses.append((await thief.post("/signin/factor", token=hidden(asked.text, "token"),
                                              code=f"{n:06d}" if f"{n:06d}" != code_at(secret, 1) else "999999")).status)
    # Then after the free tries the guesses must wait (the right password does not clear them)
    assert statuses[:5] == [401] * 5 and 429 in statuses[5:], statuses
    # and alice herself, elsewhere, still signs in with her code
    b = await browser(node, OFFICE)
    async with b.http:
        asked = await b.password("alice")
        assert (await b.post("/signin/factor", token=hidden(asked.text, "token"), code=code_at(secret, 1))).status == 303


async def test_a_staff_role_that_requires_a_second_factor_can_only_enrol(start_node: StartNode) -> None:
    # Given a node that requires a second factor of its admins, and root, an admin without one
    assert "admin" in ROLES
    node = await start_node(users=("alice",), admins=("root",), second_factor_roles=frozenset({"admin", "moderator"}))
    await create_instance(node.ctx.db, node.ctx.domain)
    app = await new_app(node.ctx.base_url)
    b = await browser(node, HOME)
    async with b.http:
        # When root signs in
        signed = await b.password("root")
        # Then he is sent to enrol, and every other page sends him there too
        assert signed.status == 303 and signed.headers["Location"] == "/settings/security"
        for path in ("/", "/admin/users", "/settings"):
            answer = await b.get(path)
            assert answer.status == 303 and answer.headers["Location"] == "/settings/security", path
        page = await b.get("/settings/security")
        assert page.status == 200 and "requires a second factor" in page.text
        # and no door gives him a token
        grant = await password_grant(node.ctx.base_url, app, "root", PASSWORD, source=OFFICE)
        assert grant.status == 400 and "enrol a second factor" in json.loads(grant.text)["error_description"]
        form = await authorize_form(node.ctx.base_url, app, "root", PASSWORD, source=OFFICE)
        assert form.status == 403 and "enrol a second factor" in form.text
        # When he enrols an app
        await enrol_totp(b)
        # Then the node is his again
        assert (await b.get("/admin/users")).status == 200
    # while alice, a plain user, needs nothing more
    assert (await password_grant(node.ctx.base_url, app, "alice", PASSWORD, source=HOME)).status == 200


def test_the_setting_names_roles_and_refuses_others(tmp_path: Path) -> None:
    # Given a settings file that requires a second factor of admins and moderators
    (tmp_path / "atrium.toml").write_text(
        'domain = "eng.example"\n[auth]\nrequire_second_factor_for = ["admin", "moderator"]\n')
    # Then the node reads the roles
    assert load(tmp_path).second_factor_roles == ("admin", "moderator")
    # When a role is misspelt, the file is refused with the key and the roles there are
    (tmp_path / "atrium.toml").write_text('domain = "eng.example"\n[auth]\nrequire_second_factor_for = ["admins"]\n')
    with pytest.raises(Invalid, match=r"require_second_factor_for: unknown role\(s\) admins"):
        load(tmp_path)
