"""Sign-in limits: a wrong-password flood slows the address it comes from, with waits that
grow, and never stops the account's owner signing in from elsewhere — through every door
(OAuth password grant, the authorize form, the web UI).

The node runs in-process on loopback; clients come from 127.0.0.2, 127.0.0.3, … so the node
sees different addresses. The limits read an injected clock, so waits pass by hand.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from node.instance import create_instance
from node.ratelimit import Limits
from tests.factory import LocalNode
from tests.security.clients import authorize_form, new_app, password_grant, ui_sign_in
from tests.security.conftest import PASSWORD

ATTACKER, ALICE_AT_HOME, OFFICE = "127.0.0.2", "127.0.0.3", "127.0.0.4"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limits(clock: Clock) -> Limits:
    return Limits(clock=clock)


@pytest.fixture
async def app(node: LocalNode) -> dict[str, Any]:
    """An app that may use the password grant and the authorize form; and the node's own row,
    which its web UI reads."""
    await create_instance(node.ctx.db, node.ctx.domain)
    return await new_app(node.ctx.base_url)


async def test_a_wrong_password_flood_from_one_address_does_not_stop_alice_elsewhere(
    node: LocalNode, app: dict[str, Any]
) -> None:
    base = node.ctx.base_url
    # Given someone at one address guessing alice's password over and over
    answers = [await password_grant(base, app, "alice", f"guess {n}", source=ATTACKER) for n in range(12)]
    # Then the first few are plain refusals and the rest wait, with Retry-After
    assert [a.status for a in answers[:5]] == [400] * 5
    assert {a.status for a in answers[5:]} == {429}
    assert all(int(a.headers["Retry-After"]) > 0 for a in answers[5:])
    # and from there even the right password waits, through every door
    assert (await password_grant(base, app, "alice", PASSWORD, source=ATTACKER)).status == 429
    assert (await authorize_form(base, app, "alice", PASSWORD, source=ATTACKER)).status == 429
    refused = await ui_sign_in(base, "alice", PASSWORD, source=ATTACKER)
    assert refused.status == 429 and "Too many failed attempts" in refused.text and refused.headers["Retry-After"]
    # When alice signs in from her own address, through each door
    token = await password_grant(base, app, "alice", PASSWORD, source=ALICE_AT_HOME)
    code = await authorize_form(base, app, "alice", PASSWORD, source=ALICE_AT_HOME)
    page = await ui_sign_in(base, "alice", PASSWORD, source=ALICE_AT_HOME)
    # Then she is in: a token, a code, a session
    assert token.status == 200 and json.loads(token.text)["access_token"], token.text
    assert code.status == 200 and "Authorization code" in code.text, code.text
    assert page.status == 303 and "Set-Cookie" in page.headers, page.text


async def test_the_waits_grow_and_a_right_password_clears_them(
    node: LocalNode, app: dict[str, Any], clock: Clock
) -> None:
    base = node.ctx.base_url
    # Given five wrong passwords for bob from one address
    for n in range(5):
        assert (await password_grant(base, app, "bob", f"guess {n}", source=ATTACKER)).status == 400
    # Then each further try waits twice as long as the one before: 15 s, 30 s, 60 s
    waits = []
    for _ in range(3):
        refused = await password_grant(base, app, "bob", "another guess", source=ATTACKER)
        assert refused.status == 429
        waits.append(int(refused.headers["Retry-After"]))
        clock.now += waits[-1]  # wait as told, then guess wrong again
        assert (await password_grant(base, app, "bob", "wrong again", source=ATTACKER)).status == 400
    assert waits == [15, 30, 60]
    # When the next wait is over and the right password comes
    refused = await password_grant(base, app, "bob", PASSWORD, source=ATTACKER)
    assert refused.status == 429 and refused.headers["Retry-After"] == "120"
    clock.now += 120
    assert (await password_grant(base, app, "bob", PASSWORD, source=ATTACKER)).status == 200
    # Then the count for bob at that address is cleared: a typo is a plain refusal again
    assert (await password_grant(base, app, "bob", "typo", source=ATTACKER)).status == 400


async def test_one_address_guessing_many_accounts_is_slowed_too(node: LocalNode, app: dict[str, Any]) -> None:
    base = node.ctx.base_url
    # Given one address trying three passwords for each of ten names (under each name's five)
    answers = [await password_grant(base, app, f"user{n}", f"guess {k}", source=OFFICE)
               for n in range(10) for k in range(3)]
    assert {a.status for a in answers} == {400}
    # When it tries one more, for a name it never tried
    refused = await password_grant(base, app, "alice", PASSWORD, source=OFFICE)
    # Then the address waits, whatever the name
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    # while alice, from another address, is in
    assert (await password_grant(base, app, "alice", PASSWORD, source=ALICE_AT_HOME)).status == 200
