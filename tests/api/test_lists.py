"""Lists through the client API (in-process node, both engines): create, rename, delete, members
(only people the owner follows), the list timeline with its `replies_policy`, `exclusive`
keeping members out of home, the `list` stream, and the owner-only rule (anyone else's: 404)."""

from __future__ import annotations

import asyncio
import json

from tests.api.conftest import SignIn, auth
from tests.api.social import Client, account_id, add_user, call, post

WAIT = 60.0


async def _follow(api: Client, token: str, *usernames: str) -> list[str]:
    ids = [await account_id(api, u) for u in usernames]
    for i in ids:
        await call(api, "POST", f"/api/v1/accounts/{i}/follow", token)
    return ids


async def _ids(api: Client, path: str, token: str, **params: str) -> list[str]:
    return [s["id"] for s in await call(api, "GET", path, token, params=params)]


async def test_create_rename_read_and_delete_a_list_only_its_owner_sees(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    # When alice creates two lists (one exclusive, by JSON) and renames one
    made = await call(api, "POST", "/api/v1/lists", alice, data={"title": "Team"})
    assert made == {"id": made["id"], "title": "Team", "replies_policy": "list", "exclusive": False}
    other = await call(api, "POST", "/api/v1/lists", alice,
                       json={"title": "Announcements", "replies_policy": "none", "exclusive": True})
    assert other["replies_policy"] == "none" and other["exclusive"] is True
    renamed = await call(api, "PUT", f"/api/v1/lists/{made['id']}", alice, data={"title": "Platform team"})
    assert renamed["title"] == "Platform team" and renamed["replies_policy"] == "list"
    # Then her lists are by title, and each reads back
    assert [x["title"] for x in await call(api, "GET", "/api/v1/lists", alice)] == ["Announcements", "Platform team"]
    assert await call(api, "GET", f"/api/v1/lists/{made['id']}", alice) == renamed
    # And bob sees none of them: reading, renaming, deleting, its accounts and timeline are 404
    assert await call(api, "GET", "/api/v1/lists", bob) == []
    lid = made["id"]
    await call(api, "GET", f"/api/v1/lists/{lid}", bob, expect=404)
    await call(api, "PUT", f"/api/v1/lists/{lid}", bob, data={"title": "mine now"}, expect=404)
    await call(api, "DELETE", f"/api/v1/lists/{lid}", bob, expect=404)
    await call(api, "GET", f"/api/v1/lists/{lid}/accounts", bob, expect=404)
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", bob, data={"account_ids[]": "1"}, expect=404)
    await call(api, "GET", f"/api/v1/timelines/list/{lid}", bob, expect=404)
    assert (await call(api, "GET", f"/api/v1/lists/{lid}", alice))["title"] == "Platform team"
    # When she deletes one, it is gone
    assert await call(api, "DELETE", f"/api/v1/lists/{lid}", alice) == {}
    await call(api, "GET", f"/api/v1/lists/{lid}", alice, expect=404)
    assert [x["id"] for x in await call(api, "GET", "/api/v1/lists", alice)] == [other["id"]]


async def test_scopes_are_read_lists_and_write_lists(api: Client, sign_in: SignIn) -> None:
    reader, writer = await sign_in("alice", "read:lists"), await sign_in("alice", "write:lists")
    statuses = await sign_in("alice", "read:statuses write:statuses")
    made = await call(api, "POST", "/api/v1/lists", writer, data={"title": "x"})
    await call(api, "POST", "/api/v1/lists", reader, data={"title": "y"}, expect=403)
    await call(api, "GET", "/api/v1/lists", statuses, expect=403)
    await call(api, "GET", f"/api/v1/timelines/list/{made['id']}", statuses, expect=403)
    assert len(await call(api, "GET", "/api/v1/lists", reader)) == 1
    await call(api, "GET", f"/api/v1/timelines/list/{made['id']}", reader)
    await call(api, "GET", "/api/v1/lists", expect=401)


async def test_members_must_be_followed_and_leave_with_the_follow(api: Client, sign_in: SignIn) -> None:
    for name in ("carol", "dave"):
        await add_user(api, name)
    alice = await sign_in("alice")
    await sign_in("bob")
    bob_id, carol_id = await _follow(api, alice, "bob", "carol")
    dave_id = await account_id(api, "dave")
    lid = (await call(api, "POST", "/api/v1/lists", alice, data={"title": "Friends"}))["id"]
    # When alice adds two people she follows (bob twice)
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice, data=[("account_ids[]", bob_id), ("account_ids[]", carol_id)])
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice, json={"account_ids": [bob_id]})
    # Then both are on it, newest added first, paged with a Link header
    members = await call(api, "GET", f"/api/v1/lists/{lid}/accounts", alice)
    assert {m["id"] for m in members} == {bob_id, carol_id}
    resp = await api.get(f"/api/v1/lists/{lid}/accounts", params={"limit": "1"}, headers=auth(alice))
    assert len(await resp.json()) == 1 and 'rel="next"' in resp.headers["Link"]
    assert len(await call(api, "GET", f"/api/v1/lists/{lid}/accounts", alice, params={"limit": "0"})) == 2
    assert [x["id"] for x in await call(api, "GET", f"/api/v1/accounts/{bob_id}/lists", alice)] == [lid]
    # And someone she does not follow is refused (422), an unknown account is 404, and neither half-adds
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice,
               data=[("account_ids[]", dave_id), ("account_ids[]", carol_id)], expect=422)
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice, data={"account_ids[]": "999999999"}, expect=404)
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice, data={"account_ids[]": "x1"}, expect=404)
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice, expect=422)
    assert len(await call(api, "GET", f"/api/v1/lists/{lid}/accounts", alice)) == 2
    # When she removes carol, and unfollows bob, both leave the list
    await call(api, "DELETE", f"/api/v1/lists/{lid}/accounts", alice, data={"account_ids[]": carol_id})
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/unfollow", alice)
    assert await call(api, "GET", f"/api/v1/lists/{lid}/accounts", alice) == []
    assert await call(api, "GET", f"/api/v1/accounts/{bob_id}/lists", alice) == []


async def test_hostile_input_is_refused_whole(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    (bob_id,) = await _follow(api, alice, "bob")
    await sign_in("bob")
    # A huge title, a blank one, an unknown replies policy: 422 and no list
    await call(api, "POST", "/api/v1/lists", alice, data={"title": "x" * 100_000}, expect=422)
    await call(api, "POST", "/api/v1/lists", alice, data={"title": "   "}, expect=422)
    await call(api, "POST", "/api/v1/lists", alice, data={"title": "nul\x00byte"}, expect=422)
    await call(api, "POST", "/api/v1/lists", alice, data={"title": "two\nlines"}, expect=422)
    await call(api, "POST", "/api/v1/lists", alice, data={"title": "t", "replies_policy": "all"}, expect=422)
    await call(api, "POST", "/api/v1/lists", alice, data={"title": "t", "exclusive": "maybe"}, expect=422)
    assert await call(api, "GET", "/api/v1/lists", alice) == []
    lid = (await call(api, "POST", "/api/v1/lists", alice, data={"title": "ok"}))["id"]
    await call(api, "PUT", f"/api/v1/lists/{lid}", alice, data={"title": "y" * 257}, expect=422)
    # 10,000 account ids (bob's among them) in one request: refused whole, nothing added
    # (as a form the body is over the node's size limit already: 413; as JSON, 422)
    many = [str(n) for n in range(1, 10_000)] + [bob_id]
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice,
               data=[("account_ids[]", i) for i in many], expect=413)
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice, json={"account_ids": many}, expect=422)
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice, json={"account_ids": {"a": 1}}, expect=404)
    assert await call(api, "GET", f"/api/v1/lists/{lid}/accounts", alice) == []
    # Odd ids in the path are 404, never a 500
    for path in ("/api/v1/lists/abc", "/api/v1/lists/99999999999999999999", f"/api/v1/lists/{lid}x",
                 "/api/v1/timelines/list/-1", "/api/v1/timelines/list/%C2%B2"):
        await call(api, "GET", path, alice, expect=404)
    assert (await call(api, "GET", f"/api/v1/lists/{lid}", alice))["title"] == "ok"


async def test_list_timeline_replies_policy_and_visibility(api: Client, sign_in: SignIn) -> None:
    for name in ("carol", "dave"):
        await add_user(api, name)
    alice, bob, carol, dave = [await sign_in(n) for n in ("alice", "bob", "carol", "dave")]
    bob_id, carol_id = await _follow(api, alice, "bob", "carol")
    lid = (await call(api, "POST", "/api/v1/lists", alice, data={"title": "Bob"}))["id"]
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice, data={"account_ids[]": bob_id})
    dave_post = await post(api, dave, "dave speaks")
    carol_post = await post(api, carol, "carol speaks")
    plain = await post(api, bob, "bob speaks")
    own = await post(api, bob, "bob again", in_reply_to_id=plain["id"])
    to_carol = await post(api, bob, "@carol yes", in_reply_to_id=carol_post["id"])
    to_dave = await post(api, bob, "@dave no", in_reply_to_id=dave_post["id"])
    to_alice = await post(api, bob, "@alice hi", in_reply_to_id=(await post(api, alice, "mine"))["id"])
    secret = await post(api, bob, "@dave just us", visibility="direct")
    boost = await call(api, "POST", f"/api/v1/statuses/{carol_post['id']}/reblog", bob)
    path = f"/api/v1/timelines/list/{lid}"
    # Then `list` (the default): bob's posts, self-replies, replies to alice; not to carol (off the list) or dave
    base = [boost["id"], to_alice["id"], own["id"], plain["id"]]
    assert await _ids(api, path, alice) == base
    # And a direct post to dave is never shown to alice, by any policy
    assert secret["id"] not in await _ids(api, path, alice)
    # When carol joins the list, replies to her show
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice, data={"account_ids[]": carol_id})
    assert to_carol["id"] in await _ids(api, path, alice, limit="40")
    await call(api, "DELETE", f"/api/v1/lists/{lid}/accounts", alice, data={"account_ids[]": carol_id})
    # `followed`: replies to anyone alice follows (carol), not to dave
    await call(api, "PUT", f"/api/v1/lists/{lid}", alice, data={"replies_policy": "followed"})
    assert await _ids(api, path, alice) == [boost["id"], to_alice["id"], to_carol["id"], own["id"], plain["id"]]
    # `none`: no replies to others (to alice herself, and bob's own threads, still show)
    await call(api, "PUT", f"/api/v1/lists/{lid}", alice, data={"replies_policy": "none"})
    assert await _ids(api, path, alice) == base
    assert to_dave["id"] not in await _ids(api, path, alice, limit="40")
    # And it pages with a Link header
    resp = await api.get(path, params={"limit": "2"}, headers=auth(alice))
    assert [s["id"] for s in await resp.json()] == base[:2] and f"max_id={base[1]}" in resp.headers["Link"]


async def test_exclusive_list_keeps_its_members_out_of_home(api: Client, sign_in: SignIn) -> None:
    await add_user(api, "carol")
    alice, bob, carol = [await sign_in(n) for n in ("alice", "bob", "carol")]
    bob_id, _ = await _follow(api, alice, "bob", "carol")
    lid = (await call(api, "POST", "/api/v1/lists", alice, data={"title": "Bob", "exclusive": "true"}))["id"]
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice, data={"account_ids[]": bob_id})
    b, c = await post(api, bob, "from bob"), await post(api, carol, "from carol")
    # Then bob's post is on the list, not at home; carol's is at home
    assert await _ids(api, "/api/v1/timelines/home", alice) == [c["id"]]
    assert await _ids(api, f"/api/v1/timelines/list/{lid}", alice) == [b["id"]]
    # When the list stops being exclusive, bob is back at home
    await call(api, "PUT", f"/api/v1/lists/{lid}", alice, data={"exclusive": "false"})
    assert await _ids(api, "/api/v1/timelines/home", alice) == [c["id"], b["id"]]


async def test_list_stream_carries_members_posts_to_the_owner_only(api: Client, sign_in: SignIn) -> None:
    await add_user(api, "carol")
    alice, bob, carol = [await sign_in(n) for n in ("alice", "bob", "carol")]
    bob_id, _ = await _follow(api, alice, "bob", "carol")
    lid = (await call(api, "POST", "/api/v1/lists", alice, data={"title": "Bob"}))["id"]
    await call(api, "POST", f"/api/v1/lists/{lid}/accounts", alice, data={"account_ids[]": bob_id})
    # Someone else's list: refused on connect (404) and by a subscribe message
    resp = await api.get(f"/api/v1/streaming/list?list={lid}&access_token={carol}")
    assert resp.status == 404
    async with api.ws_connect(f"/api/v1/streaming?access_token={carol}") as ws:
        await ws.send_json({"type": "subscribe", "stream": "list", "list": lid})
        assert (await ws.receive_json(timeout=WAIT))["status"] == 404
        await ws.send_json({"type": "subscribe", "stream": "list"})
        assert (await ws.receive_json(timeout=WAIT))["status"] == 422
    # When alice streams her list and carol, then bob, post
    async with api.ws_connect(f"/api/v1/streaming?stream=list&list={lid}&access_token={alice}") as ws:
        await asyncio.sleep(0.2)
        await post(api, carol, "not on the list")
        mine = await post(api, bob, "on the list")
        # Then the first event is bob's, on ["list", id]
        message = await ws.receive_json(timeout=WAIT)
        assert message["stream"] == ["list", lid] and message["event"] == "update"
        assert json.loads(message["payload"])["id"] == mine["id"]
