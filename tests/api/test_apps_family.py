"""The small API families of issue #20 that apps call from their first screens: the app a token
belongs to (`apps/verify_credentials`), preferences stored per person (`/api/v1/preferences`,
written by `update_credentials` `source[...]`), who liked or boosted a status (`favourited_by`,
`reblogged_by`), and the organisation timeline with its stream (`timelines/organization`,
stream `organization`). Each only ever shows a reader what it may see."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient

from node import accounts, blocks, follows, mutes
from node.audience import Audience
from node.policy import PeerRule
from storage.models import Account, Post
from tests.api.conftest import PASSWORD, SignIn, auth, register_app
from tests.api.social import node_of

Client = TestClient[Any, Any]
JSON = dict[str, Any]
WAIT = 60.0
ORG_PEER = "sales.acme.test"
PARTNER_PEER = "partner.test"


async def _post(api: Client, token: str, **data: str) -> JSON:
    resp = await api.post("/api/v1/statuses", data=data, headers=auth(token))
    body: JSON = await resp.json()
    assert resp.status == 200, body
    return body


async def _get(api: Client, path: str, token: str | None = None, status: int = 200) -> Any:
    resp = await api.get(path, headers=auth(token) if token else {})
    body = await resp.json()
    assert resp.status == status, (path, body)
    return body


# apps/verify_credentials


async def test_an_app_token_and_a_user_token_each_name_their_app(api: Client, sign_in: SignIn) -> None:
    # Given an app with a token of its own (client credentials) and a user's token of another app
    app = await register_app(api, website="https://client.example")
    resp = await api.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                 "client_secret": app["client_secret"], "scope": "read"})
    app_token = (await resp.json())["access_token"]
    user_token = await sign_in("alice")
    # When each asks which app it is
    mine = await _get(api, "/api/v1/apps/verify_credentials", app_token)
    users = await _get(api, "/api/v1/apps/verify_credentials", user_token)
    # Then the app token's is its app, as Mastodon's Application entity, without its credentials
    assert mine["name"] == "test client" and mine["website"] == "https://client.example"
    assert mine["scopes"] == ["follow", "push", "read", "write"]
    assert "client_secret" not in mine and "client_id" not in mine
    assert users["name"] == "test client" and users["id"] != mine["id"]
    # And without a token, or with a wrong one, it is 401
    await _get(api, "/api/v1/apps/verify_credentials", None, 401)
    await _get(api, "/api/v1/apps/verify_credentials", "not-a-token", 401)


# preferences


async def test_preferences_start_as_mastodons_and_are_what_the_person_saved(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    # Given alice who never saved a preference
    prefs = await _get(api, "/api/v1/preferences", alice)
    assert prefs == {"posting:default:visibility": "public", "posting:default:sensitive": False,
                     "posting:default:language": None, "reading:expand:media": "default",
                     "reading:expand:spoilers": False, "atrium:posting:default:visibility": "public"}
    # When she saves followers-only, sensitive and German through update_credentials' source[...]
    resp = await api.patch("/api/v1/accounts/update_credentials", headers=auth(alice),
                           data={"source[privacy]": "private", "source[sensitive]": "true", "source[language]": "de"})
    me = await resp.json()
    assert resp.status == 200, me
    # Then her account's source and her preferences say so
    assert (me["source"]["privacy"], me["source"]["sensitive"], me["source"]["language"]) == ("private", True, "de")
    prefs = await _get(api, "/api/v1/preferences", alice)
    assert prefs["posting:default:visibility"] == "private" and prefs["posting:default:sensitive"] is True
    assert prefs["posting:default:language"] == "de"
    # And a post that says nothing of them starts from them
    post = await _post(api, alice, status="ohne Angabe")
    assert (post["visibility"], post["sensitive"], post["language"]) == ("private", True, "de")
    # When she chooses the organisation (Atrium's word) by a JSON body, and clears the language
    resp = await api.patch("/api/v1/accounts/update_credentials", headers=auth(alice),
                           json={"source": {"privacy": "organization", "language": "", "sensitive": False}})
    assert resp.status == 200
    prefs = await _get(api, "/api/v1/preferences", alice)
    # Then Mastodon's word for it is `unlisted`, and Atrium's own is beside it
    assert prefs["posting:default:visibility"] == "unlisted"
    assert prefs["atrium:posting:default:visibility"] == "organization"
    assert prefs["posting:default:language"] is None and prefs["posting:default:sensitive"] is False
    post = await _post(api, alice, status="for the organisation")
    assert post["atrium_visibility"] == "organization"
    # And bob's are his own: still the defaults
    assert (await _get(api, "/api/v1/preferences", await sign_in("bob")))["posting:default:visibility"] == "public"


@pytest.mark.parametrize("body", [
    {"source[privacy]": "everyone"},
    {"source[privacy]": "x" * 5000},
    {"source[language]": "english"},
    {"source[language]": "d3"},
    {"source[language]": "de'; DROP TABLE accounts; --"},
    {"source[sensitive]": "maybe"},
    {"source[privacy]": "private", "source[language]": "\u0000"},
])
async def test_hostile_preferences_are_refused_and_nothing_is_written(
    api: Client, sign_in: SignIn, body: dict[str, str]
) -> None:
    alice = await sign_in("alice")
    # When alice sends a preference no client could mean, beside a valid display name
    resp = await api.patch("/api/v1/accounts/update_credentials", headers=auth(alice),
                           data={**body, "display_name": "Changed"})
    # Then it is a 422 with a reason, and neither the preferences nor the profile changed
    assert resp.status == 422, await resp.text()
    assert (await resp.json())["error"]
    assert (await _get(api, "/api/v1/preferences", alice))["posting:default:visibility"] == "public"
    assert (await accounts.get_local(node_of(api), "alice")).display_name != "Changed"


@pytest.mark.parametrize("source", [["private"], "private", {"privacy": ["a", "b"]}, {"language": 12},
                                    {"sensitive": {"x": 1}}])
async def test_hostile_json_sources_are_refused(api: Client, sign_in: SignIn, source: object) -> None:
    alice = await sign_in("alice")
    resp = await api.patch("/api/v1/accounts/update_credentials", headers=auth(alice), json={"source": source})
    if isinstance(source, (list, str)):  # not an object: Mastodon ignores it, so does Atrium
        assert resp.status == 200
    else:
        assert resp.status == 422, await resp.text()
    assert (await _get(api, "/api/v1/preferences", alice))["posting:default:visibility"] == "public"


async def test_preferences_need_a_user_token_with_read_accounts(api: Client, sign_in: SignIn) -> None:
    await _get(api, "/api/v1/preferences", None, 401)
    await _get(api, "/api/v1/preferences", await sign_in("alice", "read:statuses"), 403)


# favourited_by and reblogged_by


async def test_who_liked_and_boosted_a_post_with_link_pagination(api: Client, sign_in: SignIn) -> None:
    ctx = node_of(api)
    names = ["carol", "dave", "erin"]
    for name in names:
        await accounts.create_user(ctx, name, PASSWORD)
    alice = await sign_in("alice")
    tokens = {n: await sign_in(n) for n in names}
    # Given a public post of alice's liked by carol, dave and erin (in that order) and boosted by two
    post = await _post(api, alice, status="launch day")
    for name in names:
        assert (await api.post(f"/api/v1/statuses/{post['id']}/favourite", headers=auth(tokens[name]))).status == 200
    for name in names[:2]:
        assert (await api.post(f"/api/v1/statuses/{post['id']}/reblog", headers=auth(tokens[name]))).status == 200
    # When alice reads who liked it, two at a time
    resp = await api.get(f"/api/v1/statuses/{post['id']}/favourited_by?limit=2", headers=auth(alice))
    first = [a["username"] for a in await resp.json()]
    # Then the newest likes come first, and the Link header's next page holds the rest
    assert first == ["erin", "dave"]
    nxt = resp.headers["Link"].split(";")[0].strip("<>")
    assert "max_id" in parse_qs(urlsplit(nxt).query)
    rest = await _get(api, urlsplit(nxt).path + "?" + urlsplit(nxt).query, alice)
    assert [a["username"] for a in rest] == ["carol"]
    # And who boosted it is the two boosters, as Account entities
    boosters = await _get(api, f"/api/v1/statuses/{post['id']}/reblogged_by", alice)
    assert [a["username"] for a in boosters] == ["dave", "carol"] and "followers_count" in boosters[0]
    # And an anonymous reader of a public post reads the same lists
    assert len(await _get(api, f"/api/v1/statuses/{post['id']}/favourited_by")) == 3


async def test_a_followers_only_posts_likers_are_404_to_a_stranger(api: Client, sign_in: SignIn) -> None:
    ctx = node_of(api)
    await accounts.create_user(ctx, "carol", PASSWORD)
    alice, bob, carol = await sign_in("alice"), await sign_in("bob"), await sign_in("carol")
    alice_acc, bob_acc = await accounts.get_local(ctx, "alice"), await accounts.get_local(ctx, "bob")
    # Given a followers-only post of alice's, liked by bob who follows her
    await follows.follow(ctx, bob_acc, alice_acc.id)
    post = await _post(api, alice, status="for my followers", visibility="private")
    assert (await api.post(f"/api/v1/statuses/{post['id']}/favourite", headers=auth(bob))).status == 200
    # Then bob and alice read who liked it
    assert [a["username"] for a in await _get(api, f"/api/v1/statuses/{post['id']}/favourited_by", bob)] == ["bob"]
    assert len(await _get(api, f"/api/v1/statuses/{post['id']}/favourited_by", alice)) == 1
    # But carol (a stranger) and an anonymous reader get 404, as for a post that does not exist
    for path in ("favourited_by", "reblogged_by"):
        await _get(api, f"/api/v1/statuses/{post['id']}/{path}", carol, 404)
        await _get(api, f"/api/v1/statuses/{post['id']}/{path}", None, 404)
        await _get(api, f"/api/v1/statuses/999999999/{path}", carol, 404)
        await _get(api, f"/api/v1/statuses/not-an-id/{path}", carol, 404)
    # And an organisation post is 404 to the open web too
    inward = await _post(api, alice, status="inside", visibility="organization")
    await _get(api, f"/api/v1/statuses/{inward['id']}/favourited_by", None, 404)
    assert (await _get(api, f"/api/v1/statuses/{inward['id']}/favourited_by", carol)) == []


async def test_likers_the_reader_blocks_or_mutes_or_who_block_the_reader_are_left_out(
    api: Client, sign_in: SignIn
) -> None:
    ctx = node_of(api)
    for name in ("carol", "dave", "erin"):
        await accounts.create_user(ctx, name, PASSWORD)
    alice = await sign_in("alice")
    acc = {n: await accounts.get_local(ctx, n) for n in ("alice", "bob", "carol", "dave", "erin")}
    post = await _post(api, alice, status="likeable")
    for name in ("bob", "carol", "dave", "erin"):
        assert (await api.post(f"/api/v1/statuses/{post['id']}/favourite", headers=auth(await sign_in(name)))).status == 200
    # Given alice blocks bob, mutes carol, and dave blocks alice
    await blocks.block(ctx, acc["alice"], acc["bob"].id)
    await mutes.mute(ctx, acc["alice"], acc["carol"].id)
    await blocks.block(ctx, acc["dave"], acc["alice"].id)
    # Then alice sees only erin among who liked her post; an anonymous reader sees all four
    assert [a["username"] for a in await _get(api, f"/api/v1/statuses/{post['id']}/favourited_by", alice)] == ["erin"]
    assert len(await _get(api, f"/api/v1/statuses/{post['id']}/favourited_by")) == 4


@pytest.mark.parametrize("query", ["limit=abc", "max_id=-1", "since_id=1e9", "limit=" + "9" * 5000, "min_id=%00"])
async def test_hostile_pagination_of_likers_is_refused(api: Client, sign_in: SignIn, query: str) -> None:
    alice = await sign_in("alice")
    post = await _post(api, alice, status="x")
    resp = await api.get(f"/api/v1/statuses/{post['id']}/favourited_by?{query}", headers=auth(alice))
    assert resp.status in (200, 422), await resp.text()
    assert "Traceback" not in await resp.text()


# the organisation timeline and its stream


def _with_peers(api: Client) -> None:
    """The node trusts sales as `organization` and a partner as `partner`."""
    ctx = node_of(api)
    policy = replace(ctx.policy(), peers=(PeerRule(ORG_PEER, "organization"), PeerRule(PARTNER_PEER, "partner")))
    ctx.policy = lambda: policy


async def _remote(api: Client, username: str, domain: str) -> Account:
    account = Account(username=username, domain=domain, display_name=username, bio="", role="user", disabled=False,
                      locked=False, credentials_version=0, actor_uri=f"https://{domain}/users/{username}",
                      url=f"https://{domain}/@{username}")
    async with node_of(api).db.session() as s:
        s.add(account)
    return account


async def _remote_post(api: Client, author: Account, text: str, audience: Audience) -> Post:
    post = Post(account_id=author.id, local=False, visibility=audience, source="", content_html=f"<p>{text}</p>",
                uri=f"https://{author.domain}/notes/{text.replace(' ', '-')}")
    async with node_of(api).db.session() as s:
        s.add(post)
    return post


async def test_the_organisation_timeline_is_the_web_uis_and_never_a_partners_post(api: Client, sign_in: SignIn) -> None:
    _with_peers(api)
    alice, bob = await sign_in("alice"), await sign_in("bob")
    sam, pat = await _remote(api, "sam", ORG_PEER), await _remote(api, "pat", PARTNER_PEER)
    # Given posts of every audience by bob, a colleague's on the sales node, and a partner's public one
    by_bob = {v: await _post(api, bob, status=f"bob {v}", visibility=v)
              for v in ("public", "unlisted", "private", "direct", "organization", "local")}
    from_sales = await _remote_post(api, sam, "sales news", Audience.ORGANIZATION)
    from_partner = await _remote_post(api, pat, "partner news", Audience.PUBLIC)
    # When alice reads the organisation timeline
    resp = await api.get("/api/v1/timelines/organization", headers=auth(alice))
    ids = [s["id"] for s in await resp.json()]
    # Then it holds bob's public and organisation posts and the colleague's, newest first
    assert ids == [str(from_sales.id), by_bob["organization"]["id"], by_bob["public"]["id"]]
    # And never the partner's post, nor posts alice may not see or that are not listed
    assert str(from_partner.id) not in ids
    for hidden in ("private", "direct", "unlisted"):
        assert by_bob[hidden]["id"] not in ids
    # And it pages by the Link header, as the web UI's page does by max_id
    resp = await api.get("/api/v1/timelines/organization?limit=1", headers=auth(alice))
    assert [s["id"] for s in await resp.json()] == ids[:1]
    nxt = urlsplit(resp.headers["Link"].split(";")[0].strip("<>"))
    assert [s["id"] for s in await _get(api, f"{nxt.path}?{nxt.query}", alice)] == ids[1:2]
    # And it needs a signed-in reader with read:statuses
    await _get(api, "/api/v1/timelines/organization", None, 401)
    await _get(api, "/api/v1/timelines/organization", await sign_in("alice", "read:accounts"), 403)


async def test_the_organisation_timeline_leaves_out_who_the_reader_mutes(api: Client, sign_in: SignIn) -> None:
    ctx = node_of(api)
    alice, bob = await sign_in("alice"), await sign_in("bob")
    await _post(api, bob, status="bob says", visibility="organization")
    await mutes.mute(ctx, await accounts.get_local(ctx, "alice"), (await accounts.get_local(ctx, "bob")).id)
    assert await _get(api, "/api/v1/timelines/organization", alice) == []


async def _events_until(ws: ClientWebSocketResponse, status_id: str) -> list[str]:
    """The ids of every status that arrived, up to and including `status_id`."""
    seen: list[str] = []
    while status_id not in seen:
        message = await ws.receive_json(timeout=WAIT)
        if message["event"] == "update":
            assert message["stream"] == ["organization"]
            seen.append(json.loads(message["payload"])["id"])
    return seen


async def test_the_organisation_stream_carries_what_the_timeline_shows(api: Client, sign_in: SignIn) -> None:
    _with_peers(api)
    alice, bob = await sign_in("alice"), await sign_in("bob")
    sam, pat = await _remote(api, "sam", ORG_PEER), await _remote(api, "pat", PARTNER_PEER)
    async with api.ws_connect(f"/api/v1/streaming?stream=organization&access_token={alice}") as ws:
        # When bob posts to his followers (alice is not one), unlisted, to this node only, to
        # the organisation, a partner posts in public, a colleague on sales posts, and bob in public
        hidden = [await _post(api, bob, status=f"bob {v}", visibility=v) for v in ("private", "direct", "unlisted")]
        inward = await _post(api, bob, status="bob organization", visibility="organization")
        local = await _post(api, bob, status="bob local", visibility="local")
        partner = await _remote_post(api, pat, "partner news", Audience.PUBLIC)
        colleague = await _remote_post(api, sam, "sales news", Audience.ORGANIZATION)
        last = await _post(api, bob, status="bob public")
        seen = await _events_until(ws, last["id"])
        while str(colleague.id) not in seen:  # stored directly: the poller finds it
            seen += await _events_until(ws, str(colleague.id))
    # Then alice's organisation stream carried the organisation's posts
    assert {inward["id"], str(colleague.id), last["id"]} <= set(seen)
    # And never a partner's, one she may not see, or one the timeline does not list
    assert str(partner.id) not in seen and local["id"] not in seen
    assert not {h["id"] for h in hidden} & set(seen)


async def test_the_organisation_stream_by_server_sent_events_and_its_scope(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    no_statuses = await sign_in("alice", "read:notifications")
    # A token without read:statuses may not open it, in either form
    resp = await api.get("/api/v1/streaming/organization", headers=auth(no_statuses))
    assert resp.status == 403
    async with api.ws_connect(f"/api/v1/streaming?access_token={alice}") as ws:
        await ws.send_json({"type": "subscribe", "stream": "organisation"})  # the British spelling is not a stream
        assert (await ws.receive_json(timeout=WAIT))["status"] == 422
    # And the event stream opens for a member
    resp = await api.get("/api/v1/streaming/organization", headers=auth(alice))
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    assert (await resp.content.readline()).startswith(b":)")
    resp.close()
