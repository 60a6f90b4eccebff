"""Announcements through Mastodon's client API (node/announcements.py, web/api/announcements.py):
what the node's admins write is listed to everyone here until each dismisses it, with emoji
reactions counted per announcement and marked as the reader's own; the streaming API tells the
user streams. Hostile input: a reaction that is not one Unicode emoji, a ninth kind of
reaction, a draft or an ended one, text too long, a non-admin writing one."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import ClientWebSocketResponse

from node import accounts, announcements
from node.announcements import Draft
from storage.errors import Forbidden, Invalid, NotFound
from storage.models import Account, utcnow
from tests.api.conftest import PASSWORD, SignIn
from tests.api.social import Client, call, node_of

WAIT = 60.0


async def _admin(api: Client) -> Account:
    """The node's admin, root (made the first time it is asked for)."""
    try:
        return await accounts.get_local(node_of(api), "root")
    except NotFound:
        return await accounts.create_user(node_of(api), "root", PASSWORD, role="admin")


async def _announce(api: Client, text: str, **fields: Any) -> str:
    return str((await announcements.create(node_of(api), await _admin(api), Draft(text, **fields))).id)


async def test_listed_until_dismissed_with_reactions_per_reader(api: Client, sign_in: SignIn) -> None:
    # Given an admin's announcement with a link, and two readers
    ident = await _announce(api, "All hands on Friday: https://intranet.example/allhands")
    alice, bob = await sign_in("alice"), await sign_in("bob")
    # When alice lists the announcements
    [shown] = await call(api, "GET", "/api/v1/announcements", alice)
    # Then it has Mastodon's shape, its link a link, unread, no reactions
    assert shown["id"] == ident and shown["read"] is False and shown["reactions"] == []
    assert 'href="https://intranet.example/allhands"' in shown["content"] and shown["all_day"] is False
    assert shown["published_at"].endswith("Z") and shown["starts_at"] is None and shown["mentions"] == []
    # When both react with a thumb and alice with a party too, then bob takes his back
    thumb, party = "👍", "🎉"
    for token, name in ((alice, thumb), (bob, thumb), (alice, party), (alice, thumb)):
        assert await call(api, "PUT", f"/api/v1/announcements/{ident}/reactions/{quote(name)}", token) == {}
    await call(api, "DELETE", f"/api/v1/announcements/{ident}/reactions/{quote(thumb)}", bob)
    # Then each reader sees the counts, and which are their own
    [for_alice] = await call(api, "GET", "/api/v1/announcements", alice)
    [for_bob] = await call(api, "GET", "/api/v1/announcements", bob)
    assert for_alice["reactions"] == [{"name": thumb, "count": 1, "me": True}, {"name": party, "count": 1, "me": True}]
    assert for_bob["reactions"] == [{"name": thumb, "count": 1, "me": False}, {"name": party, "count": 1, "me": False}]
    # When alice dismisses it (twice: nothing changes the second time)
    for _ in range(2):
        assert await call(api, "POST", f"/api/v1/announcements/{ident}/dismiss", alice) == {}
    # Then it leaves her list, stays in bob's, and with_dismissed shows it read
    assert await call(api, "GET", "/api/v1/announcements", alice) == []
    assert [a["read"] for a in await call(api, "GET", "/api/v1/announcements", bob)] == [False]
    assert [a["read"] for a in await call(api, "GET", "/api/v1/announcements?with_dismissed=true", alice)] == [True]


async def test_drafts_ended_and_removed_are_not_shown(api: Client, sign_in: SignIn) -> None:
    ctx = node_of(api)
    admin = await _admin(api)
    now = utcnow()
    draft = await announcements.create(ctx, admin, Draft("not yet", published=False))
    ended = await announcements.create(ctx, admin, Draft("over", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1)))
    later = await announcements.create(ctx, admin, Draft("later", starts_at=now + timedelta(days=1), all_day=True))
    alice = await sign_in("alice")
    # Then only the one not ended is listed (an announcement about a future day shows now)
    [shown] = await call(api, "GET", "/api/v1/announcements", alice)
    assert shown["id"] == str(later.id) and shown["all_day"] is True and shown["starts_at"] is not None
    # And a draft or an ended one cannot be dismissed or reacted to, as one that does not exist
    for hidden in (draft.id, ended.id, 99999999):
        await call(api, "POST", f"/api/v1/announcements/{hidden}/dismiss", alice, expect=404)
        await call(api, "PUT", f"/api/v1/announcements/{hidden}/reactions/{quote('👍')}", alice, expect=404)
    # When the draft is published and the shown one removed
    await announcements.update(ctx, admin, draft.id, Draft("now", published=True))
    await announcements.remove(ctx, admin, later.id)
    assert [a["id"] for a in await call(api, "GET", "/api/v1/announcements", alice)] == [str(draft.id)]


@pytest.mark.parametrize("name", [":blobcat:", "ok", "👍👍", "<b>", "x" * 70, " "])
async def test_a_reaction_is_one_unicode_emoji(api: Client, sign_in: SignIn, name: str) -> None:
    ident = await _announce(api, "react to me")
    alice = await sign_in("alice")
    resp = await api.put(f"/api/v1/announcements/{ident}/reactions/{quote(name)}", headers={"Authorization": f"Bearer {alice}"})
    assert resp.status in (422, 404, 405), await resp.text()  # an empty name is no route at all
    if resp.status == 422:
        assert "Unicode emoji" in (await resp.json())["error"]
    [shown] = await call(api, "GET", "/api/v1/announcements", alice)
    assert shown["reactions"] == []


async def test_at_most_eight_kinds_of_reaction_and_the_scopes(api: Client, sign_in: SignIn) -> None:
    ident = await _announce(api, "many feelings")
    alice = await sign_in("alice")
    for name in "😀😁😂🤣😃😄😅😆":
        await call(api, "PUT", f"/api/v1/announcements/{ident}/reactions/{quote(name)}", alice)
    body = await call(api, "PUT", f"/api/v1/announcements/{ident}/reactions/{quote('😇')}", alice, expect=422)
    assert "at most 8" in body["error"]
    # An existing kind still takes more reactions
    await call(api, "PUT", f"/api/v1/announcements/{ident}/reactions/{quote('😀')}", await sign_in("bob"))
    # Scopes: reading needs read, dismissing write:accounts, reacting write:favourites
    await call(api, "GET", "/api/v1/announcements", await sign_in("alice", "write"), expect=403)
    await call(api, "POST", f"/api/v1/announcements/{ident}/dismiss", await sign_in("alice", "read"), expect=403)
    await call(api, "PUT", f"/api/v1/announcements/{ident}/reactions/{quote('😀')}", await sign_in("alice", "write:accounts"), expect=403)
    await call(api, "GET", "/api/v1/announcements", None, expect=401)


async def test_only_admins_write_and_the_text_is_bounded(api: Client) -> None:
    ctx = node_of(api)
    admin = await _admin(api)
    user = await accounts.get_local(ctx, "alice")
    with pytest.raises(Forbidden):
        await announcements.create(ctx, user, Draft("I am not an admin"))
    for bad, reason in ((Draft("x" * (announcements.MAX_TEXT + 1)), "at most"), (Draft("   "), "some text"),
                        (Draft("t", starts_at=utcnow(), ends_at=utcnow() - timedelta(hours=1)), "end after")):
        with pytest.raises(Invalid, match=reason):
            await announcements.create(ctx, admin, bad)
    assert await announcements.all_announcements(ctx) == []


async def _event(ws: ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = await ws.receive_json(timeout=WAIT)
        if message["event"] == kind:
            return message


async def test_the_user_stream_tells_of_announcements(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    async with api.ws_connect(f"/api/v1/streaming?stream=user&access_token={alice}") as ws:
        # When an admin publishes one, alice reacts, and it is removed
        ident = await _announce(api, "streamed news")
        published = await _event(ws, "announcement")
        await call(api, "PUT", f"/api/v1/announcements/{ident}/reactions/{quote('🎉')}", alice)
        reaction = await _event(ws, "announcement.reaction")
        await announcements.remove(node_of(api), await _admin(api), int(ident))
        deleted = await _event(ws, "announcement.delete")
    # Then each event came, as Mastodon sends them
    assert published["stream"] == ["user"] and json.loads(published["payload"])["content"] == "<p>streamed news</p>"
    assert json.loads(reaction["payload"]) == {"name": "🎉", "count": 1, "announcement_id": ident}
    assert deleted["payload"] == ident

