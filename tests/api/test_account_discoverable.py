"""Mastodon's `discoverable` in the client API's account entity: a remote account's is what
its actor document said (stored when the node fetches it), a local account's what the node's
own actor document says of it.

The remote actors live on a fake peer over real HTTP on loopback; the node finds them the way
a signed-in user's search does (`/api/v2/search?resolve=true`, fetching through its gate).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from node import remote
from storage.models import Account
from tests.api.conftest import SignIn
from tests.api.social import Client, account_id, admitting, call, node_of
from tests.factory import fake_peer
from tests.federation.fake_peer import FakePeer

SAYS = {"dana": True, "eli": False, "fay": None}  # None: the document has no `discoverable`


@pytest.fixture
async def peer(api: Client) -> AsyncIterator[FakePeer]:
    """A fake peer with dana (discoverable), eli (not) and fay (says nothing), and the API's
    node able to fetch from it (its policy names the peer)."""
    async with fake_peer(*SAYS) as fake, admitting(api, fake):
        for name, says in SAYS.items():
            if says is not None:
                fake.actor_extra[name] = {"discoverable": says}
        yield fake


async def test_a_remote_accounts_discoverable_is_what_its_actor_said(api: Client, sign_in: SignIn, peer: FakePeer) -> None:
    token = await sign_in("alice")
    for name, says in SAYS.items():
        # Given a remote actor whose document says discoverable true, false, or nothing
        # When a signed-in user looks it up by URL, and anyone reads the account found
        found = await call(api, "GET", "/api/v2/search", token,
                           params={"q": peer.actor(name), "resolve": "true", "type": "accounts"})
        (listed,) = found["accounts"]
        shown = await call(api, "GET", f"/api/v1/accounts/{listed['id']}")
        # Then the account shows what the document said (null when it said nothing)
        assert listed["discoverable"] is says and shown["discoverable"] is says, (name, listed, shown)
        # And that is what the node stored
        async with node_of(api).db.reader() as s:
            stored = await s.get(Account, int(listed["id"]))
        assert stored is not None and stored.discoverable is says
    # And the node fetched each actor from the peer (the lookup, then the actor itself)
    assert {p for m, p in peer.requests if m == "GET"} == {f"/users/{n}" for n in SAYS}


async def test_a_remote_account_that_stops_saying_discoverable_shows_null(api: Client, sign_in: SignIn, peer: FakePeer) -> None:
    # Given dana, stored as discoverable
    token = await sign_in("alice")
    found = await call(api, "GET", "/api/v2/search", token, params={"q": peer.actor("dana"), "resolve": "true"})
    dana_id = found["accounts"][0]["id"]
    assert found["accounts"][0]["discoverable"] is True
    # When her document stops saying so and the node fetches it again
    del peer.actor_extra["dana"]
    await remote.fetch_actor(node_of(api), peer.actor("dana"))
    # Then her account shows null, as Mastodon shows an account that says nothing
    assert (await call(api, "GET", f"/api/v1/accounts/{dana_id}"))["discoverable"] is None


async def test_a_local_accounts_discoverable_is_what_its_actor_document_says(api: Client, sign_in: SignIn) -> None:
    # Given alice, a local user, and her actor document as peers read it
    token = await sign_in("alice")
    resp = await api.get("/users/alice", headers={"Accept": "application/activity+json"})
    assert resp.status == 200
    document = await resp.json(content_type=None)
    # When her account is read by anyone, and by herself
    shown = await call(api, "GET", f"/api/v1/accounts/{await account_id(api, 'alice')}")
    own = await call(api, "GET", "/api/v1/accounts/verify_credentials", token)
    # Then each says what the document says
    assert document["discoverable"] is True
    assert shown["discoverable"] is True and own["discoverable"] is True and own["source"]["discoverable"] is True
