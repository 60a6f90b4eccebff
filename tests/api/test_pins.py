"""Pinned posts through the client API, with Mastodon's rules: one's own posts, not a boost, not
a direct message, at most five; `pinned` in the status entity for the author; an account's
pinned posts with `?pinned=true`, each only for a reader who may see it."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from node.pins import MAX_PINS
from storage.models import PinnedPost
from tests.api.conftest import SignIn
from tests.api.social import Client, account_id, add_user, call, node_of, post


async def _pin_count(api: Client) -> int:
    async with node_of(api).db.reader() as s:
        return int(await s.scalar(select(func.count()).select_from(PinnedPost)) or 0)


async def test_pin_shows_first_and_unpin_takes_it_back(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    alice_id = await account_id(api, "alice")
    first, second, third = [await post(api, alice, f"post {n}") for n in range(3)]
    assert first["pinned"] is False
    # When alice pins her first post, then her third (and the third again: nothing changes)
    for status in (first, third, third):
        body = await call(api, "POST", f"/api/v1/statuses/{status['id']}/pin", alice)
        assert body["id"] == status["id"] and body["pinned"] is True
    # Then her pinned posts are the latest pin first, to her, to bob and to the open web
    for token in (alice, bob, None):
        listed = await call(api, "GET", f"/api/v1/accounts/{alice_id}/statuses", token, params={"pinned": "true"})
        assert [s["id"] for s in listed] == [third["id"], first["id"]]
    # And `pinned` is told to their author only (Mastodon's entity: it is the viewer's pin)
    assert (await call(api, "GET", f"/api/v1/statuses/{first['id']}", alice))["pinned"] is True
    assert (await call(api, "GET", f"/api/v1/statuses/{first['id']}", bob))["pinned"] is False
    assert (await call(api, "GET", f"/api/v1/statuses/{second['id']}", alice))["pinned"] is False
    # And a client paging on past the one page gets the end
    paged = await call(api, "GET", f"/api/v1/accounts/{alice_id}/statuses", alice,
                       params={"pinned": "true", "max_id": first["id"]})
    assert paged == []
    # And the instance says the limit
    instance = await call(api, "GET", "/api/v2/instance")
    assert instance["configuration"]["accounts"]["max_pinned_statuses"] == MAX_PINS
    # When she unpins the third, only the first is left
    body = await call(api, "POST", f"/api/v1/statuses/{third['id']}/unpin", alice)
    assert body["pinned"] is False
    listed = await call(api, "GET", f"/api/v1/accounts/{alice_id}/statuses", bob, params={"pinned": "true"})
    assert [s["id"] for s in listed] == [first["id"]]
    # And the ordinary listing is unchanged by pins
    everything = await call(api, "GET", f"/api/v1/accounts/{alice_id}/statuses", bob)
    assert [s["id"] for s in everything] == [third["id"], second["id"], first["id"]]


async def test_pinned_posts_are_listed_only_to_who_may_see_them(api: Client, sign_in: SignIn) -> None:
    await add_user(api, "carol")
    alice, bob, carol = await sign_in("alice"), await sign_in("bob"), await sign_in("carol")
    alice_id = await account_id(api, "alice")
    # Given alice pinned a public post and one for her followers, and bob follows her
    public = await post(api, alice, "for everyone")
    followers_only = await post(api, alice, "for my followers", visibility="private")
    local = await post(api, alice, "inside the node", visibility="local")
    for status in (public, followers_only, local):
        await call(api, "POST", f"/api/v1/statuses/{status['id']}/pin", alice)
    await call(api, "POST", f"/api/v1/accounts/{alice_id}/follow", bob)

    async def pinned_ids(token: str | None) -> list[str]:
        listed = await call(api, "GET", f"/api/v1/accounts/{alice_id}/statuses", token, params={"pinned": "true"})
        return [s["id"] for s in listed]

    # Then bob (a follower) sees all three, carol (not a follower) not the followers' post,
    # and the open web neither that nor the local one
    assert await pinned_ids(bob) == [local["id"], followers_only["id"], public["id"]]
    assert await pinned_ids(carol) == [local["id"], public["id"]]
    assert await pinned_ids(None) == [public["id"]]


async def test_what_cannot_be_pinned_is_refused_with_a_reason(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    bobs = await post(api, bob, "bob's post")
    bobs_private = await post(api, bob, "bob's followers only", visibility="private")
    direct = await post(api, alice, "@bob just you", visibility="direct")
    boost = await call(api, "POST", f"/api/v1/statuses/{bobs['id']}/reblog", alice)
    # Someone else's post: 422 with the reason; one alice may not see: 404, as if it did not exist
    refused = await call(api, "POST", f"/api/v1/statuses/{bobs['id']}/pin", alice, expect=422)
    assert "own posts" in refused["error"]
    await call(api, "POST", f"/api/v1/statuses/{bobs_private['id']}/pin", alice, expect=404)
    await call(api, "POST", "/api/v1/statuses/99999999/pin", alice, expect=404)
    # A direct message and a boost (her own boost of bob's post): 422
    assert "direct" in (await call(api, "POST", f"/api/v1/statuses/{direct['id']}/pin", alice, expect=422))["error"]
    assert "boost" in (await call(api, "POST", f"/api/v1/statuses/{boost['id']}/pin", alice, expect=422))["error"]
    # Without the scope: 403; without a token: 401
    mine = await post(api, alice, "mine")
    await call(api, "POST", f"/api/v1/statuses/{mine['id']}/pin", await sign_in("alice", "read"), expect=403)
    await call(api, "POST", f"/api/v1/statuses/{mine['id']}/pin", None, expect=401)
    # And nothing was written by any of them
    assert await _pin_count(api) == 0


async def test_a_sixth_pin_is_refused_and_nothing_is_written(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    alice_id = await account_id(api, "alice")
    statuses = [await post(api, alice, f"post {n}") for n in range(MAX_PINS + 1)]
    for status in statuses[:MAX_PINS]:
        await call(api, "POST", f"/api/v1/statuses/{status['id']}/pin", alice)
    # When she pins a sixth
    refused = await call(api, "POST", f"/api/v1/statuses/{statuses[-1]['id']}/pin", alice, expect=422)
    # Then it is refused with the limit, and her five stay as they were
    assert str(MAX_PINS) in refused["error"]
    listed = await call(api, "GET", f"/api/v1/accounts/{alice_id}/statuses", alice, params={"pinned": "true"})
    assert [s["id"] for s in listed] == [s["id"] for s in reversed(statuses[:MAX_PINS])]
    # And once she unpins one, the sixth goes in
    await call(api, "POST", f"/api/v1/statuses/{statuses[0]['id']}/unpin", alice)
    assert (await call(api, "POST", f"/api/v1/statuses/{statuses[-1]['id']}/pin", alice))["pinned"] is True


async def test_a_deleted_post_leaves_the_pins(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    alice_id = await account_id(api, "alice")
    status = await post(api, alice, "soon gone")
    await call(api, "POST", f"/api/v1/statuses/{status['id']}/pin", alice)
    await call(api, "DELETE", f"/api/v1/statuses/{status['id']}", alice)
    assert await call(api, "GET", f"/api/v1/accounts/{alice_id}/statuses", alice, params={"pinned": "true"}) == []


async def test_pins_at_once_never_make_a_sixth(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    statuses = [await post(api, alice, f"post {n}") for n in range(MAX_PINS + 3)]
    # When she pins eight posts at once (two clients, a double click)
    results = await asyncio.gather(*(
        api.post(f"/api/v1/statuses/{s['id']}/pin", headers={"Authorization": f"Bearer {alice}"}) for s in statuses))
    # Then five are pinned and the others refused with 422, never more than five
    assert sorted(r.status for r in results) == [200] * MAX_PINS + [422] * 3
    assert await _pin_count(api) == MAX_PINS
