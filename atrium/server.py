"""`atrium serve`: the web application and the background workers in one process."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

from node.context import NodeContext
from node.settings import Settings
from node.workers import JobWorker, MaintenanceWorker
from storage import migrate
from storage.db import Database
from storage.errors import AtriumError
from web.app import create_app

log = logging.getLogger("atrium")


async def check_schema(db: Database) -> None:
    current = await migrate.current_revision(db)
    head = migrate.head_revision()
    if current is None:
        raise AtriumError("the database is empty: run `atrium init` (or `atrium migrate`)")
    if current != head:
        raise AtriumError(f"the database schema is at {current}, the code needs {head}: run `atrium migrate`")


def context_for(settings: Settings, db: Database) -> NodeContext:
    return NodeContext(
        db=db,
        domain=settings.domain,
        scheme=settings.scheme,
        max_post_chars=settings.max_post_chars,
    )


async def serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    ready: Callable[[str], Awaitable[None] | None] | None = None,
) -> None:
    db = Database(settings.resolved_database_url)
    try:
        await check_schema(db)
        ctx = context_for(settings, db)
        app = create_app(ctx)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        workers = [JobWorker(db, handlers={}), MaintenanceWorker(db)]
        tasks = [asyncio.create_task(w.run_forever()) for w in workers]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(
            f"Atrium node {settings.domain} is up: open {settings.base_url}/ "
            f"(listening on {host}:{port}; Ctrl-C stops it)",
            flush=True,
        )
        await stop.wait()
        print("stopping…", flush=True)
        for w in workers:
            w.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
    finally:
        await db.dispose()
