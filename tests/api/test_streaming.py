"""The streaming API over a real WebSocket: Mastodon's protocol, its events, and the rule that
a stream never shows anyone a post they could not read."""

from __future__ import annotations

import asyncio
import json
import queue
from typing import Any

import aiohttp
import mastodon  # Mastodon.py 2.3.3 with websocket-client: a real client's WebSocket transport
from aiohttp import ClientWebSocketResponse, WSServerHandshakeError
from aiohttp.test_utils import TestClient

from node import accounts, follows, posts
from node.context import NodeContext
from node.posts import NewPost
from storage.db import Database
from tests.api.conftest import PASSWORD, SignIn, auth
from tests.factory import node_context
from web.api import serializers
from web.keys import CTX

Client = TestClient[Any, Any]
WAIT = 60.0  # generous: the machine is shared; events normally arrive within a second


async def _post(api: Client, token: str, **data: str) -> dict[str, Any]:
    resp = await api.post("/api/v1/statuses", data=data, headers=auth(token))
    body: dict[str, Any] = await resp.json()
    assert resp.status == 200, body
    return body


async def _event(ws: ClientWebSocketResponse) -> dict[str, Any]:
    message: dict[str, Any] = await ws.receive_json(timeout=WAIT)
    return message


async def _until(ws: ClientWebSocketResponse, event: str, status_id: str) -> list[dict[str, Any]]:
    """Every message up to and including `event` about `status_id` (in arrival order)."""
    seen = []
    while True:
        message = await _event(ws)
        seen.append(message)
        payload = message["payload"]
        about = payload if message["event"] == "delete" else json.loads(payload).get("id")
        if message["event"] == event and about == status_id:
            return seen


def _status_ids(messages: list[dict[str, Any]]) -> list[str]:
    return [json.loads(m["payload"])["id"] for m in messages if m["event"] in ("update", "status.update")]


async def _subscribe(ws: ClientWebSocketResponse, stream: str, **extra: str) -> None:
    await ws.send_json({"type": "subscribe", "stream": stream, **extra})


async def test_user_stream_carries_own_posts_mentions_edits_and_deletes(api: Client, sign_in: SignIn) -> None:
    # Given alice connected to her user stream (token in the query, as Mastodon's clients do)
    alice, bob = await sign_in("alice"), await sign_in("bob")
    async with api.ws_connect(f"/api/v1/streaming?stream=user&access_token={alice}") as ws:
        # When she posts, bob mentions her, she edits her post and deletes it
        mine = await _post(api, alice, status="hello stream")
        first = await _until(ws, "update", mine["id"])
        mention = await _post(api, bob, status="@alice look", visibility="direct")
        await api.put(f"/api/v1/statuses/{mine['id']}", data={"status": "hello again"}, headers=auth(alice))
        # (the delete waits for the edit's event: a post edited and deleted within one poll has no edit to show)
        rest = await _until(ws, "status.update", mine["id"])
        await api.delete(f"/api/v1/statuses/{mine['id']}", headers=auth(alice))
        rest += await _until(ws, "delete", mine["id"])
    # Then her post arrived as an update on the user stream, its payload a JSON string
    assert first[-1]["stream"] == ["user"] and json.loads(first[-1]["payload"])["content"].endswith("hello stream</p>")
    # And bob's direct mention arrived both as a post and as a notification
    events = [(m["event"], m["stream"]) for m in rest]
    assert ("update", ["user"]) in events and mention["id"] in _status_ids(rest)
    notes = [json.loads(m["payload"]) for m in rest if m["event"] == "notification"]
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("mention", mention["id"])]
    # And the edit came as status.update with the new text, then the delete with the bare id
    updates = [json.loads(m["payload"]) for m in rest if m["event"] == "status.update"]
    assert [u["id"] for u in updates] == [mine["id"]] and "hello again" in updates[0]["content"]
    assert rest[-1] == {"stream": ["user"], "event": "delete", "payload": mine["id"]}


async def test_public_streams_carry_only_public_posts_and_never_an_unreadable_one(api: Client, sign_in: SignIn) -> None:
    # Given alice on the public and hashtag streams by subscribe messages, following nobody
    alice, bob = await sign_in("alice"), await sign_in("bob")
    async with api.ws_connect("/api/v1/streaming", headers=auth(alice)) as ws:
        await _subscribe(ws, "public")
        await _subscribe(ws, "hashtag", tag="Launch")
        await _subscribe(ws, "user")
        # When bob posts to his followers, to the organisation, to this node only, and then in public
        hidden = await _post(api, bob, status="followers only #launch", visibility="private")
        inward = [await _post(api, bob, status=f"{v} #launch", visibility=v) for v in ("organization", "local", "unlisted")]
        shown = await _post(api, bob, status="for everyone #launch")
        seen = await _until(ws, "update", shown["id"])
        while len([m for m in seen if json.loads(m["payload"])["id"] == shown["id"]]) < 2:
            seen += await _until(ws, "update", shown["id"])
    # Then the public post arrived on the public stream and on the hashtag stream
    about_shown = sorted(tuple(m["stream"]) for m in seen if json.loads(m["payload"])["id"] == shown["id"])
    assert about_shown == [("hashtag", "launch"), ("public",)]
    # And nothing else did: not the followers-only post alice may not read, nor the inward ones
    assert hidden["id"] not in _status_ids(seen)
    assert not {p["id"] for p in inward} & set(_status_ids(seen))


async def test_a_followers_only_post_reaches_a_follower_and_not_the_public_stream(api: Client, sign_in: SignIn) -> None:
    # Given alice follows bob and listens on her user and public streams
    alice, bob = await sign_in("alice"), await sign_in("bob")
    ctx: NodeContext = api.server.app[CTX]
    alice_account, bob_account = await accounts.get_local(ctx, "alice"), await accounts.get_local(ctx, "bob")
    await follows.follow(ctx, alice_account, bob_account.id)
    async with api.ws_connect(f"/api/v1/streaming?stream=user&access_token={alice}") as ws:
        await _subscribe(ws, "public:local")
        # When bob posts to his followers, then in public
        friends = await _post(api, bob, status="for my followers", visibility="private")
        public = await _post(api, bob, status="for all")
        seen = await _until(ws, "update", public["id"])
        if len([m for m in seen if json.loads(m["payload"])["id"] == public["id"]]) < 2:
            seen += await _until(ws, "update", public["id"])
    # Then the followers-only post reached her user stream only
    assert [m["stream"] for m in seen if json.loads(m["payload"])["id"] == friends["id"]] == [["user"]]
    assert sorted(m["stream"][0] for m in seen if json.loads(m["payload"])["id"] == public["id"]) == ["public:local", "user"]


async def test_a_post_stored_and_deleted_by_another_process_arrives_through_the_poller(
    api: Client, sign_in: SignIn, db: Database
) -> None:
    # Given alice on the local public stream, the token sent as the WebSocket sub-protocol
    alice = await sign_in("alice")
    ctx: NodeContext = api.server.app[CTX]
    # And a second context over the same database, as a worker process would be, with its own
    # event bus that nobody here listens to
    worker = node_context(Database(db.url), ctx.domain, scheme=ctx.scheme)
    assert worker.events is not ctx.events
    try:
        async with api.ws_connect("/api/v1/streaming?stream=public:local", protocols=(alice,)) as ws:
            assert ws.protocol == alice  # echoed back, as browsers require
            # When the worker stores bob's post
            bob = await accounts.get_local(worker, "bob")
            post = await posts.create_post(worker, bob, NewPost("written by the worker"))
            # Then it arrives on alice's stream all the same
            seen = await _until(ws, "update", str(post.id))
            assert seen[-1]["stream"] == ["public:local"]
            # And when the worker deletes it, the delete arrives too
            await posts.delete_post(worker, bob, post.id)
            gone = await _until(ws, "delete", str(post.id))
            assert gone[-1] == {"stream": ["public:local"], "event": "delete", "payload": str(post.id)}
    finally:
        await worker.db.dispose()


async def test_unsubscribe_stops_a_stream_and_bad_requests_are_refused(api: Client, sign_in: SignIn) -> None:
    alice = await sign_in("alice")
    read_only_notifications = await sign_in("alice", scope="read:notifications")
    async with api.ws_connect(f"/api/v1/streaming?stream=public&access_token={alice}") as ws:
        await _subscribe(ws, "nonsense")
        assert (await _event(ws))["status"] == 422
        await ws.send_str("not json")
        assert (await _event(ws))["status"] == 400
        # When she leaves the public stream for the hashtag one and a post with the tag is made
        await ws.send_json({"type": "unsubscribe", "stream": "public"})
        await _subscribe(ws, "hashtag", tag="#later")
        tagged = await _post(api, alice, status="#later on")
        seen = await _until(ws, "update", tagged["id"])
    # Then it came on the hashtag stream only
    assert [m["stream"] for m in seen] == [["hashtag", "later"]]
    # And a bad token, an unknown stream and a scope that does not cover the stream are refused
    for query, status in (("stream=user&access_token=wrong", 401), (f"stream=nope&access_token={alice}", 422),
                          (f"stream=public&access_token={read_only_notifications}", 403)):
        try:
            async with api.ws_connect(f"/api/v1/streaming?{query}"):
                raise AssertionError(f"{query} was accepted")
        except WSServerHandshakeError as exc:
            assert exc.status == status, query
    plain = await api.get("/api/v1/streaming", params={"access_token": alice})
    assert plain.status == 422 and "error" in await plain.json()
    assert await (await api.get("/api/v1/streaming/health")).text() == "OK"


async def test_the_instance_advertises_where_to_stream(api: Client, sign_in: SignIn) -> None:
    # Given the instance description, as a client reads it on start-up
    alice = await sign_in("alice")
    v2 = await (await api.get("/api/v2/instance")).json()
    v1 = await (await api.get("/api/v1/instance")).json()
    streaming = v2["configuration"]["urls"]["streaming"]
    assert v1["urls"]["streaming_api"] == streaming and streaming.startswith("ws://")
    # When a client opens the stream at that address
    async with aiohttp.ClientSession() as session, session.ws_connect(
        f"{streaming}/api/v1/streaming?stream=user&access_token={alice}"
    ) as ws:
        posted = await _post(api, alice, status="found you")
        seen = await _until(ws, "update", posted["id"])
    # Then the events arrive there
    assert seen[-1]["stream"] == ["user"]
    # And the same host, spoken to over HTTP as Mastodon.py does, serves the server-sent-event form
    async with aiohttp.ClientSession() as session, session.get(
        f"http{streaming.removeprefix('ws')}/api/v1/streaming/user", headers=auth(alice)
    ) as resp:
        posted = await _post(api, alice, status="found you again")
        async with asyncio.timeout(WAIT):
            while (line := (await resp.content.readline()).decode()) != "event: update\n":
                assert line, "the stream ended"
            assert json.loads((await resp.content.readline()).decode().removeprefix("data: "))["id"] == posted["id"]


def test_the_streaming_address_follows_the_node_scheme(db: Database) -> None:
    # Given the same node served over HTTPS and over plain HTTP
    secure = node_context(db, "atrium.example", scheme="https")
    plain = node_context(db, "127.0.0.1:8080", scheme="http")
    # Then clients are sent to wss:// and ws:// on the node itself, without a path (clients add
    # /api/v1/streaming, or turn the scheme into https:// or http:// for server-sent events)
    assert serializers.streaming_url(secure) == "wss://atrium.example"
    assert serializers.streaming_url(plain) == "ws://127.0.0.1:8080"


class _Collector(mastodon.StreamListener):  # type: ignore[misc]
    """Mastodon.py calls these from its reader thread; the test reads the queue."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def on_update(self, status: Any) -> None:
        self.events.put(("update", status))

    def on_status_update(self, status: Any) -> None:
        self.events.put(("status.update", status))

    def on_notification(self, notification: Any) -> None:
        self.events.put(("notification", notification))

    def on_delete(self, status_id: Any) -> None:
        self.events.put(("delete", status_id))


async def test_mastodon_py_streams_over_the_websocket(api: Client, sign_in: SignIn) -> None:
    # Given Mastodon.py signed in as alice, subscribed to her user stream over one WebSocket
    alice, bob = await sign_in("alice"), await sign_in("bob")
    client = mastodon.Mastodon(access_token=alice, api_base_url=str(api.make_url("")).rstrip("/"),
                               version_check_mode="none")
    listener = _Collector()
    handle = await asyncio.to_thread(client.stream_open_websocket, listener)
    try:
        await asyncio.to_thread(client.stream_user, listener, websocket_handle=handle)
        await asyncio.to_thread(client.stream_hashtag, "Mpy", listener, websocket_handle=handle)
        assert await asyncio.to_thread(client.stream_healthy)
        # When bob mentions her with a tag, then deletes the post
        posted = await _post(api, bob, status="@alice hello #mpy")
        got: list[tuple[str, Any]] = []
        while not any(kind == "notification" for kind, _ in got):
            got.append(await asyncio.to_thread(listener.events.get, True, WAIT))
        await api.delete(f"/api/v1/statuses/{posted['id']}", headers=auth(bob))
        while posted["id"] not in [str(v) for k, v in got if k == "delete"]:
            got.append(await asyncio.to_thread(listener.events.get, True, WAIT))
    finally:
        await asyncio.to_thread(handle.close)
    # Then Mastodon.py parsed the post (from the user and hashtag streams), the mention and the delete
    updates = [status for kind, status in got if kind == "update"]
    assert {str(u.id) for u in updates} == {posted["id"]} and len(updates) == 2
    assert [n.type for kind, n in got if kind == "notification"] == ["mention"]


async def _updates_until(ws: ClientWebSocketResponse, marker: str, streams: int) -> list[dict[str, Any]]:
    """Messages until the post `marker` has arrived on `streams` streams (it is posted last)."""
    seen: list[dict[str, Any]] = []
    while len([m for m in seen if m["event"] == "update" and json.loads(m["payload"])["id"] == marker]) < streams:
        seen += await _until(ws, "update", marker)
    return seen


async def test_muted_and_blocked_accounts_never_reach_the_streams_of_who_muted_or_blocked_them(
    api: Client, sign_in: SignIn
) -> None:
    # Given alice follows carol and dave (not bob: so dave's boost of him reaches her home),
    # mutes bob and blocks carol
    ctx: NodeContext = api.server.app[CTX]
    for name in ("carol", "dave"):
        await accounts.create_user(ctx, name, PASSWORD)
    alice, bob, carol, dave = [await sign_in(n) for n in ("alice", "bob", "carol", "dave")]
    people = {n: await accounts.get_local(ctx, n) for n in ("alice", "bob", "carol", "dave")}
    for name in ("carol", "dave"):
        await follows.follow(ctx, people["alice"], people[name].id)
    assert (await api.post(f"/api/v1/accounts/{people['bob'].id}/mute", headers=auth(alice))).status == 200
    assert (await api.post(f"/api/v1/accounts/{people['carol'].id}/block", headers=auth(alice))).status == 200
    async with api.ws_connect(f"/api/v1/streaming?stream=user&access_token={alice}") as ws:
        await _subscribe(ws, "public:local")
        # When bob and carol post in public and mention her, and dave boosts a post of bob's
        muted = await _post(api, bob, status="from the muted one")
        mention = await _post(api, bob, status="@alice from the muted one")
        blocked = await _post(api, carol, status="@alice from the blocked one")
        boost = await api.post(f"/api/v1/statuses/{muted['id']}/reblog", headers=auth(dave))
        assert boost.status == 200
        # And then dave posts in public, which she does follow
        marker = await _post(api, dave, status="still here")
        seen = await _updates_until(ws, marker["id"], 2)
    # Then dave's post arrived on both streams, and nothing of bob's or carol's on either,
    # not even bob's post under dave's boost
    assert sorted(m["stream"][0] for m in seen if json.loads(m["payload"])["id"] == marker["id"]) == [
        "public:local", "user"]
    statuses = [json.loads(m["payload"]) for m in seen if m["event"] == "update"]
    assert not {muted["id"], mention["id"], blocked["id"]} & {s["id"] for s in statuses}
    assert not [s for s in statuses if (s.get("reblog") or {}).get("id") == muted["id"]]
    # And neither one's mention came as a notification
    assert [m for m in seen if m["event"] == "notification"] == []


async def test_a_mute_that_keeps_notifications_hides_the_posts_but_not_the_notifications(
    api: Client, sign_in: SignIn
) -> None:
    # Given alice follows bob and mutes him with `notifications=false`
    ctx: NodeContext = api.server.app[CTX]
    alice, bob = await sign_in("alice"), await sign_in("bob")
    alice_account, bob_account = await accounts.get_local(ctx, "alice"), await accounts.get_local(ctx, "bob")
    await follows.follow(ctx, alice_account, bob_account.id)
    muted = await api.post(f"/api/v1/accounts/{bob_account.id}/mute", data={"notifications": "false"},
                           headers=auth(alice))
    assert muted.status == 200
    async with api.ws_connect(f"/api/v1/streaming?stream=user&access_token={alice}") as ws:
        # When bob mentions her, then she posts herself
        mention = await _post(api, bob, status="@alice you still hear this")
        mine = await _post(api, alice, status="after the mention")
        seen = await _until(ws, "update", mine["id"])
        while not [m for m in seen if m["event"] == "notification"]:
            seen.append(await _event(ws))
    # Then the mention came as a notification, but bob's post itself never reached her feed
    notes = [json.loads(m["payload"]) for m in seen if m["event"] == "notification"]
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("mention", mention["id"])]
    assert mention["id"] not in _status_ids(seen)
