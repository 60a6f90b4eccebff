"""Mastodon.py (a real client library) with a community, as a Mastodon app meets a Lemmy one:
it finds the community by search, sees a group account, follows it to join, posts to it by
mentioning it, and reads its re-shares on the community's profile and in a member's home."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import mastodon

from node import accounts, communities
from tests.api.conftest import SignIn
from tests.api.social import Client, add_user, node_of

T = TypeVar("T")


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    # Mastodon.py blocks; the node under test runs on this event loop, so call it from a thread.
    return await asyncio.to_thread(fn, *args, **kwargs)


def _client(api: Client, token: str) -> mastodon.Mastodon:
    return mastodon.Mastodon(access_token=token, api_base_url=str(api.make_url("")).rstrip("/"), version_check_mode="none")


async def test_mastodon_py_joins_a_community_and_posts_to_it(api: Client, sign_in: SignIn) -> None:
    # Given an open organisation community moderated by alice, and one that asks for approval
    ctx = node_of(api)
    alice_account = await accounts.get_local(ctx, "alice")
    await communities.create_community(ctx, "engineering-guild", audience="organization", creator=alice_account,
                                       display_name="Engineering Guild")
    await communities.create_community(ctx, "reviewers", audience="organization", mode="approval", creator=alice_account)
    await add_user(api, "carol")
    alice, bob, carol = [_client(api, await sign_in(n)) for n in ("alice", "bob", "carol")]
    # When bob finds it by search, as an account that is a group
    [guild] = (await _run(bob.search_v2, "engineering", result_type="accounts")).accounts
    assert (guild.acct, guild.group, guild.bot, guild.locked, guild.display_name) == (
        "engineering-guild", True, False, False, "Engineering Guild")
    # And follows it: he is a member at once; following the approval one asks to join
    assert (await _run(bob.account_follow, guild.id)).following is True
    reviewers = await _run(bob.account_lookup, "reviewers")
    asked = await _run(bob.account_follow, reviewers.id)
    assert (asked.following, asked.requested, reviewers.locked) == (False, True, True)
    # When he posts mentioning it, as one posts to a Lemmy community from Mastodon
    status = await _run(bob.status_post, "@engineering-guild the release branch is cut")
    # Then the post is the community's audience (Mastodon reads it as unlisted), and the group re-shares it
    assert (status.visibility, status.atrium_visibility) == ("unlisted", "organization")
    [share] = await _run(carol.account_statuses, guild.id)
    assert (share.account.acct, share.reblog.id, share.reblog.account.acct) == ("engineering-guild", status.id, "bob")
    # And alice, a member, reads it in her home; carol, who is not, does not
    assert share.id in [s.id for s in await _run(alice.timeline_home)]
    assert share.id not in [s.id for s in await _run(carol.timeline_home)]
    # When bob unfollows, he has left: a new mention is an ordinary post
    assert (await _run(bob.account_unfollow, guild.id)).following is False
    plain = await _run(bob.status_post, "@engineering-guild bye", visibility="public")
    assert plain.visibility == "public"
    assert [s.id for s in await _run(carol.account_statuses, guild.id)] == [share.id]
