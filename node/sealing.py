"""Sealing: a post of an account under legal hold that is removed (its author's delete, a
moderator's removal) leaves every timeline through the normal path — peers get the `Delete`
— but this node first keeps a sealed copy of it (`SealedPost`): the post as it was, its edit
history, its attachments (whose bytes `atrium media prune` then leaves alone), mentions and
hashtags, in the shape node/holds.py `Snapshot` gives. Called by node/post_effects.py
`remove_posts` only, in the removal's own transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node.holds import Snapshot, SnapshotEdit, SnapshotMedia, held_account_ids
from node.media import ids_of
from storage.models import Account, Mention, Post, PostEdit, PostTag, SealCause, SealedPost, Tag, utcnow
from storage.models.media import MediaAttachment, MediaRole


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


async def snapshot(s: AsyncSession, post: Post, domain: str) -> Snapshot:
    """The post as it is now, with everything an export needs (node/holds.py `Snapshot`)."""
    edits = (await s.scalars(select(PostEdit).where(PostEdit.post_id == post.id).order_by(PostEdit.id))).all()
    media = (await s.scalars(select(MediaAttachment).where(
        MediaAttachment.post_id == post.id, MediaAttachment.role == MediaRole.ATTACHMENT.value,
    ).order_by(MediaAttachment.position, MediaAttachment.id))).all()
    mentioned = (await s.execute(select(Account.username, Account.domain).join(
        Mention, Mention.account_id == Account.id).where(Mention.post_id == post.id))).all()
    tags = (await s.scalars(select(Tag.name).join(PostTag, PostTag.tag_id == Tag.id)
                            .where(PostTag.post_id == post.id).order_by(Tag.name))).all()
    return Snapshot(
        post={
            "id": post.id, "uri": post.uri or "", "url": post.url, "visibility": post.visibility,
            "source": post.source, "content_html": post.content_html, "summary": post.summary,
            "sensitive": post.sensitive, "language": post.language, "in_reply_to_uri": post.in_reply_to_uri,
            "created_at": post.created_at.isoformat(), "edited_at": _iso(post.edited_at),
        },
        edits=[SnapshotEdit(created_at=e.created_at.isoformat(), source=e.source, content_html=e.content_html,
                            summary=e.summary, sensitive=e.sensitive, media_ids=ids_of(e.media_ids)) for e in edits],
        media=[SnapshotMedia(id=m.id, kind=m.kind, content_type=m.content_type, store_key=m.storage_key,
                             preview_key=m.preview_key, description=m.description, file_name=m.file_name) for m in media],
        mentions=sorted(f"{name}@{host or domain}" for name, host in mentioned),
        tags=list(tags),
    )


async def seal_held(s: AsyncSession, posts: Sequence[Post], domain: str, cause: SealCause) -> list[int]:
    """Write a SealedPost for each post of `posts` whose local author is under hold (boosts
    say nothing of their own and are not sealed); the ids of the posts sealed."""
    candidates = [p for p in posts if p.local and p.reblog_of_id is None]
    held = await held_account_ids(s, {p.account_id for p in candidates})
    sealed: list[int] = []
    for post in candidates:
        if post.account_id not in held:
            continue
        s.add(SealedPost(post_id=post.id, account_id=post.account_id, uri=post.uri or "", visibility=post.visibility,
                         posted_at=post.created_at, sealed_at=utcnow(), cause=cause.value,
                         snapshot=json.dumps(await snapshot(s, post, domain), ensure_ascii=False)))
        sealed.append(post.id)
    return sealed


async def sealed_store_keys(s: AsyncSession) -> set[str]:
    """Every media store key a sealed post names: bytes that must stay (node/media_prune.py)."""
    keys: set[str] = set()
    for text in await s.scalars(select(SealedPost.snapshot)):
        for media in json.loads(text).get("media", []):
            keys.update(k for k in (media.get("store_key"), media.get("preview_key")) if k)
    return keys
