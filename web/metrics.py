"""`GET /metrics` in Prometheus' text format, and the request-latency middleware.

Metrics tell an outsider about the node's peers and traffic, so they are served only to
loopback (a scraper on the same machine) unless `metrics.token` is set, and then only with
`Authorization: Bearer TOKEN`, from anywhere. A request that came through a proxy (it has
`Forwarded` or `X-Forwarded-For`) does not count as loopback even though the proxy is local.
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from node import metrics
from node.queues import DELIVER, FANOUT, INBOX
from web.keys import CTX

METRICS_TOKEN = web.AppKey("metrics_token", str)
QUEUES = (INBOX, FANOUT, DELIVER)


def _from_loopback(request: web.Request) -> bool:
    if "Forwarded" in request.headers or "X-Forwarded-For" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def _authorised(request: web.Request) -> bool:
    token = request.config_dict.get(METRICS_TOKEN)
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return _from_loopback(request)


async def metrics_view(request: web.Request) -> web.Response:
    if not _authorised(request):
        reason = "a bearer token is required" if request.config_dict.get(METRICS_TOKEN) else "metrics are served to loopback only (set metrics.token)"
        return web.json_response({"error": reason}, status=403)
    ctx = request.config_dict[CTX]
    m = metrics.of(ctx)
    await m.refresh(ctx, QUEUES)
    return web.Response(body=generate_latest(m.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def _route(request: web.Request) -> str:
    """The route's template (`/users/{username}`), never the raw path: bounded cardinality."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def latency_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics.of(request.config_dict[CTX]).request_latency.labels(
            method=request.method, route=_route(request), status=str(status)
        ).observe(time.perf_counter() - started)


def setup(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics_view)
