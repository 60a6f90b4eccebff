"""Mastodon's streaming API in its two forms.

WebSocket: `GET /api/v1/streaming` with `stream=` (and `tag=`) and the token as `access_token=`,
a bearer header or `Sec-WebSocket-Protocol`; then JSON `subscribe` / `unsubscribe` messages.
Events are `update`, `status.update`, `delete`, `notification` and (on `direct`) `conversation`, each `payload` a JSON string
(a bare id for `delete`), as Mastodon sends them.

Server-sent events: `GET /api/v1/streaming/user`, `/public/local`, `/hashtag?tag=` ... one stream
per request, each event as `event: update` / `data: {json}`, and a `:thump` comment every
HEARTBEAT_SECONDS so proxies and clients keep an idle connection open.

Both forms are readers of the same hub (web/api/stream_hub.py), which decides what reaches
whom and how posts stored by other processes of the node get here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import WSMsgType, web

from node import oauth
from node.context import NodeContext
from storage.errors import Forbidden, Invalid, NotFound
from web.api.auth import bearer, ctx_of
from web.api.stream_hub import DIRECT_STREAM, ORGANIZATION_STREAM, Hub, Key, Subscriber, authorize, stream_key
from web.keys import CTX

HUB = web.AppKey("streaming_hub", Hub)
HEARTBEAT_SECONDS = 15.0
# The server-sent-event paths (under /api/v1/streaming/) and the stream each one is.
EVENT_STREAMS = {
    "user": "user",
    "user/notification": "user:notification",
    "public": "public",
    "public/local": "public:local",
    "public/remote": "public:remote",
    "hashtag": "hashtag",
    "hashtag/local": "hashtag:local",
    "list": "list",
    ORGANIZATION_STREAM: ORGANIZATION_STREAM,
    DIRECT_STREAM: DIRECT_STREAM,
}
PREFIX = "/api/v1/streaming/"


class _Socket:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def send(self, key: Key, event: str, payload: str) -> None:
        await self.ws.send_str(json.dumps({"stream": list(key), "event": event, "payload": payload}))

    async def close(self) -> None:
        await self.ws.close(code=1001, message=b"the node is shutting down")


class _EventStream:
    """A server-sent event response. The hub's deliveries and the heartbeat write from
    different tasks, so writes take turns (an event must never be split by a heartbeat)."""

    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response
        self.closed = asyncio.Event()
        self._turn = asyncio.Lock()

    async def open(self, request: web.Request) -> None:
        """Send the headers and Mastodon's greeting comment, so the client sees the stream is
        open. Under the lock: the reader has joined the hub already, and an event that comes
        meanwhile waits for the headers rather than being missed."""
        async with self._turn:
            await self.response.prepare(request)
            await self.response.write(b":)\n")

    async def write(self, text: str) -> None:
        if self.closed.is_set():
            raise ConnectionResetError("the event stream has closed")
        async with self._turn:
            try:
                await self.response.write(text.encode())
            except (ConnectionError, RuntimeError):
                self.closed.set()  # the reader went away: the request handler ends
                raise

    async def send(self, key: Key, event: str, payload: str) -> None:
        # The stream is the request's own, so only the event and its data go out; payloads are
        # single-line JSON (or a bare id), as each `data:` line must be.
        await self.write(f"event: {event}\ndata: {payload}\n\n")

    async def close(self) -> None:
        self.closed.set()


def _token(request: web.Request) -> tuple[str | None, bool]:
    """The access token, and whether it came as the WebSocket sub-protocol (echoed back then)."""
    query = request.query.get("access_token")
    if query:
        return query, False
    header = bearer(request)
    if header:
        return header, False
    protocol = request.headers.get("Sec-WebSocket-Protocol", "").split(",")[0].strip()
    return (protocol or None), bool(protocol)


async def _command(ctx: NodeContext, sub: Subscriber, ws: web.WebSocketResponse, raw: str) -> None:
    try:
        message = json.loads(raw)
        if not isinstance(message, dict) or message.get("type") not in ("subscribe", "unsubscribe"):
            raise Invalid("expected {\"type\": \"subscribe\" or \"unsubscribe\", \"stream\": ...}")
        key = stream_key(message.get("stream"), message.get("tag"), message.get("list"))
        if message["type"] == "subscribe":
            sub.check_scope(key)
            await authorize(ctx, sub.viewer, key)
            sub.streams.add(key)
        else:
            sub.streams.discard(key)
    except ValueError:
        await ws.send_str(json.dumps({"error": "the message is not JSON", "status": 400}))
    except (Invalid, Forbidden, NotFound) as exc:
        await ws.send_str(json.dumps({"error": exc.reason, "status": exc.status}))


async def streaming(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise Invalid("this endpoint speaks WebSocket only")
    token, as_protocol = _token(request)
    if token is None:
        raise oauth.OAuthError("invalid_token", "Missing access token", status=401)
    grant = await oauth.verify_token(ctx, token)
    if grant.account is None:
        raise Invalid("This method requires an authenticated user")
    ws = web.WebSocketResponse(protocols=(token,) if as_protocol else (), heartbeat=30)
    sub = Subscriber(_Socket(ws), grant.account, grant)
    if request.query.get("stream"):
        key = stream_key(request.query.get("stream"), request.query.get("tag"), request.query.get("list"))
        sub.check_scope(key)
        await authorize(ctx, grant.account, key)
        sub.streams.add(key)
    elif not (grant.allows("read:statuses") or grant.allows("read:notifications")):
        raise Forbidden("This stream is outside the authorized scopes")
    await ws.prepare(request)
    hub = request.app[HUB]
    hub.join(sub)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await _command(ctx, sub, ws, msg.data)
    finally:
        hub.leave(sub)
    return ws


async def event_stream(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    token = request.query.get("access_token") or bearer(request)
    if not token:
        raise oauth.OAuthError("invalid_token", "Missing access token", status=401)
    grant = await oauth.verify_token(ctx, token)
    if grant.account is None:
        raise Invalid("This method requires an authenticated user")
    key = stream_key(EVENT_STREAMS[request.path.removeprefix(PREFIX)], request.query.get("tag"), request.query.get("list"))
    await authorize(ctx, grant.account, key)
    if request.query.get("only_media", "").lower() in ("1", "true"):
        raise Invalid("only_media streams are not offered")  # better refused than served unfiltered
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    sink = _EventStream(response)
    sub = Subscriber(sink, grant.account, grant, streams={key})
    sub.check_scope(key)
    hub = request.app[HUB]
    hub.join(sub)
    try:
        await sink.open(request)
        while not sink.closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sink.closed.wait(), HEARTBEAT_SECONDS)
            if not sink.closed.is_set():
                await sink.write(":thump\n")
    except (ConnectionError, RuntimeError):
        pass  # the reader went away
    finally:
        hub.leave(sub)
    return response


async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK")


async def _close_hub(app: web.Application) -> None:
    await app[HUB].close()


def setup(app: web.Application) -> None:
    app[HUB] = Hub(app[CTX])
    app.on_shutdown.append(_close_hub)
    app.router.add_get("/api/v1/streaming", streaming)
    app.router.add_get("/api/v1/streaming/health", health)
    for path in EVENT_STREAMS:
        app.router.add_get(PREFIX + path, event_stream)
