"""Mastodon's streaming API over WebSocket: `GET /api/v1/streaming` with `stream=` (and `tag=`)
and the token as `access_token=`, a bearer header or `Sec-WebSocket-Protocol`; then JSON
`subscribe` / `unsubscribe` messages. Events are `update`, `status.update`, `delete` and
`notification`, each `payload` a JSON string (a bare id for `delete`), as Mastodon sends them.
What reaches a socket, and how posts stored by other processes of the node get here, is the
hub's business (web/api/stream_hub.py).
"""

from __future__ import annotations

import json

from aiohttp import WSMsgType, web

from node import oauth
from storage.errors import Forbidden, Invalid
from web.api.auth import bearer, ctx_of
from web.api.stream_hub import Hub, Subscriber, stream_key
from web.keys import CTX

HUB = web.AppKey("streaming_hub", Hub)


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


async def _command(sub: Subscriber, raw: str) -> None:
    try:
        message = json.loads(raw)
        if not isinstance(message, dict) or message.get("type") not in ("subscribe", "unsubscribe"):
            raise Invalid("expected {\"type\": \"subscribe\" or \"unsubscribe\", \"stream\": ...}")
        key = stream_key(message.get("stream"), message.get("tag"))
        if message["type"] == "subscribe":
            sub.check_scope(key)
            sub.streams.add(key)
        else:
            sub.streams.discard(key)
    except ValueError:
        await sub.ws.send_str(json.dumps({"error": "the message is not JSON", "status": 400}))
    except (Invalid, Forbidden) as exc:
        await sub.ws.send_str(json.dumps({"error": exc.reason, "status": exc.status}))


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
    sub = Subscriber(ws, grant.account, grant)
    if request.query.get("stream"):
        key = stream_key(request.query.get("stream"), request.query.get("tag"))
        sub.check_scope(key)
        sub.streams.add(key)
    elif not (grant.allows("read:statuses") or grant.allows("read:notifications")):
        raise Forbidden("This stream is outside the authorized scopes")
    await ws.prepare(request)
    hub = request.app[HUB]
    hub.join(sub)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await _command(sub, msg.data)
    finally:
        hub.leave(sub)
    return ws


async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK")


async def _close_hub(app: web.Application) -> None:
    await app[HUB].close()


def setup(app: web.Application) -> None:
    app[HUB] = Hub(app[CTX])
    app.on_shutdown.append(_close_hub)
    app.router.add_get("/api/v1/streaming", streaming)
    app.router.add_get("/api/v1/streaming/health", health)
