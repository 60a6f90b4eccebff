"""Follow, unfollow, follow requests, block and mute through the client API: each answers
with the Relationship afterwards, and each shows where it should (lists, timelines,
notifications) for the one who made it and nobody else."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import SignIn
from tests.api.social import Client, account_id, add_user, call, post

REL = "/api/v1/accounts/relationships"


async def test_follow_and_unfollow_a_local_account(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    bob_id, alice_id = await account_id(api, "bob"), await account_id(api, "alice")
    # When alice follows bob (JSON body, booleans as JSON)
    rel = await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", alice, json={"reblogs": True, "notify": False})
    # Then she follows him at once and he is told
    assert rel["id"] == bob_id and rel["following"] is True and rel["requested"] is False
    theirs = await call(api, "GET", REL, bob, params={"id[]": alice_id})
    assert theirs[0]["followed_by"] is True and theirs[0]["following"] is False
    kinds = [n["type"] for n in await call(api, "GET", "/api/v1/notifications", bob)]
    assert kinds == ["follow"]
    # And following again changes nothing; unfollowing ends it
    assert (await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", alice))["following"] is True
    rel = await call(api, "POST", f"/api/v1/accounts/{bob_id}/unfollow", alice)
    assert rel["following"] is False
    assert await call(api, "GET", f"/api/v1/accounts/{bob_id}/followers") == []


async def test_relationships_for_several_ids(api: Client, sign_in: SignIn) -> None:
    await add_user(api, "carol")
    alice = await sign_in("alice")
    bob_id, carol_id = await account_id(api, "bob"), await account_id(api, "carol")
    await call(api, "POST", f"/api/v1/accounts/{carol_id}/follow", alice)
    rels = await call(api, "GET", f"{REL}?id[]={bob_id}&id[]={carol_id}&id[]=123", alice)
    assert [(r["id"], r["following"]) for r in rels] == [(bob_id, False), (carol_id, True)]
    one = await call(api, "GET", REL, alice, params={"id": carol_id})
    assert [r["id"] for r in one] == [carol_id]


async def test_locked_account_requests_until_authorized(api: Client, sign_in: SignIn) -> None:
    await add_user(api, "lena", locked=True)
    alice, bob, lena = await sign_in("alice"), await sign_in("bob"), await sign_in("lena")
    lena_id, alice_id, bob_id = await account_id(api, "lena"), await account_id(api, "alice"), await account_id(api, "bob")
    # When alice and bob ask to follow lena, who is locked
    rel = await call(api, "POST", f"/api/v1/accounts/{lena_id}/follow", alice)
    await call(api, "POST", f"/api/v1/accounts/{lena_id}/follow", bob)
    # Then they are requested, not following, and lena sees both requests
    assert (rel["following"], rel["requested"]) == (False, True)
    pending = await call(api, "GET", "/api/v1/follow_requests", lena)
    assert sorted(a["username"] for a in pending) == ["alice", "bob"]
    assert (await call(api, "GET", REL, lena, params={"id[]": alice_id}))[0]["requested_by"] is True
    me = await call(api, "GET", "/api/v1/accounts/verify_credentials", lena)
    assert me["source"]["follow_requests_count"] == 2
    # When lena authorizes alice and rejects bob
    rel = await call(api, "POST", f"/api/v1/follow_requests/{alice_id}/authorize", lena)
    assert rel["followed_by"] is True and rel["requested_by"] is False
    rel = await call(api, "POST", f"/api/v1/follow_requests/{bob_id}/reject", lena)
    assert rel["followed_by"] is False and rel["requested_by"] is False
    # Then alice follows her, bob does not, and no request is left
    assert (await call(api, "GET", REL, alice, params={"id[]": lena_id}))[0]["following"] is True
    assert (await call(api, "GET", REL, bob, params={"id[]": lena_id}))[0]["requested"] is False
    assert await call(api, "GET", "/api/v1/follow_requests", lena) == []
    await call(api, "POST", f"/api/v1/follow_requests/{bob_id}/authorize", lena, expect=404)


async def test_block_severs_follows_both_ways_and_stops_new_ones(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    alice_id, bob_id = await account_id(api, "alice"), await account_id(api, "bob")
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", alice)
    await call(api, "POST", f"/api/v1/accounts/{alice_id}/follow", bob)
    await post(api, bob, "bob was here")
    # When alice blocks bob
    rel = await call(api, "POST", f"/api/v1/accounts/{bob_id}/block", alice)
    # Then neither follows the other, each sees the block from their side
    assert (rel["blocking"], rel["following"], rel["followed_by"]) == (True, False, False)
    theirs = (await call(api, "GET", REL, bob, params={"id[]": alice_id}))[0]
    assert (theirs["blocked_by"], theirs["following"], theirs["followed_by"]) == (True, False, False)
    # And bob's posts are gone from alice's home and the public timeline she reads
    assert await call(api, "GET", "/api/v1/timelines/home", alice) == []
    assert await call(api, "GET", "/api/v1/timelines/public", alice) == []
    # And neither can follow the other while it stands
    await call(api, "POST", f"/api/v1/accounts/{alice_id}/follow", bob, expect=403)
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", alice, expect=403)
    assert [a["username"] for a in await call(api, "GET", "/api/v1/blocks", alice)] == ["bob"]
    assert await call(api, "GET", "/api/v1/blocks", bob) == []
    # When she unblocks, following is possible again
    assert (await call(api, "POST", f"/api/v1/accounts/{bob_id}/unblock", alice))["blocking"] is False
    assert (await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", alice))["following"] is True


async def _texts(api: Client, path: str, token: str, **params: str) -> list[str]:
    items: list[dict[str, Any]] = await call(api, "GET", path, token, params=params)
    return [s["content"] for s in items]


async def test_mute_hides_posts_and_notifications_from_the_muter_only(api: Client, sign_in: SignIn) -> None:
    await add_user(api, "carol")
    alice, bob, carol = await sign_in("alice"), await sign_in("bob"), await sign_in("carol")
    bob_id = await account_id(api, "bob")
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", alice)
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", carol)
    mine = await post(api, alice, "alice writes")
    await post(api, bob, "bob writes")
    await call(api, "POST", f"/api/v1/statuses/{mine['id']}/favourite", bob)
    await call(api, "POST", f"/api/v1/statuses/{mine['id']}/reblog", bob)
    # When alice mutes bob (notifications too, the default)
    rel = await call(api, "POST", f"/api/v1/accounts/{bob_id}/mute", alice)
    assert (rel["muting"], rel["muting_notifications"], rel["following"]) == (True, True, True)
    # Then his posts and his boosts leave her home and public timelines, and his notifications go
    assert await _texts(api, "/api/v1/timelines/home", alice) == ["<p>alice writes</p>"]
    assert await _texts(api, "/api/v1/timelines/public", alice) == ["<p>alice writes</p>"]
    assert await _texts(api, "/api/v1/timelines/public", alice, local="true") == ["<p>alice writes</p>"]
    assert await call(api, "GET", "/api/v1/notifications", alice) == []
    # And carol, who muted nobody, still sees him
    assert "<p>bob writes</p>" in await _texts(api, "/api/v1/timelines/home", carol)
    assert [a["username"] for a in await call(api, "GET", "/api/v1/mutes", alice)] == ["bob"]
    assert await call(api, "GET", "/api/v1/mutes", carol) == []
    # When she mutes his posts only (form, notifications=0), his notifications come back
    rel = await call(api, "POST", f"/api/v1/accounts/{bob_id}/mute", alice, data={"notifications": "0"})
    assert (rel["muting"], rel["muting_notifications"]) == (True, False)
    kinds = sorted(n["type"] for n in await call(api, "GET", "/api/v1/notifications", alice))
    assert kinds == ["favourite", "reblog"]
    assert await _texts(api, "/api/v1/timelines/home", alice) == ["<p>alice writes</p>"]
    # When she unmutes him, his posts are back
    assert (await call(api, "POST", f"/api/v1/accounts/{bob_id}/unmute", alice))["muting"] is False
    assert "<p>bob writes</p>" in await _texts(api, "/api/v1/timelines/home", alice)


async def test_errors_and_scopes(api: Client, sign_in: SignIn) -> None:
    bob_id, alice_id = await account_id(api, "bob"), await account_id(api, "alice")
    alice = await sign_in("alice")
    # Unknown accounts, oneself, and timed mutes are refused with a reason
    for verb in ("follow", "unfollow", "block", "unblock", "mute", "unmute"):
        await call(api, "POST", f"/api/v1/accounts/99999999/{verb}", alice, expect=404)
    await call(api, "POST", f"/api/v1/accounts/{alice_id}/follow", alice, expect=422)
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/mute", alice, expect=422, data={"duration": "3600"})
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", alice, expect=422, data={"reblogs": "perhaps"})
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", None, expect=401)
    # Each action needs its own scope; `follow` is the old umbrella for all of them
    reader = await sign_in("alice", "read")
    for verb in ("follow", "block", "mute"):
        await call(api, "POST", f"/api/v1/accounts/{bob_id}/{verb}", reader, expect=403)
    follows_only = await sign_in("alice", "write:follows")
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", follows_only)
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/block", follows_only, expect=403)
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/mute", follows_only, expect=403)
    await call(api, "GET", REL, follows_only, expect=403, params={"id[]": bob_id})
    umbrella = await sign_in("alice", "follow")
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/mute", umbrella)
    await call(api, "GET", "/api/v1/mutes", umbrella)
    await call(api, "GET", "/api/v1/blocks", await sign_in("alice", "read:blocks"))
    await call(api, "GET", "/api/v1/mutes", await sign_in("alice", "read:blocks"), expect=403)
    await call(api, "GET", "/api/v1/follow_requests", await sign_in("alice", "read:accounts"), expect=403)
