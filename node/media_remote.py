"""Peers' attachments fetched and kept here, when the operator chooses so (`media.remote =
"cache"`): the `media_fetch` job.

A peer's attachment is recorded by reference (node.post_effects `attach_remote`: its
`remote_url`, no bytes here). With caching on, the same transaction queues a `media_fetch`
job for each new row (`queue_remote_fetch`); the job fetches the URL through the outbound gate
(`Purpose.MEDIA`: the address guard refuses loopback, private and link-local addresses at every
hop, redirects included, and the trust policy is asked about every host, so a blocked host is
never contacted), reads at most what an upload may be (`media.max_*`: a `Content-Length` over
it is refused before reading; the stream is cut past it), and hands the bytes to the same
processing as an upload (node/media_processing.py: the type from the bytes, the caps, the
picture re-encoded without EXIF, its preview and blurhash) before storing them. Whatever goes wrong — refused, unreachable, too large, not an
image — the attachment stays by reference and the reason is kept on its row (`failure`): a
failed fetch never blocks or changes the post.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from federation.addresses import FetchError
from federation.gate import Purpose
from node.context import MediaRemote, NodeContext
from node.media_processing import Processed, process
from node.queues import MEDIA_FETCH, MediaFetch
from storage import jobs
from storage.errors import Invalid
from storage.media_store import new_key, preview_key_of
from storage.models.media import MediaAttachment

log = logging.getLogger(__name__)

async def queue_remote_fetch(s: AsyncSession, media_ids: Sequence[int]) -> None:
    """Fetch and cache these rows' remote attachments, once the caller's transaction commits."""
    if media_ids:
        await jobs.enqueue_many_in(s, MEDIA_FETCH, [MediaFetch(media_id).to_json() for media_id in media_ids])


async def cache_if_chosen(ctx: NodeContext, s: AsyncSession, media_ids: Sequence[int]) -> None:
    """A peer's new media rows (attachments, avatars, headers) fetched and kept here, where the
    operator chose so (`media.remote = "cache"`); left by reference otherwise."""
    if ctx.media_remote == MediaRemote.CACHE and ctx.media is not None:
        await queue_remote_fetch(s, media_ids)


class NotCached(Exception):
    """Why an attachment stays by reference (kept on its row as `failure`)."""


async def handle_media_fetch(ctx: NodeContext, job: jobs.ClaimedJob, *, max_bytes: int | None = None) -> None:
    """The `media_fetch` job: fetch, check and store one peer's attachment; on any failure
    record why on the row and end (it stays by reference; never retried)."""
    record = MediaFetch.from_json(job.payload)
    async with ctx.db.reader() as s:
        row = await s.get(MediaAttachment, record.media_id)
    if row is None or row.storage_key is not None or not row.remote_url:
        return  # gone (the post was edited or deleted), already cached, or nothing to fetch
    try:
        done, key = await _fetch_and_store(ctx, row.remote_url, max_bytes or ctx.media_limits.max_upload_bytes)
    except (NotCached, FetchError, Invalid) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        log.info("media %d stays by reference: %s", record.media_id, reason)
        async with ctx.db.session() as s:
            found = await s.get(MediaAttachment, record.media_id)
            if found is not None:
                found.failure = reason[:255]
        return
    async with ctx.db.session() as s:
        found = await s.get(MediaAttachment, record.media_id, with_for_update=True)
        if found is not None and found.storage_key is None:
            found.storage_key, found.content_type, found.size_bytes = key, done.content_type, len(done.data)
            found.kind, found.failure = done.kind, None
            found.width, found.height = done.width or found.width, done.height or found.height
            if done.preview is not None:
                found.preview_key = preview_key_of(key)
                found.preview_width, found.preview_height = done.preview_width, done.preview_height
            found.blurhash = found.blurhash or done.blurhash
            return
    assert ctx.media is not None
    # The row went (or was cached by another worker) meanwhile.
    await ctx.media.delete(key)
    if done.preview is not None:
        await ctx.media.delete(preview_key_of(key))


async def _fetch_and_store(ctx: NodeContext, url: str, max_bytes: int) -> tuple[Processed, str]:
    """The attachment at `url` processed as an upload is, and the key it is stored under."""
    if ctx.media is None:
        raise NotCached("this node keeps no media store")
    if ctx.fetcher is None:
        raise NotCached("this node fetches nothing (no outbound gate)")
    fetched = await ctx.fetcher.fetch_bytes(url, purpose=Purpose.MEDIA, max_bytes=max_bytes)
    done = await process(fetched.body, ctx.media_limits)
    key = new_key(done.extension)
    await ctx.media.put(key, done.data, done.content_type)
    if done.preview is not None:
        await ctx.media.put(preview_key_of(key), done.preview, "image/jpeg")
    return done, key
