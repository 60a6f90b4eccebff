"""Peers' attachments fetched and cached (`media.remote = "cache"`, node/media_remote.py) over
real HTTP on loopback: what is kept, and everything refused — loopback and private addresses,
a redirect to one, a blocked host (never contacted), a body over the cap (announced or sent),
bytes that are not an image. A refusal leaves the attachment by reference with its reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from atrium.assembly import context_for
from federation.addresses import AddressPolicy
from node import remote, settings
from node.audience import Audience
from node.context import MediaRemote, NodeContext
from node.media_remote import handle_media_fetch, queue_remote_fetch
from node.policy import PeerRule, Policy
from node.queues import MEDIA_FETCH
from node.workers import JobWorker
from storage.db import Database
from storage.errors import Invalid
from storage.ids import new_id
from storage.media_store import LocalStore
from storage.models import Account, AuditEntry, Post
from storage.models.media import MediaAttachment
from tests.conftest import StartNode
from tests.factory import LocalNode, fake_peer, free_port
from tests.federation.fake_peer import FakePeer
from tests.federation.test_media_inbound import follows_mallory
from tests.media_files import picture

PNG = picture("PNG", (40, 30))  # a real picture, under the tests' byte cap
CAP = 1000  # the byte cap the tests' worker runs with


@dataclass
class MediaHost:
    """A host serving files, recording every request it gets."""

    port: int
    requests: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        async def png(_: web.Request) -> web.Response:
            return web.Response(body=PNG, content_type="image/png")

        async def html_as_png(_: web.Request) -> web.Response:
            return web.Response(body=b"<html><script>alert(1)</script></html>", content_type="image/png")

        async def announced_huge(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "image/png", "Content-Length": str(10**9)})
            await response.prepare(request)
            await response.write(PNG)
            return response

        async def endless(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "image/png"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(PNG)
            for _ in range(10):
                await response.write(b"\x00" * 512)
            return response

        async def to_private(_: web.Request) -> web.Response:
            raise web.HTTPFound("http://10.0.0.1/x.png")

        async def to_metadata(_: web.Request) -> web.Response:
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

        async def to_png(_: web.Request) -> web.Response:
            raise web.HTTPFound("/img.png")

        @web.middleware
        async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
            self.requests.append(request.path)
            return await handler(request)

        app = web.Application(middlewares=[record])
        for path, handler in (("/img.png", png), ("/page.png", html_as_png), ("/huge.png", announced_huge),
                              ("/endless.png", endless), ("/to-private", to_private), ("/to-metadata", to_metadata),
                              ("/to-png", to_png)):
            app.router.add_get(path, handler)
        return app


@pytest.fixture
async def media_host() -> AsyncIterator[MediaHost]:
    host = MediaHost(free_port())
    runner = web.AppRunner(host.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", host.port).start()
    yield host
    await runner.cleanup()


@pytest.fixture
async def peer() -> AsyncIterator[FakePeer]:
    async with fake_peer("mallory") as p:
        yield p


def policy_for(peer: FakePeer, host: MediaHost, host_trust: str = "public") -> Policy:
    return Policy(mode="allowlist", peers=(PeerRule(peer.domain, "public"), PeerRule(host.domain, host_trust)))


async def caching_node(start_node: StartNode, tmp_path: Path, policy: Policy, **options: object) -> LocalNode:
    return await start_node(policy=policy, media=LocalStore(tmp_path / "media"), media_remote=MediaRemote.CACHE,
                            **options)


async def fetch_all(ctx: NodeContext) -> None:
    """The media_fetch worker, stepped until its queue is empty (with the tests' byte cap)."""
    worker = JobWorker(ctx.db, {MEDIA_FETCH: lambda job: handle_media_fetch(ctx, job, max_bytes=CAP)})
    while await worker.run_once():
        pass


async def remote_attachment(ctx: NodeContext, url: str) -> int:
    """A peer's post with one attachment by reference at `url`, its fetch queued."""
    async with ctx.db.session() as s:
        author = Account(username="someone", domain="elsewhere.example", actor_uri="https://elsewhere.example/u/1")
        s.add(author)
        await s.flush()
        post = Post(id=new_id(), account_id=author.id, local=False, uri=f"https://elsewhere.example/n/{new_id()}",
                    visibility=Audience.PUBLIC, content_html="<p>hi</p>", source="", summary="", thread_id=None)
        s.add(post)
        await s.flush()
        row = MediaAttachment(account_id=author.id, post_id=post.id, remote_url=url, state="ready",
                              content_type="image/png")
        s.add(row)
        await s.flush()
        await queue_remote_fetch(s, [row.id])
        return row.id


async def row_of(ctx: NodeContext, media_id: int) -> MediaAttachment:
    async with ctx.db.reader() as s:
        row = await s.get(MediaAttachment, media_id)
    assert row is not None
    return row


async def stored_keys(ctx: NodeContext) -> list[str]:
    assert ctx.media is not None
    return [key async for key in ctx.media.keys()]


async def test_a_peers_picture_is_fetched_and_kept(start_node: StartNode, tmp_path: Path, peer: FakePeer,
                                                   media_host: MediaHost) -> None:
    # Given a caching node where alice follows the peer's mallory
    node = await caching_node(start_node, tmp_path, policy_for(peer, media_host))
    await follows_mallory(node, peer)
    # When mallory posts a picture hosted on the media host, behind a redirect
    picture = {"type": "Document", "mediaType": "image/png", "url": f"{media_host.base}/to-png", "name": "alt"}
    note = peer.note("mallory", 1, "<p>pic</p>", attachment=[picture])
    await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory")
    await node.process()
    await fetch_all(node.ctx)
    # Then it was processed as an upload is (typed from the bytes, re-encoded, with a preview)
    # and kept in the media store under a generated key
    async with node.ctx.db.reader() as s:
        [row] = (await s.scalars(select(MediaAttachment))).all()
    assert row.storage_key is not None and row.storage_key.endswith(".png") and row.failure is None
    assert node.ctx.media is not None
    stored = await node.ctx.media.get(row.storage_key)
    assert (row.content_type, row.size_bytes, row.remote_url) == ("image/png", len(stored), f"{media_host.base}/to-png")
    assert (row.width, row.height) == (40, 30) and row.preview_key is not None and row.blurhash
    assert stored.startswith(b"\x89PNG")
    assert media_host.requests == ["/to-png", "/img.png"]


@pytest.mark.parametrize("path, why", [
    ("/page.png", "this type of file is not accepted"),
    ("/huge.png", f"announces 1000000000 bytes, more than {CAP}"),
    ("/endless.png", f"sent more than {CAP} bytes"),
    ("/to-private", "10.0.0.1"),
    ("/to-metadata", "169.254.169.254"),
])
async def test_what_is_refused_stays_by_reference(start_node: StartNode, tmp_path: Path, peer: FakePeer,
                                                  media_host: MediaHost, path: str, why: str) -> None:
    # Given a caching node and an attachment whose URL answers with something it must not keep
    node = await caching_node(start_node, tmp_path, policy_for(peer, media_host))
    media_id = await remote_attachment(node.ctx, f"{media_host.base}{path}")
    # When the fetch runs
    await fetch_all(node.ctx)
    # Then nothing is stored, the row stays by reference, and it says why
    row = await row_of(node.ctx, media_id)
    assert row.storage_key is None and row.remote_url == f"{media_host.base}{path}"
    assert row.failure is not None and why in row.failure
    assert await stored_keys(node.ctx) == []
    # And a redirect was never followed to where it pointed: only the first hop reached anyone
    assert media_host.requests == [path]


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/img.png", "http://10.1.2.3/img.png",
                                 "http://169.254.169.254/latest/meta-data/", "http://[::1]:{port}/img.png"])
async def test_loopback_and_private_addresses_are_never_contacted(start_node: StartNode, tmp_path: Path,
                                                                  peer: FakePeer, media_host: MediaHost, url: str) -> None:
    # Given a caching node that may not reach loopback or private addresses (a production node)
    node = await caching_node(start_node, tmp_path, policy_for(peer, media_host),
                              address_policy=AddressPolicy(allow_http=True))
    media_id = await remote_attachment(node.ctx, url.format(port=media_host.port))
    # When the fetch runs
    await fetch_all(node.ctx)
    # Then it was refused before any connection, and the attachment stays by reference
    row = await row_of(node.ctx, media_id)
    assert row.storage_key is None and row.failure
    assert media_host.requests == [] and await stored_keys(node.ctx) == []


async def test_a_blocked_host_is_not_contacted(start_node: StartNode, tmp_path: Path, peer: FakePeer,
                                               media_host: MediaHost) -> None:
    # Given a caching node whose policy blocks the media host
    node = await caching_node(start_node, tmp_path, policy_for(peer, media_host, host_trust="blocked"))
    media_id = await remote_attachment(node.ctx, f"{media_host.base}/img.png")
    # When the fetch runs
    await fetch_all(node.ctx)
    # Then the host got no request; the row stays by reference with the reason; the gate audited it
    assert media_host.requests == []
    row = await row_of(node.ctx, media_id)
    assert row.storage_key is None and row.failure is not None and "blocked" in row.failure
    async with node.ctx.db.reader() as s:
        refused = (await s.scalars(select(AuditEntry).where(AuditEntry.peer == media_host.domain))).all()
    assert [e.decision for e in refused] == ["refused"] and "media" in refused[0].reason


async def test_a_reference_node_fetches_nothing(start_node: StartNode, peer: FakePeer, media_host: MediaHost) -> None:
    # Given a node left at the default (`reference`) and a peer's post with a picture
    node = await start_node(policy=policy_for(peer, media_host))
    await follows_mallory(node, peer)
    note = peer.note("mallory", 2, "<p>pic</p>",
                     attachment=[{"type": "Document", "mediaType": "image/png", "url": f"{media_host.base}/img.png"}])
    # When it arrives
    await peer.post(node.inbox, peer.create("mallory", note), as_actor="mallory")
    await node.process()
    await fetch_all(node.ctx)
    # Then it is recorded by reference and the media host is never asked
    async with node.ctx.db.reader() as s:
        [row] = (await s.scalars(select(MediaAttachment))).all()
    assert row.remote_url == f"{media_host.base}/img.png" and row.storage_key is None
    assert media_host.requests == []


async def test_the_setting_is_read_checked_and_reaches_the_node(tmp_path: Path) -> None:
    toml = tmp_path / settings.SETTINGS_FILE
    # Given no setting, the node keeps peers' media by reference
    toml.write_text('domain = "social.example"\n')
    assert settings.load(tmp_path).media_remote == "reference"
    # Given `cache`, a served node's context caches
    toml.write_text('domain = "social.example"\n[media]\nremote = "cache"\n')
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        assert context_for(settings.load(tmp_path), db).media_remote == MediaRemote.CACHE
    finally:
        await db.dispose()
    # Given anything else, the file is refused with the key named
    toml.write_text('domain = "social.example"\n[media]\nremote = "always"\n')
    with pytest.raises(Invalid, match="media.remote must be reference or cache"):
        settings.load(tmp_path)


async def test_a_peers_avatar_is_cached_like_an_attachment(start_node: StartNode, tmp_path: Path, peer: FakePeer,
                                                           media_host: MediaHost) -> None:
    # Given a caching node, and the peer's mallory whose actor names an avatar on the media host
    node = await caching_node(start_node, tmp_path, policy_for(peer, media_host))
    peer.actor_extra["mallory"] = {"icon": {"type": "Image", "mediaType": "image/png", "url": f"{media_host.base}/img.png"}}
    # When the node learns of mallory and its media worker runs
    mallory = await remote.actor_by_uri(node.ctx, peer.actor("mallory"))
    await fetch_all(node.ctx)
    # Then her avatar's bytes are kept here, processed as an upload's are
    async with node.ctx.db.reader() as s:
        row = await s.get(MediaAttachment, mallory.avatar_id)
    assert row is not None and row.role == "avatar" and row.storage_key is not None and row.failure is None
    assert media_host.requests == ["/img.png"]
