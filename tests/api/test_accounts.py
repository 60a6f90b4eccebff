"""Accounts through the client API: own profile (read, update), by id and handle, search,
statuses, followers and following, with real counts."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from federation.parsing import IncomingActor
from node import remote
from tests.api.conftest import SignIn, auth
from tests.api.social import Client, account_id, add_user, call, node_of, post


async def test_counts_follow_posts_and_follows(api: Client, sign_in: SignIn) -> None:
    # Given alice wrote two posts and bob follows her
    alice, bob = await sign_in("alice"), await sign_in("bob")
    await post(api, alice, "one")
    await post(api, alice, "two")
    alice_id = await account_id(api, "alice")
    await call(api, "POST", f"/api/v1/accounts/{alice_id}/follow", bob)
    # When each reads their own and the other's account
    me = await call(api, "GET", "/api/v1/accounts/verify_credentials", alice)
    seen_by_anyone = await call(api, "GET", f"/api/v1/accounts/{alice_id}")
    bob_me = await call(api, "GET", "/api/v1/accounts/verify_credentials", bob)
    # Then the counts are the real ones
    assert (me["statuses_count"], me["followers_count"], me["following_count"]) == (2, 1, 0)
    assert seen_by_anyone["statuses_count"] == 2 and seen_by_anyone["followers_count"] == 1
    assert me["last_status_at"] is not None and len(me["last_status_at"]) == 10  # a date, as Mastodon
    assert (bob_me["statuses_count"], bob_me["following_count"]) == (0, 1)


async def test_update_credentials_by_form_and_json(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice")
    # When alice updates her profile with a form, booleans as 1
    body = await call(
        api, "PATCH", "/api/v1/accounts/update_credentials", token,
        data={"display_name": "Alice A.", "note": "Platform team", "locked": "1"},
    )
    assert (body["display_name"], body["note"], body["locked"]) == ("Alice A.", "<p>Platform team</p>", True)
    assert body["source"]["note"] == "Platform team"
    # And with JSON, where null leaves a field as it was and false is a boolean
    body = await call(
        api, "PATCH", "/api/v1/accounts/update_credentials", token,
        json={"display_name": None, "note": "Infra <b>team</b>", "locked": False},
    )
    assert (body["display_name"], body["locked"]) == ("Alice A.", False)
    # Then the change is what others see, the bio as text (markup typed in it is escaped)
    seen = await call(api, "GET", f"/api/v1/accounts/{body['id']}")
    assert seen["display_name"] == "Alice A." and seen["note"] == "<p>Infra &lt;b&gt;team&lt;/b&gt;</p>"
    assert body["source"]["note"] == "Infra <b>team</b>"


async def test_update_credentials_refuses_bad_input_and_narrow_tokens(api: Client, sign_in: SignIn) -> None:
    token = await sign_in("alice")
    await call(api, "PATCH", "/api/v1/accounts/update_credentials", token, expect=422, data={"display_name": "x" * 101})
    await call(api, "PATCH", "/api/v1/accounts/update_credentials", token, expect=422, data={"locked": "maybe"})
    reader = await sign_in("alice", "read")
    await call(api, "PATCH", "/api/v1/accounts/update_credentials", reader, expect=403, data={"note": "no"})
    await call(api, "PATCH", "/api/v1/accounts/update_credentials", None, expect=401, data={"note": "no"})
    # And nothing was lost or half-changed
    me = await call(api, "GET", "/api/v1/accounts/verify_credentials", token)
    assert me["display_name"] == "alice" and me["source"]["note"] == "" and me["locked"] is False


async def test_lookup_local_and_known_remote_accounts(api: Client) -> None:
    # Given a remote account this node knows (stored as federation stores one)
    ctx = node_of(api)
    actor = IncomingActor(
        id="http://127.0.0.1:9/users/pat", type="Person", username="pat", name="Pat", summary_html="",
        url=None, inbox="http://127.0.0.1:9/users/pat/inbox", shared_inbox=None, outbox=None,
        followers=None, following=None, key_id="http://127.0.0.1:9/users/pat#main-key",
        public_key_pem="", locked=False, also_known_as=(), moved_to=None,
    )
    await remote.upsert_actor(ctx, actor)
    # When it is looked up by user@host:port
    found = await call(api, "GET", "/api/v1/accounts/lookup", params={"acct": "pat@127.0.0.1:9"})
    # Then acct carries the host and port, and local handles work with or without the domain
    assert found["acct"] == "pat@127.0.0.1:9" and found["display_name"] == "Pat"
    assert (await call(api, "GET", "/api/v1/accounts/lookup", params={"acct": f"@bob@{ctx.domain}"}))["acct"] == "bob"
    assert (await call(api, "GET", "/api/v1/accounts/lookup", params={"acct": "bob"}))["username"] == "bob"
    await call(api, "GET", "/api/v1/accounts/lookup", expect=404, params={"acct": "pat@elsewhere.test"})
    await call(api, "GET", "/api/v1/accounts/lookup", expect=404, params={"acct": "x@bad host"})
    await call(api, "GET", "/api/v1/accounts/99999999", expect=404)


async def test_search_by_prefix_and_only_followed(api: Client, sign_in: SignIn) -> None:
    await add_user(api, "bobby")
    token = await sign_in("alice")
    bob_id = await account_id(api, "bob")
    both = await call(api, "GET", "/api/v1/accounts/search", token, params={"q": "bob"})
    assert sorted(a["username"] for a in both) == ["bob", "bobby"]
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", token)
    followed = await call(api, "GET", "/api/v1/accounts/search", token, params={"q": "bob", "following": "true"})
    assert [a["username"] for a in followed] == ["bob"]
    assert len(await call(api, "GET", "/api/v1/accounts/search", token, params={"q": "bob", "limit": "1"})) == 1


async def test_account_statuses_with_filters(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    first = await post(api, alice, "first")
    await post(api, alice, "a thread of mine", in_reply_to_id=first["id"])
    bobs = await post(api, bob, "bob's")
    await post(api, alice, "to bob", in_reply_to_id=bobs["id"])
    await call(api, "POST", f"/api/v1/statuses/{bobs['id']}/reblog", alice)
    alice_id = await account_id(api, "alice")
    path = f"/api/v1/accounts/{alice_id}/statuses"
    every = await call(api, "GET", path, bob)
    assert len(every) == 4 and every[0]["reblog"]["id"] == bobs["id"]
    no_boosts = await call(api, "GET", path, bob, params={"exclude_reblogs": "true"})
    assert [s["content"] for s in no_boosts if s["reblog"]] == [] and len(no_boosts) == 3
    no_replies = await call(api, "GET", path, bob, params={"exclude_replies": "1", "exclude_reblogs": "1"})
    assert sorted(s["id"] for s in no_replies) == sorted([first["id"], no_boosts[1]["id"]])
    assert await call(api, "GET", path, bob, params={"pinned": "true"}) == []  # none pinned (tests/api/test_pins.py)
    await call(api, "GET", "/api/v1/accounts/1/statuses", bob, expect=404)


async def test_followers_and_following_page_with_link_header(api: Client, sign_in: SignIn) -> None:
    # Given three people follow alice
    for name in ("carol", "dan"):
        await add_user(api, name)
    alice_id = await account_id(api, "alice")
    for name in ("bob", "carol", "dan"):
        await call(api, "POST", f"/api/v1/accounts/{alice_id}/follow", await sign_in(name))
    # When her followers are read two at a time
    path = f"/api/v1/accounts/{alice_id}/followers"
    resp = await api.get(path, params={"limit": "2"})
    first = [a["username"] for a in await resp.json()]
    nxt = resp.headers["Link"].split(",")[0].split(";")[0].strip()[1:-1]
    rest = await call(api, "GET", urlsplit(nxt).path, params={k: v[0] for k, v in parse_qs(urlsplit(nxt).query).items()})
    # Then the newest follows come first and the Link header leads to the rest
    assert first == ["dan", "carol"] and [a["username"] for a in rest] == ["bob"]
    assert first and all(a["following_count"] == 1 for a in rest)
    bob_id = await account_id(api, "bob")
    following = await call(api, "GET", f"/api/v1/accounts/{bob_id}/following", await sign_in("bob"))
    assert [a["username"] for a in following] == ["alice"] and following[0]["followers_count"] == 3
    assert (await api.get(path, headers=auth(await sign_in("bob", "read:statuses")))).status == 403
