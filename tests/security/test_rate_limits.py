"""Rate limits: a peer flooding the inbox and an account flooding the API get 429 with
Retry-After, others are unaffected, and time restores the allowance. (Client addresses, forged
key ids, sign-in from elsewhere and several processes: test_inbox_limits.py,
test_signin_limits.py, test_client_address.py, tests/scaleout/test_shared_limits.py.)

The limits read an injected clock, so the tests move time by hand instead of waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from node import settings
from node.ratelimit import Limits, RateLimited, TokenBuckets
from node.settings import SETTINGS_FILE
from tests.factory import LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer
from tests.federation.nodes import NodeProcess
from tests.security.conftest import PASSWORD, post_signed, sign_in


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limits(clock: Clock) -> Limits:
    return Limits(inbox_per_peer_per_s=0.5, inbox_per_peer_burst=2, statuses_per_account_per_hour=60,
                  statuses_per_account_burst=2, clock=clock)


def test_a_bucket_admits_its_burst_then_says_when_to_come_back(clock: Clock) -> None:
    bucket = TokenBuckets(rate=0.25, burst=2, clock=clock)
    bucket.take("a.example")
    bucket.take("a.example")
    with pytest.raises(RateLimited) as refused:
        bucket.take("a.example")
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "4"}
    bucket.take("b.example")  # another key has its own bucket
    clock.now += 4
    bucket.take("a.example")  # one token came back


def test_a_flood_of_keys_cannot_grow_the_table(clock: Clock) -> None:
    bucket = TokenBuckets(rate=1, burst=1, clock=clock, max_tracked=100)
    for n in range(1000):
        bucket.take(f"k{n}.example")
    assert len(bucket._buckets) == 100


def test_rate_zero_turns_the_limit_off(clock: Clock) -> None:
    bucket = TokenBuckets(rate=0, burst=1, clock=clock)
    for _ in range(50):
        bucket.take("a.example")


async def test_a_peer_flooding_the_inbox_gets_429_with_retry_after(
    node: LocalNode, peer: FakePeer, other_peer: FakePeer, clock: Clock
) -> None:
    # Given a node admitting 2 verified deliveries at once per peer domain, then one every 2 s
    first = [await peer.post(node.inbox, peer.create("mallory", peer.note("mallory", n, "hi")), as_actor="mallory")
             for n in (1, 2)]
    assert [status for status, _ in first] == [202, 202]
    # When the same peer sends a third at once, signed by another of its actors
    status, body, retry_after = await _post(node, peer, 3, key_name="eve")
    # Then it is refused with 429 and Retry-After: the peer its signature proves is charged
    assert status == 429 and retry_after == "2" and "too many" in body
    # and another peer's deliveries (from the same address) still go through
    assert (await other_peer.post(node.inbox, other_peer.create("trudy", other_peer.note("trudy", 1, "x")),
                                  as_actor="trudy"))[0] == 202
    # and once the time it named has passed, the first peer is heard again
    clock.now += 2
    assert (await _post(node, peer, 4, key_name="mallory"))[0] == 202


async def _post(node: LocalNode, peer: FakePeer, n: int, key_name: str) -> tuple[int, str, str | None]:
    answer = await post_signed(node.inbox, peer.create(key_name, peer.note(key_name, n, "flood")),
                               peer.key_id(key_name), peer.keys[key_name])
    return answer.status, answer.text, answer.headers.get("Retry-After")


async def test_an_account_posting_too_fast_gets_429_with_retry_after(
    node: LocalNode, http: aiohttp.ClientSession, clock: Clock
) -> None:
    # Given alice may post 2 at once, then one a minute
    alice, bob = await sign_in(http, "alice"), await sign_in(http, "bob")
    for n in range(2):
        async with http.post("/api/v1/statuses", data={"status": f"post {n}"}, headers=alice) as r:
            assert r.status == 200, await r.text()
    # When she posts a third at once, it is refused with 429 and Retry-After, and not stored
    async with http.post("/api/v1/statuses", data={"status": "one too many"}, headers=alice) as r:
        assert r.status == 429 and r.headers["Retry-After"] == "60"
        assert "too many posts" in (await r.json())["error"]
    async with http.get("/api/v1/timelines/home", headers=alice) as r:
        assert [s["content"] for s in await r.json()] == ["<p>post 1</p>", "<p>post 0</p>"]
    # and bob's allowance is his own
    async with http.post("/api/v1/statuses", data={"status": "bob here"}, headers=bob) as r:
        assert r.status == 200
    # and after a minute alice may post again
    clock.now += 60
    async with http.post("/api/v1/statuses", data={"status": "later"}, headers=alice) as r:
        assert r.status == 200


def test_the_limits_come_from_the_settings_file(tmp_path: Path) -> None:
    # Given an operator's atrium.toml with a [limits] table
    (tmp_path / SETTINGS_FILE).write_text(
        'domain = "social.example"\n[limits]\ninbox_per_peer_per_s = 3\ninbox_per_peer_burst = 7\n'
        "statuses_per_account_per_hour = 36\nstatuses_per_account_burst = 4\n"
    )
    # When the node reads it / Then its limits are those
    limits = Limits.from_settings(settings.load(tmp_path))
    assert (limits.inbox_peer.rate, limits.inbox_peer.burst) == (3, 7)
    assert (limits.inbox_address.rate, limits.inbox_address.burst) == (200, 2000)  # the defaults
    assert (limits.statuses.rate, limits.statuses.burst) == (0.01, 4)
    # and a fresh node's file names every limit with its default
    fresh = settings.render(settings.Settings(data_dir=tmp_path, domain="social.example"))
    assert "inbox_per_peer_per_s = 200" in fresh and "statuses_per_account_burst = 300" in fresh
    assert "inbox_per_address_per_s = 200" in fresh and "inbox_per_address_burst = 2000" in fresh


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[NodeProcess, FakePeer]]:
    """A real `atrium serve` node whose atrium.toml allows 2 deliveries at once, then one a
    second, and one post at once, then one an hour."""
    async with fake_peer("mallory") as peer:
        node = NodeProcess("limited", tmp_path)
        node.init()
        toml = node.data_dir / SETTINGS_FILE
        toml.write_text(toml.read_text().replace("inbox_per_peer_burst = 2000", "inbox_per_peer_burst = 2")
                        .replace("inbox_per_peer_per_s = 20", "inbox_per_peer_per_s = 1")
                        .replace("statuses_per_account_per_hour = 300", "statuses_per_account_per_hour = 1")
                        .replace("statuses_per_account_burst = 300", "statuses_per_account_burst = 1"))
        node.write_policy(f'mode = "allowlist"\n[peers."{peer.domain}"]\ntrust = "public"\n')
        node.create_user("alice")
        node.start()
        try:
            yield node, peer
        finally:
            node.stop()


async def test_a_served_node_applies_the_limits_in_its_settings(served: tuple[NodeProcess, FakePeer]) -> None:
    node, peer = served
    inbox = f"{node.base_url}/inbox"
    # When the peer delivers twelve at once (2 admitted at once, then 1 a second)
    answers = await asyncio.gather(*(
        peer.post(inbox, peer.create("mallory", peer.note("mallory", n, "x")), as_actor="mallory") for n in range(12)
    ))
    # Then the node takes its burst and refuses the rest with 429 (all twelve would take 10 s)
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(202) >= 2 and statuses[-1] == 429 and set(statuses) == {202, 429}
    # and alice's second post at once is refused too
    async with aiohttp.ClientSession(base_url=node.base_url) as http:
        async with http.post("/api/v1/apps", data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                    "scopes": "read write"}) as r:
            app = await r.json()
        async with http.post("/oauth/token", data={"grant_type": "password", "client_id": app["client_id"],
                                                   "client_secret": app["client_secret"], "username": "alice",
                                                   "password": "alice-password", "scope": "read write"}) as r:
            headers = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
        answers = []
        for text in ("one", "two"):
            async with http.post("/api/v1/statuses", data={"status": text}, headers=headers) as r:
                answers.append((r.status, "Retry-After" in r.headers))
    assert answers == [(200, False), (429, True)]


async def test_password_guessing_is_limited_through_every_door(node: LocalNode, http: aiohttp.ClientSession) -> None:
    # Given an app that may use the password grant and the authorize form
    async with http.post("/api/v1/apps", data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                "scopes": "read"}) as r:
        app = await r.json()

    def grant(password: str) -> dict[str, str]:
        return {"grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
                "username": "alice", "password": password, "scope": "read"}

    # When someone guesses alice's password five times through the token endpoint
    for n in range(5):
        async with http.post("/oauth/token", data=grant(f"guess {n}")) as r:
            assert r.status == 400 and (await r.json())["error"] == "invalid_grant"
    # Then the next try from that address waits (429 and Retry-After), even the right password
    async with http.post("/oauth/token", data=grant(PASSWORD)) as r:
        assert r.status == 429 and int(r.headers["Retry-After"]) > 0, await r.text()
    # and the authorize form (another door to the same password) refuses it too
    form = {"client_id": app["client_id"], "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", "response_type": "code",
            "scope": "read", "username": "alice", "password": PASSWORD}
    async with http.post("/oauth/authorize", data=form) as r:
        assert r.status == 429, await r.text()
    # while bob, whose name nobody guessed at, signs in as usual
    assert (await sign_in(http, "bob", "read"))["Authorization"].startswith("Bearer ")
