"""`atrium serve`: the web application and the background loops (node/loops.py), in one
process or split.

`--role all` (the default) runs both. A node that outgrows one process runs `--role web`
processes (HTTP only: federation, API, UI) and `--role worker` processes (the delivery, fan-out
and inbox queues; they serve only /health/* and /metrics) on any number of machines sharing
one PostgreSQL database. Jobs are claimed with `FOR UPDATE SKIP LOCKED` (storage/jobs.py), so
no two workers hold one job. Everything the processes must agree on comes from that database:
the node's identity and the trust policy in force (node/shared_settings.py), the keys (the
`instance` and `accounts` tables).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
from functools import partial

from aiohttp import web

from atrium.assembly import ROLES, check_schema, context_for, federating
from node import loops, metrics, shared_settings
from node.context import NodeContext
from node.delivery import handle_delivery
from node.housekeeping import HousekeepingWorker
from node.inbox import handle_inbox
from node.key_destruction import KeyDestruction
from node.media_remote import handle_media_fetch
from node.outbox import handle_fanout
from node.policy import PolicyStore
from node.poll_closer import PollCloser
from node.queues import DELIVER, FANOUT, INBOX, MEDIA_FETCH
from node.retention import RetentionWorker
from node.scheduled_publisher import ScheduledPublisher
from node.serving import ServingProcesses
from node.settings import POLICY_FILE, Settings
from node.workers import FALLBACK_POLL, Handler, JobWorker, MaintenanceWorker
from storage.db import Database
from storage.errors import AtriumError, Invalid
from storage.media_store import MediaStore
from web import health
from web import metrics as web_metrics
from web.app import create_app

log = logging.getLogger("atrium")

POLICY_SYNC_SECONDS = 1.0  # the longest a policy change takes to reach every process (plus a query)


def job_handlers(ctx: NodeContext) -> dict[str, Handler]:
    return {
        INBOX: partial(handle_inbox, ctx),
        FANOUT: partial(handle_fanout, ctx),
        DELIVER: partial(handle_delivery, ctx),
        MEDIA_FETCH: partial(handle_media_fetch, ctx),
    }


async def agree_on_identity(db: Database, settings: Settings) -> None:
    """Every process of a node serves one domain: the first to start records it, the others
    must match (a copied atrium.toml with another domain would sign as a different node)."""
    shared = await shared_settings.read(db, shared_settings.IDENTITY)
    if shared is None:
        await shared_settings.publish(db, shared_settings.IDENTITY, settings.base_url, source="atrium serve")
    elif shared.value != settings.base_url:
        raise AtriumError(
            f"this database belongs to the node {shared.value}, but {settings.data_dir}/atrium.toml "
            f"says {settings.base_url}: every process of a node needs the same domain and scheme"
        )


def _server_tls(settings: Settings) -> ssl.SSLContext | None:
    if not settings.tls_cert:
        return None
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(
        str(settings.path(settings.tls_cert)),
        str(settings.path(settings.tls_key)) if settings.tls_key else None,
    )
    return server_tls


def _app_for(ctx: NodeContext, settings: Settings, role: str, store: PolicyStore) -> web.Application:
    app = health.ops_app(ctx) if role == "worker" else create_app(ctx)
    app[health.ROLE] = role
    app[health.POLICY_VERSION] = lambda: store.version
    if settings.metrics_token:
        app[web_metrics.METRICS_TOKEN] = settings.metrics_token
    return app


async def serve(settings: Settings, host: str, port: int, role: str = "all") -> None:
    if role not in ROLES:
        raise Invalid(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
    db = Database(settings.resolved_database_url)
    media: MediaStore | None = None
    try:
        await check_schema(db)
        await agree_on_identity(db, settings)
        store = PolicyStore(settings.data_dir / POLICY_FILE, db)
        await store.start()  # before the first request or job: no process starts on another policy
        ctx = context_for(settings, db, store)
        if ctx.oidc is not None:
            ctx.oidc.client_secret()  # read now: a missing secret stops the start, not a sign-in
        media = ctx.media
        metrics.of(ctx).policy_version.set_function(lambda: store.version)
        async with federating(ctx, settings):
            # Signals are taken over before the port opens: a Ctrl-C while the process is still
            # starting (joining the serving processes on a slow database) stops it cleanly.
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            runner = web.AppRunner(_app_for(ctx, settings, role, store), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, host, port, ssl_context=_server_tls(settings))
            await site.start()
            background: list[loops.BackgroundLoop] = [store.syncing(POLICY_SYNC_SECONDS)]
            if role in ("all", "worker"):
                background += [
                    JobWorker(db, job_handlers(ctx), idle_sleep=FALLBACK_POLL, concurrent=frozenset({DELIVER})),
                    MaintenanceWorker(db, audit_retention_days=settings.audit_retention_days),
                    KeyDestruction(db),
                    HousekeepingWorker(ctx, settings.housekeeping),
                    RetentionWorker(ctx),
                    ScheduledPublisher(ctx),
                    PollCloser(ctx),
                ]
            for one in background:
                one.start()
            serving: ServingProcesses | None = None
            if role in ("all", "web"):
                # The inbox limits are split between the processes serving the node (node/serving.py).
                serving = ServingProcesses(db, role, f"{host}:{port}", ctx.limits.share)
                await serving.join()
                background.append(serving.heartbeat())
                background[-1].start()
            serves = "health and metrics only" if role == "worker" else "open " + settings.base_url + "/"
            print(
                f"Atrium node {settings.domain} is up as {role}: {serves} "
                f"(listening on {host}:{port}; policy version {store.version}; Ctrl-C stops it)",
                flush=True,
            )
            await stop.wait()
            print("stopping…", flush=True)
            await loops.stop_all(background)
            if serving is not None:
                with contextlib.suppress(Exception):  # a database already gone: the row goes stale
                    await serving.leave()
            await runner.cleanup()
    finally:
        if media is not None:
            await media.close()
        await db.dispose()
