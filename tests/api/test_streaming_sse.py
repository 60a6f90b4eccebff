"""The streaming API's server-sent-event form (GET /api/v1/streaming/user, /public/local,
/hashtag?tag= ...) over real HTTP, read by plain aiohttp and by Mastodon.py's `stream_*`:
the same events and the same rules as the WebSocket form, from the same hub."""

from __future__ import annotations

import asyncio
import json
import queue
from typing import Any

import mastodon  # Mastodon.py 2.3.3: its stream_user() / stream_public() read this form
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from node import accounts
from node.context import NodeContext
from tests.api.conftest import SignIn, auth
from web.api import streaming
from web.keys import CTX

Client = TestClient[Any, Any]
WAIT = 60.0  # generous: the machine is shared; events normally arrive within a second
Event = tuple[str, str]  # (event name, data)


async def _post(api: Client, token: str, **data: str) -> dict[str, Any]:
    resp = await api.post("/api/v1/statuses", data=data, headers=auth(token))
    body: dict[str, Any] = await resp.json()
    assert resp.status == 200, body
    return body


class _Reader:
    """Reads text/event-stream as a browser's EventSource would: `field: value` lines, a blank
    line ending each event, lines starting with `:` being comments."""

    def __init__(self, resp: ClientResponse) -> None:
        self.resp = resp
        self.comments: list[str] = []

    async def next(self) -> Event:
        fields: dict[str, str] = {}
        while True:
            raw = await asyncio.wait_for(self.resp.content.readline(), WAIT)
            assert raw, "the stream ended"
            line = raw.decode().rstrip("\n")
            if line.startswith(":"):
                self.comments.append(line)
            elif line:
                name, value = line.split(": ", 1)
                fields[name] = value
            elif fields:
                return fields["event"], fields["data"]

    async def until(self, event: str, status_id: str) -> list[Event]:
        """Every event up to and including `event` about `status_id`."""
        seen = []
        while True:
            name, data = await self.next()
            seen.append((name, data))
            about = data if name == "delete" else json.loads(data).get("id")
            if name == event and about == status_id:
                return seen


def _ids(events: list[Event]) -> list[str]:
    return [json.loads(data)["id"] for name, data in events if name in ("update", "status.update")]


async def test_the_user_event_stream_carries_posts_mentions_edits_and_deletes(api: Client, sign_in: SignIn) -> None:
    # Given alice reading her user stream as server-sent events, the token as a bearer header
    alice, bob = await sign_in("alice"), await sign_in("bob")
    async with api.get("/api/v1/streaming/user", headers=auth(alice)) as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream"
        events = _Reader(resp)
        # When she posts, bob mentions her, she edits her post and deletes it
        mine = await _post(api, alice, status="hello events")
        first = await events.until("update", mine["id"])
        mention = await _post(api, bob, status="@alice look", visibility="direct")
        await api.put(f"/api/v1/statuses/{mine['id']}", data={"status": "hello again"}, headers=auth(alice))
        # (the delete waits for the edit's event: a post edited and deleted within one poll has no edit to show)
        rest = await events.until("status.update", mine["id"])
        await api.delete(f"/api/v1/statuses/{mine['id']}", headers=auth(alice))
        rest += await events.until("delete", mine["id"])
    # Then the stream opened with Mastodon's greeting comment and her post came as an update
    assert events.comments[0] == ":)"
    assert json.loads(first[-1][1])["content"].endswith("hello events</p>")
    # And bob's mention came as a post and a notification, the edit as status.update, then the bare-id delete
    assert mention["id"] in _ids(rest)
    notes = [json.loads(data) for name, data in rest if name == "notification"]
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("mention", mention["id"])]
    assert [json.loads(d)["id"] for n, d in rest if n == "status.update"] == [mine["id"]]
    assert rest[-1] == ("delete", mine["id"])


async def test_public_and_hashtag_event_streams_carry_only_public_posts(api: Client, sign_in: SignIn) -> None:
    # Given alice on four streams at once, the token in the query as EventSource clients send it
    alice, bob = await sign_in("alice"), await sign_in("bob")
    paths = ("public", "public/local", "hashtag?tag=Launch", "hashtag/local?tag=%23launch")
    responses = [await api.get(f"/api/v1/streaming/{p}{'&' if '?' in p else '?'}access_token={alice}")
                 for p in paths]
    try:
        assert [r.status for r in responses] == [200] * len(paths)
        # When bob posts #launch to his followers and to this node only, then in public
        hidden = [await _post(api, bob, status=f"{v} #launch", visibility=v) for v in ("private", "local")]
        shown = await _post(api, bob, status="for everyone #launch")
        seen = [await _Reader(r).until("update", shown["id"]) for r in responses]
    finally:
        for r in responses:
            r.close()
    # Then the public post arrived on every stream, and neither of the others on any
    assert all(_ids(events)[-1] == shown["id"] for events in seen)
    assert not {p["id"] for p in hidden} & {i for events in seen for i in _ids(events)}


async def test_a_muted_account_never_reaches_the_event_streams(api: Client, sign_in: SignIn) -> None:
    # Given alice mutes bob and reads the local public stream
    ctx: NodeContext = api.server.app[CTX]
    alice, bob = await sign_in("alice"), await sign_in("bob")
    bob_id = (await accounts.get_local(ctx, "bob")).id
    assert (await api.post(f"/api/v1/accounts/{bob_id}/mute", headers=auth(alice))).status == 200
    async with api.get("/api/v1/streaming/public/local", headers=auth(alice)) as resp:
        # When bob posts in public, then she does
        muted = await _post(api, bob, status="you will not see this")
        mine = await _post(api, alice, status="after bob")
        seen = await _Reader(resp).until("update", mine["id"])
    # Then her post arrived and his did not
    assert _ids(seen) == [mine["id"]] and muted["id"] not in _ids(seen)


async def test_idle_event_streams_get_heartbeats(api: Client, sign_in: SignIn, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given heartbeats every few milliseconds instead of every 15 seconds, to see them at all
    monkeypatch.setattr(streaming, "HEARTBEAT_SECONDS", 0.01)
    alice = await sign_in("alice")
    async with api.get("/api/v1/streaming/user/notification", headers=auth(alice)) as resp:
        # When nothing happens
        lines = [(await asyncio.wait_for(resp.content.readline(), WAIT)).decode() for _ in range(3)]
    # Then the stream carries `:thump` comments, which readers ignore
    assert lines == [":)\n", ":thump\n", ":thump\n"]


async def test_bad_event_stream_requests_are_refused_with_a_reason(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    notifications_only = await sign_in("alice", scope="read:notifications")
    for path, token, status in (("user", None, 401), ("user", "wrong", 401), ("hashtag", alice, 422),
                                ("public?only_media=true", alice, 422), ("public/remote", notifications_only, 403)):
        headers = auth(token) if token else {}
        async with api.get(f"/api/v1/streaming/{path}", headers=headers) as resp:
            assert resp.status == status, path
            assert "error" in await resp.json()
    # And a scope that covers the stream is enough: notifications only for the notification stream
    async with api.get("/api/v1/streaming/user/notification", headers=auth(notifications_only)) as resp:
        assert resp.status == 200


class _Collector(mastodon.StreamListener):  # type: ignore[misc]
    """Mastodon.py calls these from its reader threads; the test reads the queue."""

    def __init__(self, name: str, into: queue.Queue[tuple[str, str, Any]]) -> None:
        self.name = name
        self.events = into

    def on_update(self, status: Any) -> None:
        self.events.put((self.name, "update", status))

    def on_notification(self, notification: Any) -> None:
        self.events.put((self.name, "notification", notification))

    def on_delete(self, status_id: Any) -> None:
        self.events.put((self.name, "delete", status_id))


async def test_mastodon_py_reads_the_event_streams(
    api: Client, sign_in: SignIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (Closing a Mastodon.py handle waits for its reader's next line: frequent heartbeats keep
    # the test from waiting 15 seconds a stream, and Mastodon.py must take them in its stride.)
    monkeypatch.setattr(streaming, "HEARTBEAT_SECONDS", 0.1)
    # Given Mastodon.py signed in as alice, finding the streaming server the instance advertises,
    # on her user stream, the local public stream and a hashtag stream, each its own HTTP request
    alice, bob = await sign_in("alice"), await sign_in("bob")
    client = mastodon.Mastodon(access_token=alice, api_base_url=str(api.make_url("")).rstrip("/"),
                               version_check_mode="none")
    events: queue.Queue[tuple[str, str, Any]] = queue.Queue()
    handles = [
        await asyncio.to_thread(client.stream_user, _Collector("user", events), run_async=True),
        await asyncio.to_thread(client.stream_public, _Collector("local", events), run_async=True, local=True),
        await asyncio.to_thread(client.stream_hashtag, "mpy", _Collector("tag", events), run_async=True),
    ]
    hub = api.server.app[streaming.HUB]
    try:
        # (Mastodon.py's readers connect from their own threads: wait until all three are in)
        async with asyncio.timeout(WAIT):
            while len(hub.subscribers) < len(handles):
                await asyncio.sleep(0.05)
        # When bob mentions her in public with the tag, then deletes the post
        posted = await _post(api, bob, status="@alice hello #mpy")
        got: list[tuple[str, str, Any]] = []
        while len([e for e in got if e[1] in ("update", "notification")]) < 4:
            got.append(await asyncio.to_thread(events.get, True, WAIT))
        await api.delete(f"/api/v1/statuses/{posted['id']}", headers=auth(bob))
        while len([e for e in got if e[1] == "delete"]) < 3:
            got.append(await asyncio.to_thread(events.get, True, WAIT))
    finally:
        for handle in handles:
            await asyncio.to_thread(handle.close)
    # Then each stream's reader parsed the post, the user stream also the mention, and all three the delete
    updates = sorted((name, str(status.id)) for name, kind, status in got if kind == "update")
    assert updates == [("local", posted["id"]), ("tag", posted["id"]), ("user", posted["id"])]
    assert [(name, n.type) for name, kind, n in got if kind == "notification"] == [("user", "mention")]
    assert sorted((name, str(i)) for name, kind, i in got if kind == "delete") == [
        ("local", posted["id"]), ("tag", posted["id"]), ("user", posted["id"])]
