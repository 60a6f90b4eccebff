"""Liveness and readiness for process supervisors and load balancers.

`/health/live`: the process is up and its event loop answers. `/health/ready`: it can do its
work — the database answers and its schema is the one this code needs (503 otherwise, so a
balancer sends no traffic to a process that would fail every request). The older `/health`
(web/nodeinfo.py) stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from node import stats
from node.context import NodeContext
from storage.errors import Unavailable
from web import metrics
from web.errors import error_middleware
from web.keys import CTX
from web.logging_mw import request_id_middleware

# The version of the shared trust policy in force in this process (set by `atrium serve`).
POLICY_VERSION: web.AppKey[Callable[[], int]] = web.AppKey("policy_version")
# The process's role (`atrium serve --role`), reported by the readiness check.
ROLE = web.AppKey("role", str)
READY_TIMEOUT = 5.0  # seconds: a database that takes longer is as good as away for a probe


async def live(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def ready(request: web.Request) -> web.Response:
    ctx = request.config_dict[CTX]
    body: dict[str, object] = {"role": request.config_dict.get(ROLE, "all")}
    if body["role"] != "worker":  # how many share the inbox limits (node/serving.py)
        body["serving_processes"] = ctx.limits.serving_processes
    version = request.config_dict.get(POLICY_VERSION)
    if version is not None:
        body["policy_version"] = version()
    try:
        schema = await stats.schema(ctx, READY_TIMEOUT)
    except Unavailable as exc:
        return web.json_response(
            {**body, "status": "unavailable", "database": "unreachable", "reason": exc.reason}, status=503
        )
    current, head = schema.current, schema.head
    if current != head:
        return web.json_response(
            {**body, "status": "unavailable", "database": "ok", "schema": current,
             "reason": f"the schema is at {current or 'nothing'}, the code needs {head}: run `atrium migrate`"},
            status=503,
        )
    return web.json_response({**body, "status": "ready", "database": "ok", "schema": current})


def setup(app: web.Application) -> None:
    app.router.add_get("/health/live", live)
    app.router.add_get("/health/ready", ready)


def ops_app(ctx: NodeContext) -> web.Application:
    """All a worker process (`atrium serve --role worker`) serves: its health and metrics, for
    its supervisor and scraper. No federation, no API: peers and people never reach it."""
    app = web.Application(middlewares=[request_id_middleware, metrics.latency_middleware, error_middleware])
    app[CTX] = ctx
    setup(app)
    metrics.setup(app)
    return app
