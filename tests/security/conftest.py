"""A node in-process on loopback with its inbox open to fake peers over real HTTP, and a
Mastodon-API client for it: the ground every hostile-input test stands on.

Each test states its own attack; these fixtures only give it a node, peers and people.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE
from node import accounts, remote
from node.policy import PeerRule, Policy
from node.ratelimit import Limits
from storage.models import Account, Follow
from tests.conftest import StartNode
from tests.factory import PASSWORD, LocalNode, fake_peer
from tests.federation.fake_peer import FakePeer


@pytest.fixture
def limits() -> Limits:
    """The node's rate limits; a test overrides this fixture to tighten them."""
    return Limits()


@pytest.fixture
async def peer() -> AsyncIterator[FakePeer]:
    async with fake_peer("mallory", "eve", keys={"eve": 1}) as p:
        yield p


@pytest.fixture
async def other_peer() -> AsyncIterator[FakePeer]:
    """A second server, also admitted: another origin for cross-origin tricks."""
    async with fake_peer("trudy", keys={"trudy": 4}) as p:
        yield p


@pytest.fixture
async def node(peer: FakePeer, other_peer: FakePeer, limits: Limits, start_node: StartNode) -> LocalNode:
    policy = Policy(mode="allowlist", peers=(PeerRule(peer.domain, "public"), PeerRule(other_peer.domain, "public")))
    return await start_node(policy=policy, users=("alice", "bob"), limits=limits)


@pytest.fixture
async def alice_follows_mallory(node: LocalNode, peer: FakePeer) -> Account:
    """Local alice follows the peer's mallory, so mallory's posts are wanted here."""
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    alice = await accounts.get_local(node.ctx, "alice")
    async with node.ctx.db.session() as s:
        s.add(Follow(follower_id=alice.id, target_id=mallory.id, state="accepted", uri=f"{node.ctx.base_url}/follows/1"))
    return alice


@pytest.fixture
async def http(node: LocalNode) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client of the node (API, ActivityPub routes), as any outsider has."""
    async with aiohttp.ClientSession(base_url=node.ctx.base_url) as session:
        yield session


async def sign_in(http: aiohttp.ClientSession, username: str, scope: str = "read write follow") -> dict[str, str]:
    """Bearer headers for `username` by the password grant of a freshly registered app."""
    async with http.post("/api/v1/apps", data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                "scopes": scope}) as r:
        assert r.status == 200, await r.text()
        app = await r.json()
    async with http.post("/oauth/token", data={"grant_type": "password", "client_id": app["client_id"],
                                               "client_secret": app["client_secret"], "username": username,
                                               "password": PASSWORD, "scope": scope}) as r:
        assert r.status == 200, await r.text()
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    headers: Mapping[str, str]

    @property
    def error(self) -> str:
        return str(json.loads(self.text).get("error", ""))


async def post_signed(inbox: str, activity: Mapping[str, object] | bytes, key_id: str, key: rsa.RSAPrivateKey,
                      extra: Mapping[str, str] | None = None) -> Answer:
    """POST `activity` to `inbox` signed with `key` under any `key_id` the attacker likes."""
    body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
    headers = sign_request("POST", inbox, {"Content-Type": AP_CONTENT_TYPE}, body, key_id, key)
    headers.update(extra or {})
    async with aiohttp.ClientSession() as s, s.post(inbox, data=body, headers=headers) as r:
        return Answer(r.status, await r.text(), dict(r.headers))
