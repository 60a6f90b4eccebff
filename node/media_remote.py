"""Peers' attachments fetched and kept here, when the operator chooses so (`media.remote =
"cache"`): the `media_fetch` job.

A peer's attachment is recorded by reference (node.post_effects `attach_remote`: its
`remote_url`, no bytes here). With caching on, the same transaction queues a `media_fetch`
job for each new row (`queue_remote_fetch`); the job fetches the URL through the outbound gate
(`Purpose.MEDIA`: the address guard refuses loopback, private and link-local addresses at every
hop, redirects included, and the trust policy is asked about every host, so a blocked host is
never contacted), reads at most `MAX_REMOTE_BYTES` (a `Content-Length` over it is refused
before reading; the stream is cut past it), decides the type from the bytes, and stores the
original in the media store. Whatever goes wrong — refused, unreachable, too large, not an
image — the attachment stays by reference and the reason is kept on its row (`failure`): a
failed fetch never blocks or changes the post.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from federation.addresses import FetchError
from federation.gate import Purpose
from node.context import NodeContext
from node.queues import MEDIA_FETCH, MediaFetch
from storage import jobs
from storage.media_store import new_key
from storage.models.media import MediaAttachment, MediaKind

log = logging.getLogger(__name__)

# The largest attachment fetched from a peer. TODO(media-core): the per-type caps of
# node/media_processing.py (`media.max_image_bytes`, `media.max_file_bytes`) once on main.
MAX_REMOTE_BYTES = 16 * 1024 * 1024

# Hand-written rather than a library: until media-core's node/media_processing.py (Pillow
# decides the type and re-encodes) is on main, only the four image formats it accepts are
# cached, recognised by their leading bytes; anything else stays by reference.
# TODO(media-core): pass the bytes through node/media_processing.py (re-encode, EXIF stripped,
# preview and blurhash) and cache PDFs and office files as it allows.
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


def sniff_image(data: bytes) -> tuple[str, str] | None:
    """(content type, file extension) of an image format this node caches, from its bytes."""
    for signature, content_type, extension in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return content_type, extension
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


async def queue_remote_fetch(s: AsyncSession, media_ids: Sequence[int]) -> None:
    """Fetch and cache these rows' remote attachments, once the caller's transaction commits."""
    if media_ids:
        await jobs.enqueue_many_in(s, MEDIA_FETCH, [MediaFetch(media_id).to_json() for media_id in media_ids])


class NotCached(Exception):
    """Why an attachment stays by reference (kept on its row as `failure`)."""


async def handle_media_fetch(ctx: NodeContext, job: jobs.ClaimedJob, *, max_bytes: int = MAX_REMOTE_BYTES) -> None:
    """The `media_fetch` job: fetch, check and store one peer's attachment; on any failure
    record why on the row and end (it stays by reference; never retried)."""
    record = MediaFetch.from_json(job.payload)
    async with ctx.db.reader() as s:
        row = await s.get(MediaAttachment, record.media_id)
    if row is None or row.storage_key is not None or not row.remote_url:
        return  # gone (the post was edited or deleted), already cached, or nothing to fetch
    try:
        content_type, key, size = await _fetch_and_store(ctx, row.remote_url, max_bytes)
    except (NotCached, FetchError) as exc:
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
            found.storage_key, found.content_type, found.size_bytes = key, content_type, size
            found.kind, found.failure = MediaKind.IMAGE, None
            return
    assert ctx.media is not None
    await ctx.media.delete(key)  # the row went (or was cached by another worker) meanwhile


async def _fetch_and_store(ctx: NodeContext, url: str, max_bytes: int) -> tuple[str, str, int]:
    """(content type, storage key, size) of the attachment at `url`, stored."""
    if ctx.media is None:
        raise NotCached("this node keeps no media store")
    if ctx.fetcher is None:
        raise NotCached("this node fetches nothing (no outbound gate)")
    fetched = await ctx.fetcher.fetch_bytes(url, purpose=Purpose.MEDIA, max_bytes=max_bytes)
    sniffed = sniff_image(fetched.body)
    if sniffed is None:
        raise NotCached(f"{fetched.url} is not an image this node caches (PNG, JPEG, GIF, WebP)")
    content_type, extension = sniffed
    key = new_key(extension)
    await ctx.media.put(key, fetched.body, content_type)
    return content_type, key, len(fetched.body)
