"""Bookmarks, markers and notification housekeeping through the client API: each private to
the account that made it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.api.conftest import SignIn
from tests.api.social import Client, account_id, add_user, call, post


async def test_bookmark_list_and_unbookmark(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    first, second, third = [await post(api, bob, f"post {n}") for n in range(3)]
    # When alice bookmarks three posts (one twice)
    for status in (first, third, second, second):
        body = await call(api, "POST", f"/api/v1/statuses/{status['id']}/bookmark", alice)
        assert body["id"] == status["id"] and body["bookmarked"] is True
    # Then her list is newest bookmark first, paged with a Link header
    resp = await api.get("/api/v1/bookmarks", params={"limit": "2"}, headers={"Authorization": f"Bearer {alice}"})
    page = await resp.json()
    assert [s["id"] for s in page] == [second["id"], third["id"]] and all(s["bookmarked"] for s in page)
    nxt = urlsplit(resp.headers["Link"].split(",")[0].split(";")[0].strip()[1:-1])
    rest = await call(api, "GET", nxt.path, alice, params={k: v[0] for k, v in parse_qs(nxt.query).items()})
    assert [s["id"] for s in rest] == [first["id"]]
    # And every status alice reads says whether she bookmarked it; bob's view says not
    assert (await call(api, "GET", f"/api/v1/statuses/{first['id']}", alice))["bookmarked"] is True
    assert (await call(api, "GET", f"/api/v1/statuses/{first['id']}", bob))["bookmarked"] is False
    # And bob, who bookmarked nothing, sees none of hers
    assert await call(api, "GET", "/api/v1/bookmarks", bob) == []
    # When she unbookmarks one, it leaves her list
    body = await call(api, "POST", f"/api/v1/statuses/{third['id']}/unbookmark", alice)
    assert body["bookmarked"] is False
    assert [s["id"] for s in await call(api, "GET", "/api/v1/bookmarks", alice)] == [second["id"], first["id"]]


async def test_bookmark_needs_a_visible_post_and_its_scopes(api: Client, sign_in: SignIn) -> None:
    await add_user(api, "carol")
    alice, bob = await sign_in("alice"), await sign_in("bob")
    secret = await post(api, bob, "for my followers", visibility="private")
    public = await post(api, bob, "for all")
    await call(api, "POST", f"/api/v1/statuses/{secret['id']}/bookmark", alice, expect=404)
    await call(api, "POST", "/api/v1/statuses/99999999/bookmark", alice, expect=404)
    await call(api, "POST", f"/api/v1/statuses/{public['id']}/bookmark", await sign_in("alice", "read"), expect=403)
    await call(api, "GET", "/api/v1/bookmarks", await sign_in("alice", "read:statuses"), expect=403)
    await call(api, "POST", f"/api/v1/statuses/{public['id']}/bookmark", await sign_in("alice", "write:bookmarks"))
    assert len(await call(api, "GET", "/api/v1/bookmarks", await sign_in("alice", "read:bookmarks"))) == 1
    # A post that stops being visible (a follow ends) drops out of the list
    bob_id = await account_id(api, "bob")
    carol = await sign_in("carol")
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/follow", carol)
    await call(api, "POST", f"/api/v1/statuses/{secret['id']}/bookmark", carol)
    await call(api, "POST", f"/api/v1/accounts/{bob_id}/unfollow", carol)
    assert await call(api, "GET", "/api/v1/bookmarks", carol) == []


async def test_markers_save_by_form_and_json_and_stay_per_account(api: Client, sign_in: SignIn) -> None:
    alice, bob = await sign_in("alice"), await sign_in("bob")
    assert await call(api, "GET", "/api/v1/markers", alice) == {}
    # When alice saves her home position by form, then both by JSON
    saved = await call(api, "POST", "/api/v1/markers", alice, data={"home[last_read_id]": "105"})
    assert saved["home"]["last_read_id"] == "105" and saved["home"]["version"] == 0
    saved = await call(
        api, "POST", "/api/v1/markers", alice,
        json={"home": {"last_read_id": "110"}, "notifications": {"last_read_id": "7"}},
    )
    # Then each timeline has its position, and a saved one's version has grown
    assert (saved["home"]["last_read_id"], saved["home"]["version"]) == ("110", 1)
    assert (saved["notifications"]["last_read_id"], saved["notifications"]["version"]) == ("7", 0)
    only_home = await call(api, "GET", "/api/v1/markers?timeline[]=home", alice)
    assert list(only_home) == ["home"] and only_home["home"]["last_read_id"] == "110"
    both = await call(api, "GET", "/api/v1/markers", alice, params={"timeline[]": ["home", "notifications"]})
    assert sorted(both) == ["home", "notifications"] and both["home"]["updated_at"].endswith("Z")
    # And bob's markers are his own
    assert await call(api, "GET", "/api/v1/markers", bob) == {}
    await call(api, "POST", "/api/v1/markers", alice, expect=422, data={"home[last_read_id]": "abc"})
    await call(api, "POST", "/api/v1/markers", alice, expect=422, data={})
    await call(api, "POST", "/api/v1/markers", await sign_in("alice", "read"), expect=403, data={"home[last_read_id]": "1"})
    assert (await call(api, "GET", "/api/v1/markers", alice))["home"]["last_read_id"] == "110"


async def _notify_alice(api: Client, sign_in: SignIn) -> tuple[str, str]:
    """bob follows, favourites and mentions alice: three notifications."""
    alice, bob = await sign_in("alice"), await sign_in("bob")
    await call(api, "POST", f"/api/v1/accounts/{await account_id(api, 'alice')}/follow", bob)
    mine = await post(api, alice, "hi")
    await call(api, "POST", f"/api/v1/statuses/{mine['id']}/favourite", bob)
    await post(api, bob, "@alice hello")
    return alice, bob


async def test_notifications_filter_get_dismiss_and_clear(api: Client, sign_in: SignIn) -> None:
    alice, bob = await _notify_alice(api, sign_in)
    every = await call(api, "GET", "/api/v1/notifications", alice)
    assert [n["type"] for n in every] == ["mention", "favourite", "follow"]
    # Filtered by type, by excluded type, by sender
    assert [n["type"] for n in await call(api, "GET", "/api/v1/notifications?types[]=follow&types[]=mention", alice)] == [
        "mention", "follow"
    ]
    assert [n["type"] for n in await call(api, "GET", "/api/v1/notifications", alice, params={"exclude_types[]": "mention"})] == [
        "favourite", "follow"
    ]
    bob_id = await account_id(api, "bob")
    assert len(await call(api, "GET", "/api/v1/notifications", alice, params={"account_id": bob_id})) == 3
    assert await call(api, "GET", "/api/v1/notifications", alice, params={"account_id": "1"}) == []
    # One by id: hers only
    one = await call(api, "GET", f"/api/v1/notifications/{every[1]['id']}", alice)
    assert one["type"] == "favourite" and one["status"]["content"] == "<p>hi</p>"
    await call(api, "GET", f"/api/v1/notifications/{every[1]['id']}", bob, expect=404)
    await call(api, "POST", f"/api/v1/notifications/{every[1]['id']}/dismiss", bob, expect=404)
    # Dismissed (the current route and the old one with an id in the body), then cleared
    await call(api, "POST", f"/api/v1/notifications/{every[0]['id']}/dismiss", alice)
    await call(api, "POST", "/api/v1/notifications/dismiss", alice, data={"id": every[1]["id"]})
    assert [n["id"] for n in await call(api, "GET", "/api/v1/notifications", alice)] == [every[2]["id"]]
    await call(api, "POST", "/api/v1/notifications/clear", await sign_in("alice", "read"), expect=403)
    await call(api, "POST", "/api/v1/notifications/clear", alice)
    assert await call(api, "GET", "/api/v1/notifications", alice) == []
    await call(api, "GET", "/api/v1/notifications", await sign_in("alice", "write:notifications"), expect=403)
