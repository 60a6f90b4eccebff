"""Our attachments as they leave the node: what a post's note carries, what content rules read
of them, and their withholding from a peer (`withhold_media`, `Policy.media_out`).

A post's attachments are read when its activity is built (the fan-out, a peer's signed fetch):
each ready row with bytes here becomes a `Document` whose `url` is this node's `/media/<key>`
(plain: a peer fetches the media of a non-public post with a signed GET, which the media route
checks against the post's audience). The alt text and file name of each are read by content
rules beside the post's text. A peer whose rule says `withhold_media` gets the activity without
its `attachment` — decided at fan-out and again when each delivery is sent (node.delivery), so
a rule added in between holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.media_ap import AttachmentData
from node.media_urls import MEDIA_PATH
from storage.models.media import MediaAttachment, MediaRole, MediaState


@dataclass(frozen=True)
class Outgoing:
    """A post's attachments as they leave, and the words of them content rules read."""

    attachments: tuple[AttachmentData, ...] = ()
    text: str = ""


NONE = Outgoing()


def media_text(rows: Sequence[tuple[str, str | None]]) -> str:
    """What content rules read of attachments: each one's alt text and file name."""
    return "\n".join(f"{description} {file_name or ''}".strip() for description, file_name in rows).strip()


def judged_text(post_text: str, media: Outgoing) -> str:
    """A post's text with its attachments' words: what content rules are asked about."""
    return f"{post_text}\n{media.text}" if media.text else post_text


async def outgoing(base_url: str, s: AsyncSession, post_id: int) -> Outgoing:
    """A post's attachments as they leave."""
    return (await outgoing_many(base_url, s, [post_id])).get(post_id, NONE)


async def outgoing_many(base_url: str, s: AsyncSession, post_ids: Sequence[int]) -> dict[int, Outgoing]:
    """The attachments of several posts (a page of an outbox), in one query."""
    rows = (await s.scalars(
        select(MediaAttachment)
        .where(MediaAttachment.post_id.in_(post_ids), MediaAttachment.role == MediaRole.ATTACHMENT,
               MediaAttachment.position >= 0)  # an edit's dropped attachments stay for its history only
        .order_by(MediaAttachment.post_id, MediaAttachment.position, MediaAttachment.id)
    )).all()
    by_post: dict[int, list[MediaAttachment]] = {}
    for row in rows:
        by_post.setdefault(row.post_id or 0, []).append(row)
    return {post_id: _outgoing(base_url, found) for post_id, found in by_post.items()}


def _outgoing(base_url: str, rows: Sequence[MediaAttachment]) -> Outgoing:
    attachments = tuple(
        AttachmentData(
            url=f"{base_url}{MEDIA_PATH}{row.storage_key}" if row.storage_key else row.remote_url or "",
            media_type=row.content_type, description=row.description, file_name=row.file_name,
            blurhash=row.blurhash, focus=(row.focus_x, row.focus_y), width=row.width, height=row.height,
        )
        for row in rows
        if row.state == MediaState.READY and (row.storage_key or row.remote_url)
    )
    return Outgoing(attachments, media_text([(row.description, row.file_name) for row in rows]))


def carries_media(activity: dict[str, object]) -> bool:
    obj = activity.get("object")
    return isinstance(obj, dict) and bool(obj.get("attachment"))


def without_media(activity: dict[str, object]) -> dict[str, object]:
    """The activity (or note) with no attachment: what a peer that has media withheld gets."""
    obj = activity.get("object")
    if isinstance(obj, dict):
        return {**activity, "object": {k: v for k, v in obj.items() if k != "attachment"}}
    return {k: v for k, v in activity.items() if k != "attachment"}


def withheld_body(body: str) -> str | None:
    """A delivery's body without its attachments; None when it carries none (nothing to do)."""
    try:
        activity = json.loads(body)
    except ValueError:
        return None
    if not isinstance(activity, dict) or not carries_media(activity):
        return None
    return json.dumps(without_media(activity))
