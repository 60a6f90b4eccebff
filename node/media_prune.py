"""`atrium media prune`: give back the space of media nobody will show again.

Three kinds, each older than the cut-off:
- orphaned uploads: attachments uploaded here and never posted (`post_id` None, role
  attachment, not reserved for a scheduled post; a deleted post's attachments become
  these too): the row and its bytes go;
- cached copies of peers' media on old posts (`remote_url` and `storage_key`): the bytes go,
  the row stays and is shown by reference again (its `remote_url`);
- bytes in the store that no row names (a crash between storing and recording, a row removed
  by other means), judged by when they were written.

Bytes a sealed post names (node/sealing.py: a held account's removed post) are never pruned.

The database is changed first and committed, then the bytes deleted: a crash in between leaves
only bytes no row names, which the next run removes. A dry run changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from node.context import NodeContext
from node.sealing import sealed_store_keys
from storage.errors import Invalid, NotFound
from storage.media_store import MediaStore, StoreKind
from storage.models import Post, ScheduledMedia
from storage.models.media import MediaAttachment, MediaRole

BATCH = 500  # rows changed per statement: well under SQLite's and asyncpg's parameter limits


@dataclass
class PruneReport:
    """What a prune removed (or, in a dry run, would remove)."""

    dry_run: bool
    store: StoreKind  # the store the files were in
    orphaned_uploads: int = 0  # rows removed with their bytes
    cached_remote: int = 0  # rows whose cached copy was dropped (the rows stay)
    stray_keys: int = 0  # keys in the store that no row names
    deleted_keys: list[str] = field(default_factory=list)  # every key removed from the store


def _keys_of(rows: Iterable[tuple[str | None, str | None]]) -> list[str]:
    return [k for pair in rows for k in pair if k is not None]


async def prune(ctx: NodeContext, *, older_than: timedelta, dry_run: bool = False,
                now: datetime | None = None) -> PruneReport:
    """Prune media older than `older_than` (see the module's description)."""
    if ctx.media is None:
        raise Invalid("this node keeps no media store")
    if older_than < timedelta(0):
        raise Invalid("--older-than must be 0 days or more")
    store = ctx.media
    cutoff = (now or datetime.now(UTC)) - older_than
    report = PruneReport(dry_run=dry_run, store=store.name)
    # Listed before the rows are read: a key stored after this is not looked at, and one
    # stored before it whose row is committed later is younger than any cut-off but zero.
    in_store = [k async for k in store.keys()]
    async with ctx.db.session() as s:
        orphans = (await s.execute(
            select(MediaAttachment.id, MediaAttachment.storage_key, MediaAttachment.preview_key).where(
                MediaAttachment.post_id.is_(None),
                MediaAttachment.role == MediaRole.ATTACHMENT.value,
                MediaAttachment.created_at < cutoff,
                MediaAttachment.id.not_in(select(ScheduledMedia.media_id)),  # waiting for its scheduled post
            )
        )).all()
        cached = (await s.execute(
            select(MediaAttachment.id, MediaAttachment.storage_key, MediaAttachment.preview_key)
            .join(Post, Post.id == MediaAttachment.post_id)
            .where(
                MediaAttachment.remote_url.is_not(None),
                MediaAttachment.storage_key.is_not(None),
                Post.created_at < cutoff,
            )
        )).all()
        named = set(_keys_of((await s.execute(
            select(MediaAttachment.storage_key, MediaAttachment.preview_key).where(
                (MediaAttachment.storage_key.is_not(None)) | (MediaAttachment.preview_key.is_not(None))
            )
        )).all()))
        named |= await sealed_store_keys(s)
        if not dry_run:
            for ids in _batches([row.id for row in orphans]):
                await s.execute(delete(MediaAttachment).where(MediaAttachment.id.in_(ids)))
            for ids in _batches([row.id for row in cached]):
                await s.execute(
                    update(MediaAttachment).where(MediaAttachment.id.in_(ids)).values(storage_key=None, preview_key=None)
                )
    report.orphaned_uploads, report.cached_remote = len(orphans), len(cached)
    gone = _keys_of((r.storage_key, r.preview_key) for r in [*orphans, *cached])
    stray = [k for k in in_store if k not in named and await _written_before(store, k, cutoff)]
    report.stray_keys = len(stray)
    report.deleted_keys = sorted(set(gone) | set(stray))
    if not dry_run:
        for key in report.deleted_keys:
            await store.delete(key)
    return report


async def _written_before(store: MediaStore, key: str, cutoff: datetime) -> bool:
    try:
        return await store.modified(key) < cutoff
    except NotFound:  # gone since it was listed (another prune): nothing to do for it
        return False


def _batches(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]
