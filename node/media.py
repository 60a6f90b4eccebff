"""Pictures and files people upload, and the attachments of posts as a viewer sees them.

An upload is processed (`node/media_processing.py`: type from the bytes, caps, EXIF gone,
preview and blurhash) before anything is written; then its bytes go to the media store under
generated keys and its row is written, or nothing is. It waits unattached until its author
posts it: `attach` (called by `node/post_effects.py` inside the post's own transaction)
gives a post up to `MAX_ATTACHMENTS` of its author's own ready, unattached uploads.
`views_of` makes what clients show of a page of posts, with URLs made for that viewer
(`node/media_urls.py`: signed and expiring for media of a post not everyone may see).

An edit that drops an attachment keeps it the post's (at position `DROPPED`), as Mastodon
does: the post's audience still guards it, its history still shows it (each earlier version
lists its attachments, `PostEdit.media_ids`), and it cannot be posted anywhere else. A post's
attachments now are its rows at positions from 0 (`current`).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy import delete as sql_delete
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.media_ap import RemoteAttachment
from node.audience import Audience
from node.context import NodeContext
from node.delivery_check import text_of
from node.media_processing import process
from node.media_urls import media_url, url_key
from node.sanitize import html_to_text
from storage.errors import Forbidden, Invalid, NotFound, Unavailable
from storage.ids import new_id
from storage.media_store import MediaStore, new_key, preview_key_of
from storage.models import Account, Post, ScheduledMedia
from storage.models.media import MediaAttachment, MediaKind, MediaRole, MediaState

MAX_ATTACHMENTS = 4  # per post, as Mastodon
MAX_DESCRIPTION = 1500  # alt text, in characters, as Mastodon
MAX_FILE_NAME = 255
DROPPED = -1  # the position of an attachment an edit took off its post
# What an avatar or a header is cropped and scaled to.
FITS = {MediaRole.AVATAR: (400, 400), MediaRole.HEADER: (1500, 500)}


@dataclass(frozen=True)
class Upload:
    """An uploaded file: its bytes, and the name it came with (for display only)."""

    data: bytes
    file_name: str | None = None


@dataclass(frozen=True)
class AttachmentView:
    """An attachment as a viewer is shown it: URLs made for them, sizes, alt text, blurhash."""

    id: int
    kind: MediaKind
    url: str | None
    preview_url: str | None
    remote_url: str | None
    content_type: str
    file_name: str | None
    size_bytes: int | None
    width: int | None
    height: int | None
    preview_width: int | None
    preview_height: int | None
    focus: tuple[float, float]
    description: str
    blurhash: str | None
    state: MediaState


def clean_file_name(name: str | None) -> str | None:
    """The last part of an uploaded name, without control characters, at most 255 long: shown
    and offered for download, never used as a path."""
    if not name:
        return None
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in last if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    return kept[:MAX_FILE_NAME] or None


def _description(text: str) -> str:
    if "\x00" in text:
        raise Invalid("a description cannot contain NUL characters")
    if len(text) > MAX_DESCRIPTION:
        raise Invalid(f"description too long: at most {MAX_DESCRIPTION} characters")
    return text


def _focus(focus: tuple[float, float]) -> tuple[float, float]:
    x, y = focus
    if not all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in (x, y)):
        raise Invalid("focus must be two numbers between -1 and 1")
    return float(x), float(y)


def parse_focus(text: str) -> tuple[float, float]:
    """Mastodon's `focus` parameter, `"x,y"`."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise Invalid("focus must be two numbers between -1 and 1, as x,y") from None
    return _focus((x, y))


def _store(ctx: NodeContext) -> MediaStore:
    if ctx.media is None:
        raise Unavailable("this node keeps no media")
    return ctx.media


async def upload(
    ctx: NodeContext,
    account: Account,
    upload: Upload,
    *,
    description: str = "",
    focus: tuple[float, float] = (0.0, 0.0),
    role: MediaRole = MediaRole.ATTACHMENT,
) -> MediaAttachment:
    """Process and keep an upload by a local account: ready to attach (or to be its avatar or
    header) when this returns; `Invalid` (422) with the reason when refused, nothing kept."""
    if account.domain is not None:
        raise Forbidden("only local accounts upload to this node")
    if account.disabled:
        raise Forbidden("this account is disabled")
    description, focus = _description(description), _focus(focus)
    store = _store(ctx)
    done = await process(upload.data, ctx.media_limits, fit=FITS.get(role))
    key = new_key(done.extension)
    preview_key = preview_key_of(key) if done.preview is not None else None
    row = MediaAttachment(
        account_id=account.id, post_id=None, position=0, role=role.value, kind=done.kind.value,
        state=MediaState.READY.value, content_type=done.content_type,
        file_name=clean_file_name(upload.file_name), size_bytes=len(done.data), storage_key=key,
        preview_key=preview_key, width=done.width, height=done.height,
        preview_width=done.preview_width, preview_height=done.preview_height,
        focus_x=focus[0], focus_y=focus[1], description=description, blurhash=done.blurhash,
    )
    try:
        await store.put(key, done.data, done.content_type)
        if preview_key is not None and done.preview is not None:
            await store.put(preview_key, done.preview, "image/jpeg")
        async with ctx.db.session() as s:
            s.add(row)
    except BaseException:
        # Nothing half-written: bytes without a row are removed again.
        await store.delete(key)
        if preview_key is not None:
            await store.delete(preview_key)
        raise
    return row


async def _own(s: AsyncSession, account: Account, media_id: int) -> MediaAttachment:
    row = await s.get(MediaAttachment, media_id)
    if row is None or row.account_id != account.id:
        raise NotFound("Record not found")
    return row


async def own_media(ctx: NodeContext, account: Account, media_id: int) -> MediaAttachment:
    """One of the account's own media; `NotFound` for anyone else's (whether it exists is not told)."""
    async with ctx.db.reader() as s:
        return await _own(s, account, media_id)


async def update(
    ctx: NodeContext,
    account: Account,
    media_id: int,
    *,
    description: str | None = None,
    focus: tuple[float, float] | None = None,
) -> MediaAttachment:
    """Change an unattached upload's alt text or focal point. Once posted, an attachment is
    changed by editing its post (so the change is in the post's history and federates)."""
    async with ctx.db.session() as s:
        row = await _own(s, account, media_id)
        if row.post_id is not None:
            raise Invalid("this media is attached to a post: edit the post instead")
        if description is not None:
            row.description = _description(description)
        if focus is not None:
            row.focus_x, row.focus_y = _focus(focus)
    return row


def check_media_ids(media_ids: Sequence[int]) -> tuple[int, ...]:
    """The ids in order, once each; `Invalid` for more than a post may carry."""
    unique = tuple(dict.fromkeys(media_ids))
    if len(unique) > MAX_ATTACHMENTS:
        raise Invalid(f"too many attachments: at most {MAX_ATTACHMENTS}")
    return unique


def current(post_id: int) -> ColumnElement[bool]:
    """The condition of a post's attachments now (not those an edit dropped)."""
    return and_(MediaAttachment.post_id == post_id, MediaAttachment.position >= 0)


async def attached_ids(s: AsyncSession, post_id: int) -> list[int]:
    """A post's attachments now, in order."""
    stmt = select(MediaAttachment.id).where(current(post_id)).order_by(MediaAttachment.position)
    return list((await s.scalars(stmt)).all())


def ids_text(ids: Sequence[int]) -> str:
    """Ids as `PostEdit.media_ids` keeps them."""
    return ",".join(str(i) for i in ids)


def ids_of(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.isdigit()]


async def attach(s: AsyncSession, post: Post, media_ids: Sequence[int]) -> None:
    """Make `media_ids`, in that order, the attachments of a local post (its author's own, ready,
    not attached to another post); the post's attachments not named are dropped (`DROPPED`).
    Inside the post's transaction: `Invalid` (422) rolls the whole post back."""
    ids = check_media_ids(media_ids)
    for position, media_id in enumerate(ids):
        taken = await s.execute(
            sql_update(MediaAttachment)
            .where(
                MediaAttachment.id == media_id,
                MediaAttachment.account_id == post.account_id,
                MediaAttachment.role == MediaRole.ATTACHMENT.value,
                MediaAttachment.state == MediaState.READY.value,
                or_(MediaAttachment.post_id.is_(None), MediaAttachment.post_id == post.id),
                MediaAttachment.id.not_in(select(ScheduledMedia.media_id)),  # kept for a scheduled post
            )
            .values(post_id=post.id, position=position)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise Invalid(f"media {media_id} cannot be attached: not your own ready upload, or posted already")
    await s.execute(
        sql_update(MediaAttachment)
        .where(MediaAttachment.post_id == post.id, MediaAttachment.id.not_in(ids))
        .values(position=DROPPED)
        .execution_options(synchronize_session=False)
    )


def _plain(text: str | None) -> str | None:
    """A peer's alt text or file name as plain text: whatever markup it carried is dropped, as
    from a content warning, so no reader (an app, a page) is handed any to run."""
    return html_to_text(text) if text else text


async def attach_remote(s: AsyncSession, post: Post, items: Sequence[RemoteAttachment]) -> list[int]:
    """Make a peer's post carry `items` as its attachments, in order: a row by reference for
    each (state ready, no bytes here); one it already had (same URL) is kept with its cached
    bytes and takes the new alt text; one it no longer has is removed. The ids of new rows."""
    rows = (await s.scalars(select(MediaAttachment).where(
        MediaAttachment.post_id == post.id, MediaAttachment.role == MediaRole.ATTACHMENT))).all()
    had = {row.remote_url: row for row in rows}
    added: list[int] = []
    for position, item in enumerate(items):
        row = had.pop(item.url, None)
        if row is None:
            row = MediaAttachment(id=new_id(), account_id=post.account_id, post_id=post.id,
                                  role=MediaRole.ATTACHMENT, state=MediaState.READY, remote_url=item.url,
                                  kind=item.kind, content_type=item.media_type or "application/octet-stream",
                                  width=item.width, height=item.height, file_name=_plain(item.file_name))
            s.add(row)
            added.append(row.id)
        row.position, row.description, row.blurhash = position, _plain(item.description) or "", item.blurhash
        row.focus_x, row.focus_y = item.focus
    for gone in had.values():
        await s.delete(gone)
    return added


async def forget_post_media(s: AsyncSession, post_ids: Sequence[int]) -> None:
    """A removed post's attachments go with it, in its transaction: their rows at once, so no
    one (the uploader, a holder of a signed URL) reads them again; their bytes, which no row
    names any more, are removed by `atrium media prune`."""
    if post_ids:
        await s.execute(sql_delete(MediaAttachment).where(MediaAttachment.post_id.in_(post_ids)))


async def view(ctx: NodeContext, row: MediaAttachment) -> AttachmentView:
    """One attachment as shown to someone who may see it (its uploader, or a viewer of its
    post): URLs signed unless its post is one anyone may see."""
    audience: Audience | None = None
    if row.post_id is not None:
        async with ctx.db.reader() as s:
            visibility = await s.scalar(select(Post.visibility).where(Post.id == row.post_id))
        audience = Audience(visibility) if visibility is not None else None
    return _view(ctx, row, audience, await url_key(ctx))


def _view(ctx: NodeContext, row: MediaAttachment, audience: Audience | None, key: bytes) -> AttachmentView:
    if row.role != MediaRole.ATTACHMENT.value:
        audience = Audience.PUBLIC  # avatars and headers are shown to everyone
    signed_as = audience or Audience.DIRECT  # an unposted upload: signed like the narrowest post

    def url_of(storage_key: str | None) -> str | None:
        return media_url(ctx.base_url, storage_key, signed_as, key) if storage_key else None

    url, preview_url = url_of(row.storage_key), url_of(row.preview_key)
    if url is None and row.remote_url:
        url = row.remote_url
        preview_url = row.remote_url if row.kind == MediaKind.IMAGE.value else None
    return AttachmentView(
        id=row.id, kind=MediaKind(row.kind), url=url, preview_url=preview_url, remote_url=row.remote_url,
        content_type=row.content_type, file_name=row.file_name, size_bytes=row.size_bytes,
        width=row.width, height=row.height, preview_width=row.preview_width, preview_height=row.preview_height,
        focus=(row.focus_x, row.focus_y), description=row.description, blurhash=row.blurhash,
        state=MediaState(row.state),
    )


async def attachment_views(ctx: NodeContext, s: AsyncSession, post_ids: Sequence[int]) -> dict[int, list[AttachmentView]]:
    """Each post's attachments in order, for a reader who may see the posts (one query)."""
    if not post_ids:
        return {}
    rows = await s.execute(
        select(MediaAttachment, Post.visibility, Post.source, Post.content_html)
        .join(Post, Post.id == MediaAttachment.post_id)
        .where(MediaAttachment.post_id.in_(post_ids), MediaAttachment.position >= 0)
        .order_by(MediaAttachment.post_id, MediaAttachment.position, MediaAttachment.id)
    )
    found = rows.all()
    if not found:
        return {}
    key = await url_key(ctx)
    words: dict[int, list[str]] = {}  # each post's attachments' alt texts and names, as content rules read them
    for row, *_ in found:
        words.setdefault(row.post_id or 0, []).append(f"{row.description} {row.file_name or ''}")
    out: dict[int, list[AttachmentView]] = {}
    for row, visibility, source, content_html in found:
        assert row.post_id is not None  # by the join
        text = text_of(source, content_html) + "\n" + "\n".join(words[row.post_id])
        out.setdefault(row.post_id, []).append(_view(ctx, row, _signed_as(ctx, Audience(visibility), text), key))
    return out


def _signed_as(ctx: NodeContext, audience: Audience, text: str) -> Audience:
    """The audience a post's media URLs are made for: its own, except that a post anyone may see
    which the policy keeps from the open web (a content rule) gets signed URLs as the narrowest
    audience does — its bare URL answers 404 to the open web (node/media_access.py)."""
    if audience.rules.anyone_may_see and not ctx.policy().outbound(audience, None, text).allowed:
        return Audience.DIRECT
    return audience


async def version_views(
    ctx: NodeContext, post: Post, versions: Sequence[Sequence[int]]
) -> list[list[AttachmentView]]:
    """The attachments of each version of a post (its history), for a reader who may see it:
    only rows of this post are shown, whatever an id names."""
    wanted = {i for ids in versions for i in ids}
    rows: dict[int, MediaAttachment] = {}
    if wanted:
        async with ctx.db.reader() as s:
            found = await s.scalars(
                select(MediaAttachment).where(MediaAttachment.post_id == post.id, MediaAttachment.id.in_(wanted))
            )
            rows = {r.id: r for r in found}
    key = await url_key(ctx) if rows else b""
    audience = Audience(post.visibility)
    return [[_view(ctx, rows[i], audience, key) for i in ids if i in rows] for ids in versions]


async def views_of(ctx: NodeContext, viewer: Account | None, posts: Sequence[Post]) -> dict[int, list[AttachmentView]]:
    """The attachments of posts the viewer may see (the caller has checked), by post id."""
    async with ctx.db.reader() as s:
        return await attachment_views(ctx, s, [p.id for p in posts])
