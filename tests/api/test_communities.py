"""Communities through the client API, as Mastodon apps see them: an account with `group: true`
that one follows to join (through the one joining rule), mentions to post to, and reads the
re-shares of; kept out of people listings, found by search; moderated on one node."""

from __future__ import annotations

from typing import Any

import pytest

from node import accounts, communities, follows, posts
from node.posts import NewPost
from storage.errors import Conflict, Forbidden
from storage.models import Account
from tests.api.conftest import SignIn
from tests.api.social import Client, add_user, call, node_of, post

JSON = dict[str, Any]


async def _community(api: Client, name: str, *, audience: str = "organization", mode: str = "open",
                     moderator: str | None = "alice") -> str:
    ctx = node_of(api)
    creator = await accounts.get_local(ctx, moderator) if moderator else None
    group = await communities.create_community(ctx, name, audience=audience, mode=mode, creator=creator,
                                               description=f"all about {name}")
    return str(group.id)


async def _me(api: Client, name: str) -> Account:
    return await accounts.get_local(node_of(api), name)


async def _home_ids(api: Client, token: str) -> list[str]:
    return [s["id"] for s in await call(api, "GET", "/api/v1/timelines/home", token)]


async def test_a_community_is_a_group_account_found_by_search_and_lookup(api: Client, sign_in: SignIn) -> None:
    # Given an open organisation community and one by approval
    guild = await _community(api, "guild")
    asking = await _community(api, "asking", mode="approval")
    bob = await sign_in("bob")
    # When bob reads them
    entity = await call(api, "GET", f"/api/v1/accounts/{guild}", bob)
    locked = await call(api, "GET", f"/api/v1/accounts/{asking}", bob)
    # Then each is a group, no bot, locked when not open, with its description and first member
    assert (entity["group"], entity["bot"], entity["locked"], entity["acct"]) == (True, False, False, "guild")
    assert entity["note"] and "all about guild" in entity["note"] and entity["followers_count"] == 1
    assert (locked["group"], locked["locked"]) == (True, True)
    # And people are not groups
    alice = await call(api, "GET", "/api/v1/accounts/lookup", bob, params={"acct": "alice"})
    assert alice["group"] is False
    # And search and lookup find a community as an account
    found = await call(api, "GET", "/api/v2/search", bob, params={"q": "guil", "type": "accounts"})
    assert [a["acct"] for a in found["accounts"]] == ["guild"]
    assert (await call(api, "GET", "/api/v1/accounts/lookup", bob, params={"acct": "guild"}))["id"] == guild
    assert [a["id"] for a in await call(api, "GET", "/api/v1/accounts/search", bob, params={"q": "asking"})] == [asking]


async def test_the_open_web_sees_only_the_communities_the_policy_lets_it(api: Client, sign_in: SignIn) -> None:
    # Given a public community, an organisation one and one for this node only
    public = await _community(api, "town-square", audience="public")
    org = await _community(api, "org-guild", audience="organization")
    local = await _community(api, "local-club", audience="local")
    # Then an anonymous reader finds the public one, and the others are as if they did not exist
    assert (await call(api, "GET", f"/api/v1/accounts/{public}"))["group"] is True
    for hidden, name in ((org, "org-guild"), (local, "local-club")):
        await call(api, "GET", f"/api/v1/accounts/{hidden}", expect=404)
        await call(api, "GET", f"/api/v1/accounts/{hidden}/statuses", expect=404)
        await call(api, "GET", f"/api/v1/accounts/{hidden}/followers", expect=404)
        await call(api, "GET", "/api/v1/accounts/lookup", params={"acct": name}, expect=404)
        found = await call(api, "GET", "/api/v2/search", params={"q": name, "type": "accounts"})
        assert found["accounts"] == []
    found = await call(api, "GET", "/api/v1/accounts/search", params={"q": "town"})
    assert [a["id"] for a in found] == [public]
    # And bob, a member of all three, is listed following only the public one (a signed-in reader: all)
    bob = await _me(api, "bob")
    for group in (public, org, local):
        await communities.join(node_of(api), bob, int(group))
    following = await call(api, "GET", f"/api/v1/accounts/{bob.id}/following")
    assert [a["id"] for a in following] == [public]
    alice = await sign_in("alice")
    following = await call(api, "GET", f"/api/v1/accounts/{bob.id}/following", alice)
    assert sorted(a["id"] for a in following) == sorted([public, org, local])


async def test_following_a_community_joins_it_by_its_rule(api: Client, sign_in: SignIn) -> None:
    # Given an open, an approval and an invitation-only community, moderated by alice
    guild = await _community(api, "guild")
    asking = await _community(api, "asking", mode="approval")
    closed = await _community(api, "closed", mode="invite")
    bob = await sign_in("bob")
    # When bob follows each
    joined = await call(api, "POST", f"/api/v1/accounts/{guild}/follow", bob)
    requested = await call(api, "POST", f"/api/v1/accounts/{asking}/follow", bob)
    refused = await call(api, "POST", f"/api/v1/accounts/{closed}/follow", bob, expect=403)
    # Then he is a member of the open one, asks to join the second, and is told why not the third
    assert (joined["following"], joined["requested"]) == (True, False)
    assert (requested["following"], requested["requested"]) == (False, True)
    assert "invitation" in refused["error"]
    ctx = node_of(api)
    me = await _me(api, "bob")
    assert me.id in [a.id for a in await communities.members(ctx, int(guild))]
    assert [a.id for a in await communities.pending(ctx, int(asking))] == [me.id]
    # When alice (moderator) approves, and invites him to the closed one
    alice = await _me(api, "alice")
    await communities.approve(ctx, alice, int(asking), me.id)
    await communities.invite(ctx, alice, int(closed), me.id)
    assert (await call(api, "POST", f"/api/v1/accounts/{closed}/follow", bob))["following"] is True
    rels = await call(api, "GET", "/api/v1/accounts/relationships", bob, params={"id[]": [guild, asking, closed]})
    assert [r["following"] for r in rels] == [True, True, True]
    # And unfollowing leaves
    left = await call(api, "POST", f"/api/v1/accounts/{guild}/unfollow", bob)
    assert left["following"] is False
    assert me.id not in [a.id for a in await communities.members(ctx, int(guild))]


async def test_a_plain_follow_of_a_community_cannot_skip_its_rule(api: Client) -> None:
    # Given an invitation-only community
    closed = await _community(api, "closed", mode="invite")
    bob = await _me(api, "bob")
    # Then following its account directly (the node's follow of a person) is refused, not made a request
    with pytest.raises(Forbidden, match="joined"):
        await follows.follow(node_of(api), bob, int(closed))
    assert await communities.pending(node_of(api), int(closed)) == []


async def test_a_post_that_mentions_a_joined_community_is_written_to_it(api: Client, sign_in: SignIn) -> None:
    # Given an organisation community with alice (moderator) and bob as members, and carol not
    guild = await _community(api, "guild")
    await add_user(api, "carol")
    alice, bob, carol = await sign_in("alice"), await sign_in("bob"), await sign_in("carol")
    await call(api, "POST", f"/api/v1/accounts/{guild}/follow", bob)
    # When bob posts, as Mastodon apps do (public), mentioning the community
    status = await post(api, bob, "@guild the build is green again", visibility="public")
    # Then the post takes the community's audience, and the community re-shares it
    assert status["atrium_visibility"] == "organization" and status["visibility"] == "unlisted"
    shares = await call(api, "GET", f"/api/v1/accounts/{guild}/statuses", alice)
    assert [(s["reblog"]["id"], s["account"]["acct"]) for s in shares] == [(status["id"], "guild")]
    # And alice, a member, has the re-share at home; carol, not a member, has nothing of it
    assert shares[0]["id"] in await _home_ids(api, alice)
    assert not {status["id"], shares[0]["id"]} & set(await _home_ids(api, carol))
    # When carol (not a member) mentions it, it is an ordinary post with a mention
    theirs = await post(api, carol, "@guild can I join?", visibility="public")
    assert theirs["atrium_visibility"] == "public"
    # And a direct message, or a local post mentioning an organisation community, stays what it was
    direct = await post(api, bob, "@guild @alice just between us", visibility="direct")
    local = await post(api, bob, "@guild lunch downstairs", visibility="local")
    assert (direct["atrium_visibility"], local["atrium_visibility"]) == ("direct", "local")
    shares = await call(api, "GET", f"/api/v1/accounts/{guild}/statuses", alice)
    assert [s["reblog"]["id"] for s in shares] == [status["id"]]


async def test_communities_stay_out_of_people_listings(api: Client, sign_in: SignIn) -> None:
    # Given a community bob joined, and carol whom bob follows
    guild = await _community(api, "guild", moderator="bob")
    await add_user(api, "carol")
    alice, bob = await sign_in("alice"), await sign_in("bob")
    carol_id = str((await _me(api, "carol")).id)
    await call(api, "POST", f"/api/v1/accounts/{carol_id}/follow", bob)
    await post(api, bob, "hello")
    await post(api, bob, "@guild a post in the community")
    # Then the directory lists people only, in either order
    for order in ("active", "new"):
        people = await call(api, "GET", "/api/v1/directory", alice, params={"order": order})
        assert "guild" not in [a["acct"] for a in people] and "bob" in [a["acct"] for a in people]
    # And suggestions (alice follows bob: bob's follows are her friends of friends) name carol, not guild
    await call(api, "POST", f"/api/v1/accounts/{(await _me(api, 'bob')).id}/follow", alice)
    suggested = [s["account"]["acct"] for s in await call(api, "GET", "/api/v2/suggestions", alice)]
    assert "carol" in suggested and "guild" not in suggested
    # And the node's list of people (the admin page and `atrium user list`) has no community
    assert "guild" not in [a.username for a in await accounts.list_users(node_of(api))]
    # While search finds it, as Mastodon apps find Lemmy's communities
    found = await call(api, "GET", "/api/v2/search", alice, params={"q": "guild", "type": "accounts"})
    assert [a["id"] for a in found["accounts"]] == [guild]


async def test_moderators_remove_posts_and_members_on_one_node(api: Client, sign_in: SignIn) -> None:
    # Given a community moderated by alice with bob and carol as members, and a post from carol
    guild = await _community(api, "guild")
    await add_user(api, "carol")
    await add_user(api, "root")
    alice, bob, carol = await sign_in("alice"), await sign_in("bob"), await sign_in("carol")
    for token in (bob, carol):
        await call(api, "POST", f"/api/v1/accounts/{guild}/follow", token)
    spam = await post(api, carol, "@guild buy my stuff")
    fine = await post(api, bob, "@guild on topic")
    [share_fine, share_spam] = [s["id"] for s in await call(api, "GET", f"/api/v1/accounts/{guild}/statuses", bob)]
    assert share_spam in await _home_ids(api, bob)
    ctx = node_of(api)
    # When bob (not a moderator) tries to remove it, he may not
    with pytest.raises(Forbidden):
        await communities.remove_post(ctx, await _me(api, "bob"), int(guild), int(spam["id"]))
    # When alice removes it
    await communities.remove_post(ctx, await _me(api, "alice"), int(guild), int(spam["id"]))
    # Then it leaves the community's statuses and the members' homes; bob's stays
    shares = await call(api, "GET", f"/api/v1/accounts/{guild}/statuses", bob)
    assert [s["reblog"]["id"] for s in shares] == [fine["id"]] and shares[0]["id"] == share_fine
    assert share_spam not in await _home_ids(api, bob)
    await call(api, "GET", f"/api/v1/statuses/{spam['id']}", carol, expect=404)
    # When an admin of the node (no moderator of it) removes carol
    await accounts.set_role(ctx, "root", "admin")
    await communities.remove_member(ctx, await _me(api, "root"), int(guild), (await _me(api, "carol")).id)
    # Then she is no member: the community's posts leave her home, and she may no longer write to it
    assert share_fine not in await _home_ids(api, carol)
    rel = (await call(api, "GET", "/api/v1/accounts/relationships", carol, params={"id[]": guild}))[0]
    assert rel["following"] is False
    again = await post(api, carol, "@guild I am back")
    assert again["atrium_visibility"] == "public"
    assert len(await call(api, "GET", f"/api/v1/accounts/{guild}/statuses", alice)) == 1


async def test_names_are_shared_by_people_and_communities_case_insensitively(api: Client) -> None:
    ctx = node_of(api)
    # A community named like a person, in other letters, is refused; a person named like a community too
    await _community(api, "guild")
    with pytest.raises(Conflict, match="already exists"):
        await communities.create_community(ctx, "ALICE", audience="public")
    with pytest.raises(Conflict, match="taken by a community"):
        await accounts.create_user(ctx, "Guild", "long enough password")
    assert [a.username for a in await accounts.list_users(ctx)] == ["alice", "bob"]


async def test_a_reply_written_to_a_community_reaches_no_further_than_its_parent(api: Client, sign_in: SignIn) -> None:
    # Given a public community bob joined, and alice's post for the organisation only
    town = await _community(api, "town-square", audience="public", moderator="bob")
    alice, bob = await sign_in("alice"), await sign_in("bob")
    inside = await post(api, alice, "Q3 numbers, inside Acme", visibility="organization")
    # When bob replies to it mentioning the public community, the reply keeps its parent's
    # audience and is no community post (the community's audience would widen it)
    reply = await post(api, bob, "@town-square @alice worth a look", visibility="public", in_reply_to_id=inside["id"])
    assert reply["atrium_visibility"] == "organization"
    assert await call(api, "GET", f"/api/v1/accounts/{town}/statuses", bob) == []
    # When he writes the reply to the community itself (as the web UI's community composer does)
    written = await posts.create_post(node_of(api), await _me(api, "bob"), NewPost(
        "for the town", visibility="public", in_reply_to_id=int(inside["id"]), community_id=int(town)))
    # Then it is in the community, and still reaches no further than the post it answers
    assert (written.visibility, written.community_id) == ("organization", int(town))
    shares = await call(api, "GET", f"/api/v1/accounts/{town}/statuses", bob)
    assert [s["reblog"]["id"] for s in shares] == [str(written.id)]
    # And the open web sees neither the reply nor the community's re-share of it
    assert await call(api, "GET", f"/api/v1/accounts/{town}/statuses") == []
    await call(api, "GET", f"/api/v1/statuses/{written.id}", expect=404)
