"""May this request read this media key? The one decision, for every way media is asked for
(web/media.py serves `/media/<key>` with it).

Media follows what it belongs to:
- an avatar or a header is plain: anyone may load it, as anyone may read the profile;
- an upload not posted yet is its uploader's alone: their session or token, or a URL signed
  for them (node/media_urls.py);
- a post's attachment is read exactly by the post's audience: a local viewer who may see the
  post (node/post_access.py), a URL this node signed for such a viewer (`?exp=&sig=`,
  node/media_urls.py), or whoever may fetch the post's object from this node — the open web
  for what the policy lets it have, a peer's signed fetch judged as a signed GET of the post
  (node/ap_reads.py `may_fetch`, authorized fetch and the trust policy, refusals audited).

Everything else is NotFound, the answer for a key that names nothing: a reader learns no more
from being refused than from asking for a key that was never made. A peer's post cached here
is served to other peers as to the open web — their signatures count for this node's own posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from node import media_urls
from node.ap_reads import Reader, may_fetch
from node.context import NodeContext
from node.post_access import author_suspended, viewable
from storage.errors import Invalid, NotFound
from storage.media_store import check_key
from storage.models import Account, Post
from storage.models.media import MediaAttachment, MediaRole, MediaState

PREVIEW_TYPE = "image/jpeg"  # previews are made as JPEG (storage.media_store.preview_key_of)


class Grant(StrEnum):
    """Why a reader may have the file, which says how it may be cached: `plain` for anyone
    (shared caches may keep it), `personal` for this reader only (a signature, a session or
    token, a peer's signed fetch: private caches only)."""

    PLAIN = "plain"
    PERSONAL = "personal"


@dataclass(frozen=True)
class Asker:
    """Who asks: the local account signed in (web session or API token), the query's `exp` and
    `sig` ("" when absent), and the peer's verified signer, asked only when needed."""

    viewer: Account | None
    exp: str
    sig: str
    peer: Reader


@dataclass(frozen=True)
class MediaFile:
    key: str
    data: bytes
    content_type: str  # as stored (decided from the bytes), or the preview's
    file_name: str | None  # the name it was uploaded with, for a download's name
    grant: Grant


async def open_media(ctx: NodeContext, key: str, asker: Asker) -> MediaFile:
    """The file under `key` if this asker may read it; NotFound otherwise (a key that is not
    one this node could have made included)."""
    try:
        check_key(key)
    except Invalid as exc:
        raise NotFound("no such media") from exc
    if ctx.media is None:
        raise NotFound("no such media")
    async with ctx.db.reader() as s:
        row = await s.scalar(
            select(MediaAttachment).where(or_(MediaAttachment.storage_key == key, MediaAttachment.preview_key == key))
        )
        if row is None or row.state != MediaState.READY:
            raise NotFound("no such media")
        grant = await _grant(ctx, s, row, key, asker)
    if grant is None:
        raise NotFound("no such media")
    data = await ctx.media.get(key)
    preview = key == row.preview_key
    return MediaFile(key, data, PREVIEW_TYPE if preview else row.content_type, row.file_name, grant)


async def _grant(ctx: NodeContext, s: AsyncSession, row: MediaAttachment, key: str, asker: Asker) -> Grant | None:
    if row.role in (MediaRole.AVATAR, MediaRole.HEADER):
        return Grant.PLAIN
    signed = bool(asker.exp and asker.sig) and media_urls.signature_holds(
        await media_urls.url_key(ctx), key, asker.exp, asker.sig
    )
    if row.post_id is None:  # an upload waiting to be posted: its uploader's alone
        mine = asker.viewer is not None and asker.viewer.id == row.account_id
        return Grant.PERSONAL if signed or mine else None
    post = await s.get(Post, row.post_id)
    if post is None or await author_suspended(s, post):
        return None
    if signed:
        return Grant.PERSONAL
    if asker.viewer is not None and await viewable(ctx, s, asker.viewer, post):
        return Grant.PERSONAL
    signer: list[Account | None] = []  # the peer's signer, verified once

    async def reader() -> Account | None:
        if not signer:
            signer.append(await asker.peer() if post.local else None)
        return signer[0]

    if await may_fetch(ctx, s, post, reader):
        # A signer who may have it is told "personal": the answer depended on who asked.
        return Grant.PLAIN if await reader() is None else Grant.PERSONAL
    return None
