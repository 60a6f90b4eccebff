"""`atrium serve`: the web application and the background workers in one process."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

from aiohttp import web

from federation.addresses import AddressPolicy, make_session
from federation.fetch import Fetcher
from federation.keys import load_private_key
from federation.signatures import sign_request
from node.actors import key_id
from node.context import NodeContext
from node.delivery import handle_delivery
from node.federate import FANOUT
from node.inbound import INBOX
from node.inbox import handle_inbox
from node.instance import get_instance
from node.outbox import DELIVER, handle_fanout
from node.policy import PolicyStore
from node.settings import POLICY_FILE, Settings
from node.workers import Handler, JobWorker, MaintenanceWorker
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
    store = PolicyStore(settings.data_dir / POLICY_FILE)
    return NodeContext(
        db=db,
        domain=settings.domain,
        scheme=settings.scheme,
        max_post_chars=settings.max_post_chars,
        policy=lambda: store.policy,
        org_domains=lambda: store.policy.organization_domains(),
    )


@asynccontextmanager
async def federating(ctx: NodeContext, settings: Settings) -> AsyncIterator[NodeContext]:
    """Give `ctx` its address-guarded HTTP session and a fetcher signing as the instance actor."""
    address_policy = AddressPolicy.for_node(
        settings.allowed_private_networks, scheme=settings.scheme, domain=settings.domain
    )
    client_tls = ssl.create_default_context()
    if settings.ca_file:
        client_tls.load_verify_locations(cafile=str(settings.path(settings.ca_file)))
    session = make_session(address_policy, ssl_context=client_tls)
    instance = await get_instance(ctx.db)
    private_key = load_private_key(instance.private_key_pem)
    instance_key_id = key_id(ctx, None)

    def signer(method: str, url: str, headers: Mapping[str, str]) -> Mapping[str, str]:
        return sign_request(method, url, headers, None, instance_key_id, private_key)

    ctx.session = session
    ctx.fetcher = Fetcher(session, signer, user_agent=f"Atrium ({ctx.base_url}/)")
    try:
        yield ctx
    finally:
        ctx.session = None
        ctx.fetcher = None
        await session.close()


def job_handlers(ctx: NodeContext) -> dict[str, Handler]:
    return {
        INBOX: partial(handle_inbox, ctx),
        FANOUT: partial(handle_fanout, ctx),
        DELIVER: partial(handle_delivery, ctx),
    }


async def serve(settings: Settings, host: str, port: int) -> None:
    db = Database(settings.resolved_database_url)
    try:
        await check_schema(db)
        ctx = context_for(settings, db)
        async with federating(ctx, settings):
            app = create_app(ctx)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            server_tls = None
            if settings.tls_cert:
                server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                server_tls.load_cert_chain(
                    str(settings.path(settings.tls_cert)),
                    str(settings.path(settings.tls_key)) if settings.tls_key else None,
                )
            site = web.TCPSite(runner, host, port, ssl_context=server_tls)
            await site.start()
            workers = [
                JobWorker(db, job_handlers(ctx), idle_sleep=0.2, concurrent=frozenset({DELIVER})),
                MaintenanceWorker(db, audit_retention_days=settings.audit_retention_days),
            ]
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
