"""Favourites and direct conversations through the client API: each the signed-in account's
own, each showing only posts the account may see (the same lists the web UI's pages show)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import ClientResponse

from tests.api.conftest import SignIn, auth
from tests.api.social import Client, account_id, add_user, call, post


def _next(resp: ClientResponse) -> tuple[str, dict[str, str]]:
    nxt = urlsplit(resp.headers["Link"].split(",")[0].split(";")[0].strip()[1:-1])
    return nxt.path, {k: v[0] for k, v in parse_qs(nxt.query).items()}


async def _direct(api: Client, token: str, text: str, reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
    extra = {"in_reply_to_id": reply_to["id"]} if reply_to else {}
    return await post(api, token, text, visibility="direct", **extra)


async def test_favourites_are_listed_newest_like_first_paged_and_private(api: Client, sign_in: SignIn) -> None:
    # Given three of bob's posts that alice favourites, the last one first
    alice, bob = await sign_in("alice"), await sign_in("bob")
    first, second, third = [await post(api, bob, f"post {n}") for n in range(3)]
    for status in (first, third, second):
        await call(api, "POST", f"/api/v1/statuses/{status['id']}/favourite", alice)
    # When she reads her favourites two at a time
    resp = await api.get("/api/v1/favourites", params={"limit": "2"}, headers=auth(alice))
    page = await resp.json()
    # Then they come newest like first, each marked favourited, and the Link header pages on
    assert [s["id"] for s in page] == [second["id"], third["id"]] and all(s["favourited"] for s in page)
    path, query = _next(resp)
    assert [s["id"] for s in await call(api, "GET", path, alice, params=query)] == [first["id"]]
    # And bob, who liked nothing, sees none of hers; unfavouriting takes one off
    assert await call(api, "GET", "/api/v1/favourites", bob) == []
    await call(api, "POST", f"/api/v1/statuses/{third['id']}/unfavourite", alice)
    assert [s["id"] for s in await call(api, "GET", "/api/v1/favourites", alice)] == [second["id"], first["id"]]
    # And the list needs read:favourites
    assert len(await call(api, "GET", "/api/v1/favourites", await sign_in("alice", "read:favourites"))) == 2
    await call(api, "GET", "/api/v1/favourites", await sign_in("alice", "read:statuses"), expect=403)
    await call(api, "GET", "/api/v1/favourites", expect=401)
    await call(api, "GET", "/api/v1/favourites?max_id=abc", alice, expect=422)


async def test_a_favourited_post_the_account_may_no_longer_see_is_not_listed(api: Client, sign_in: SignIn) -> None:
    # Given carol follows bob and favourites his followers-only post
    await add_user(api, "carol")
    bob, carol = await sign_in("bob"), await sign_in("carol")
    secret = await post(api, bob, "for my followers", visibility="private")
    open_post = await post(api, bob, "for all")
    bob_id = await account_id(api, "bob")
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", carol)
    for status in (open_post, secret):
        await call(api, "POST", f"/api/v1/statuses/{status['id']}/favourite", carol)
    assert len(await call(api, "GET", "/api/v1/favourites", carol)) == 2
    # When she stops following him
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/unfollow", carol)
    # Then the followers-only post leaves her favourites (a full page, not a short one)
    body = await call(api, "GET", "/api/v1/favourites", carol, params={"limit": "1"})
    assert [s["id"] for s in body] == [open_post["id"]]


async def test_conversations_group_direct_posts_by_thread_newest_first(api: Client, sign_in: SignIn) -> None:
    await add_user(api, "carol")
    alice, bob, carol = await sign_in("alice"), await sign_in("bob"), await sign_in("carol")
    alice_id, bob_id = await account_id(api, "alice"), await account_id(api, "bob")
    # Given alice writes to bob directly, and bob answers in the same thread
    hello = await _direct(api, alice, "@bob a word in private")
    answer = await _direct(api, bob, "@alice of course", reply_to=hello)
    # and a public post mentioning bob, which is no conversation
    await post(api, alice, "@bob in public")
    # When each reads their conversations
    for_alice = await call(api, "GET", "/api/v1/conversations", alice)
    for_bob = await call(api, "GET", "/api/v1/conversations", bob)
    # Then each has one, named by the thread's first post, its newest message last_status
    assert [c["id"] for c in for_alice] == [c["id"] for c in for_bob] == [hello["id"]]
    assert for_alice[0]["last_status"]["id"] == answer["id"]
    assert [a["id"] for a in for_alice[0]["accounts"]] == [bob_id]
    assert [a["id"] for a in for_bob[0]["accounts"]] == [alice_id]
    # And it is unread for alice (bob wrote last), read for bob (his own message)
    assert for_alice[0]["unread"] is True and for_bob[0]["unread"] is False
    # And carol, who is in none of it, has no conversation
    assert await call(api, "GET", "/api/v1/conversations", carol) == []
    # When carol writes to bob too, his newer conversation comes first, and the Link header pages
    other = await _direct(api, carol, "@bob lunch?")
    resp = await api.get("/api/v1/conversations", params={"limit": "1"}, headers=auth(bob))
    assert [c["id"] for c in await resp.json()] == [other["id"]]
    path, query = _next(resp)
    assert [c["id"] for c in await call(api, "GET", path, bob, params=query)] == [hello["id"]]
    # And when bob blocks carol, her messages leave his conversations, as they leave his timelines
    await call(api, "POST", f"/api/v1/accounts/{await account_id(api, 'carol')}/block", bob)
    assert [c["id"] for c in await call(api, "GET", "/api/v1/conversations", bob)] == [hello["id"]]


async def test_a_conversation_shows_only_the_messages_each_participant_was_part_of(
    api: Client, sign_in: SignIn
) -> None:
    # Given a thread where alice writes to bob, then brings carol in, then bob answers alice alone
    await add_user(api, "carol")
    alice, bob, carol = await sign_in("alice"), await sign_in("bob"), await sign_in("carol")
    root = await _direct(api, alice, "@bob just us: the secret plan")
    with_carol = await _direct(api, alice, "@bob @carol carol, join us", reply_to=root)
    private = await _direct(api, bob, "@alice not in front of carol", reply_to=with_carol)
    # When carol reads her conversations
    (conv,) = await call(api, "GET", "/api/v1/conversations", carol)
    # Then she sees the thread with the one message she was part of, never bob's private answer
    assert conv["last_status"]["id"] == with_carol["id"]
    assert sorted(a["acct"] for a in conv["accounts"]) == ["alice", "bob"]
    assert private["id"] not in str(conv) and root["id"] == conv["id"]
    # And alice's copy of it ends with bob's answer
    (mine,) = await call(api, "GET", "/api/v1/conversations", alice)
    assert mine["last_status"]["id"] == private["id"]
    # And a conversation carol is not in cannot be marked read or removed by her
    (alone,) = [await _direct(api, alice, "@bob another thread")]
    await call(api, "POST", f"/api/v1/conversations/{alone['id']}/read", carol, expect=404)
    await call(api, "DELETE", f"/api/v1/conversations/{alone['id']}", carol, expect=404)
    await call(api, "POST", "/api/v1/conversations/99999999/read", carol, expect=404)


async def test_reading_and_removing_a_conversation_are_the_accounts_own(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    hello = await _direct(api, alice, "@bob are you there?")
    # When bob marks it read
    read = await call(api, "POST", f"/api/v1/conversations/{hello['id']}/read", bob)
    # Then it is read, in the answer and in his list
    assert read["unread"] is False and read["last_status"]["id"] == hello["id"]
    assert (await call(api, "GET", "/api/v1/conversations", bob))[0]["unread"] is False
    # When he removes it, it leaves his list only
    assert await call(api, "DELETE", f"/api/v1/conversations/{hello['id']}", bob) == {}
    assert await call(api, "GET", "/api/v1/conversations", bob) == []
    assert len(await call(api, "GET", "/api/v1/conversations", alice)) == 1
    # And a new message brings it back, unread
    again = await _direct(api, alice, "@bob hello again", reply_to=hello)
    (back,) = await call(api, "GET", "/api/v1/conversations", bob)
    assert back["last_status"]["id"] == again["id"] and back["unread"] is True
    # And the scopes are Mastodon's: read:statuses lists, write:conversations changes
    assert len(await call(api, "GET", "/api/v1/conversations", await sign_in("bob", "read:statuses"))) == 1
    await call(api, "GET", "/api/v1/conversations", await sign_in("bob", "read:favourites"), expect=403)
    await call(api, "POST", f"/api/v1/conversations/{hello['id']}/read", await sign_in("bob", "read"), expect=403)
    await call(api, "POST", f"/api/v1/conversations/{hello['id']}/read", await sign_in("bob", "write:conversations"))
    await call(api, "GET", "/api/v1/conversations", expect=401)
