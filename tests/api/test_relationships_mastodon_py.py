"""Mastodon.py (a real client library) on the account, relationship, bookmark and marker
endpoints: what it sends (form bodies, `id[]` lists, booleans) and what it parses back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import mastodon

from tests.api.conftest import SignIn
from tests.api.social import Client, account_id, add_user, post

T = TypeVar("T")


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    # Mastodon.py blocks; the node under test runs on this event loop, so call it from a thread.
    return await asyncio.to_thread(fn, *args, **kwargs)


def _client(api: Client, token: str) -> mastodon.Mastodon:
    return mastodon.Mastodon(access_token=token, api_base_url=str(api.make_url("")).rstrip("/"), version_check_mode="none")


async def test_mastodon_py_follows_mutes_blocks_and_reads_relationships(api: Client, sign_in: SignIn) -> None:
    await add_user(api, "lena", locked=True)
    alice = _client(api, await sign_in("alice"))
    bob_id, lena_id = int(await account_id(api, "bob")), int(await account_id(api, "lena"))
    # Follow an open account and a locked one
    assert (await _run(alice.account_follow, bob_id)).following is True
    assert (await _run(alice.account_follow, lena_id)).requested is True
    rels = await _run(alice.account_relationships, [bob_id, lena_id])
    assert [(int(r.id), r.following, r.requested) for r in rels] == [(bob_id, True, False), (lena_id, False, True)]
    # The locked account authorizes through the same library
    lena = _client(api, await sign_in("lena"))
    [asking] = await _run(lena.follow_requests)
    assert asking.acct == "alice"
    assert (await _run(lena.follow_request_authorize, asking.id)).followed_by is True
    assert (await _run(alice.account_relationships, lena_id))[0].following is True
    # Mute (posts only), block, and the lists of each
    muted = await _run(alice.account_mute, bob_id, notifications=False)
    assert (muted.muting, muted.muting_notifications) == (True, False)
    assert [a.acct for a in await _run(alice.mutes)] == ["bob"]
    assert (await _run(alice.account_unmute, bob_id)).muting is False
    blocked = await _run(alice.account_block, bob_id)
    assert (blocked.blocking, blocked.following) == (True, False)
    assert [a.acct for a in await _run(alice.blocks)] == ["bob"]
    assert (await _run(alice.account_unblock, bob_id)).blocking is False
    # Followers with real counts, read as Mastodon.py's Account entities
    followers = await _run(lena.account_followers, lena_id)
    assert [a.acct for a in followers] == ["alice"] and followers[0].following_count == 1


async def test_mastodon_py_profile_bookmarks_markers_and_notifications(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice")
    alice = _client(api, token)
    bob = await sign_in("bob")
    status = await post(api, bob, "worth keeping @alice")
    # Profile
    me = await _run(alice.account_update_credentials, display_name="Alice Liddell", note="Eng", locked=True)
    assert (me.display_name, me.locked, me.source.note) == ("Alice Liddell", True, "Eng")
    # Bookmarks
    assert (await _run(alice.status_bookmark, status["id"])).bookmarked is True
    assert [str(s.id) for s in await _run(alice.bookmarks)] == [status["id"]]
    assert (await _run(alice.status_unbookmark, status["id"])).bookmarked is False
    assert await _run(alice.bookmarks) == []
    # Markers
    saved = await _run(alice.markers_set, ["home", "notifications"], [int(status["id"]), 5])
    assert str(saved.home.last_read_id) == status["id"]
    read = await _run(alice.markers_get, "notifications")
    assert str(read.notifications.last_read_id) == "5" and "home" not in read
    # Notifications: the mention, dismissed, then cleared
    [mention] = await _run(alice.notifications)
    assert mention.type == "mention" and str(mention.status.id) == status["id"]
    await _run(alice.notifications_dismiss, mention.id)
    assert await _run(alice.notifications) == []
    await _run(alice.notifications_clear)
