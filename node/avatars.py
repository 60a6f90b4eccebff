"""Avatars and headers: where each person's pictures are shown from, the default pictures a
person has before uploading their own (node/default_pictures.py draws them), and the pictures
a peer's actor document names (its `icon` and `image`), kept by reference as media rows.

An account's pictures are media rows (`MediaAttachment`, role avatar or header) that
`Account.avatar_id` / `header_id` point at; they are read with the account itself
(storage/models/social.py), so showing them costs no query. Avatars and headers are public,
as on Mastodon: their URLs are plain (node/media_urls.py).
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from federation.vocab import Picture
from node import accounts, media
from node.audience import Audience
from node.context import NodeContext
from node.default_pictures import avatar_png, check_size, colour_of, header_png, initials
from node.federate import queue_fanout
from node.media import Upload
from node.media_urls import media_url
from node.queues import ActorUpdated
from storage.errors import NotFound
from storage.models import Account, MediaAttachment, MediaKind, MediaRole, MediaState

DEFAULT_AVATAR_PATH = "/avatars/default/"
DEFAULT_HEADER_PATH = "/headers/default/"
ROLE_POINTERS = {MediaRole.AVATAR: "avatar_id", MediaRole.HEADER: "header_id"}
# The pictures of a profile by the names forms and the client API give them.
PICTURE_FIELDS = {role.value: role for role in ROLE_POINTERS}


def _picture(account: Account, role: MediaRole) -> MediaAttachment | None:
    """The account's avatar or header row, when it was read with the account and is usable:
    its own, of that role, ready. An account made in this process and not read back has not
    read its pictures: it shows the default (no query, and no lazy load off the session)."""
    media = account.__dict__.get(role.value)
    if not isinstance(media, MediaAttachment) or media.account_id != account.id or media.role != role:
        return None
    return media if media.state == MediaState.READY else None


def _picture_url(base_url: str, media: MediaAttachment | None, *, here_only: bool) -> str | None:
    if media is None:
        return None
    if media.storage_key is not None:
        # Pictures of people are public: a plain URL, never signed (no key is needed).
        return media_url(base_url, media.storage_key, Audience.PUBLIC, b"")
    if media.remote_url is not None and not here_only:
        return media.remote_url
    return None


def avatar_url(base_url: str, account: Account, *, size: int | None = None, here_only: bool = False) -> str:
    """Where the account's avatar is loaded from: its uploaded picture, a peer's by its URL
    (unless `here_only`: the web UI loads nothing from other hosts, so a peer's picture not
    copied here yet shows the default), else the default drawn for it at `size`."""
    url = _picture_url(base_url, _picture(account, MediaRole.AVATAR), here_only=here_only)
    if url is not None:
        return url
    return f"{base_url}{DEFAULT_AVATAR_PATH}{account.id}.png" + (f"?size={check_size(size)}" if size else "")


def header_url(base_url: str, account: Account, *, here_only: bool = False) -> str:
    url = _picture_url(base_url, _picture(account, MediaRole.HEADER), here_only=here_only)
    return url if url is not None else f"{base_url}{DEFAULT_HEADER_PATH}{account.id}.png"


def picture_of(base_url: str, account: Account, role: MediaRole) -> Picture | None:
    """The uploaded avatar or header an actor document names (`icon`, `image`); None for the
    defaults, as Mastodon sends no `icon` for an account without one."""
    media = _picture(account, role)
    if media is None or media.storage_key is None:
        return None
    return Picture(url=media_url(base_url, media.storage_key, Audience.PUBLIC, b""), media_type=media.content_type)


def _full_handle(ctx: NodeContext, account: Account) -> str:
    return f"{account.username}@{account.domain or ctx.domain}"


async def default_avatar(ctx: NodeContext, account_id: int, size: int | None = None) -> bytes:
    """The account's default avatar as PNG: its initials on its colour, `size` pixels a side."""
    size = check_size(size)
    account = await accounts.get_account(ctx, account_id)
    letters = initials(account.display_name, account.username)
    # Drawn off the event loop (a few milliseconds the first time; cached after).
    return await asyncio.to_thread(avatar_png, letters, colour_of(_full_handle(ctx, account)), size)


async def default_header(ctx: NodeContext, account_id: int) -> bytes:
    """The account's default header as PNG: a light shade of its avatar's colour."""
    account = await accounts.get_account(ctx, account_id)
    return await asyncio.to_thread(header_png, colour_of(_full_handle(ctx, account)))


async def set_picture(ctx: NodeContext, account: Account, role: MediaRole, upload: Upload | None) -> Account:
    """The one way a local account's avatar or header changes, for the client API and the web
    UI alike: `upload` becomes it (processed as every upload is, cropped and scaled to the
    role's size: node/media.py `FITS`), or None removes it (the default shows again). The old
    picture's row and bytes go; the account's followers on other nodes are sent an Update of
    its actor, in the same transaction. The account is returned as it now is."""
    new = await media.upload(ctx, account, upload, role=role) if upload is not None else None
    gone: list[str] = []
    async with ctx.db.session() as s:
        row = await s.get(Account, account.id)
        if row is None or row.domain is not None:
            raise NotFound("no such local account")
        pointer = ROLE_POINTERS[role]
        old_id: int | None = getattr(row, pointer)
        old = await s.get(MediaAttachment, old_id) if old_id is not None else None
        setattr(row, pointer, new.id if new is not None else None)
        if old is not None and old.account_id == row.id and old.role == role.value:
            gone = [key for key in (old.storage_key, old.preview_key) if key]
            await s.delete(old)
        await queue_fanout(s, ActorUpdated(row.id))
    if ctx.media is not None:
        for key in gone:  # after the commit: a failure leaves bytes no row names, for `media prune`
            await ctx.media.delete(key)
    return await accounts.get_account(ctx, account.id)


async def record_remote_pictures(
    s: AsyncSession, account: Account, icon: Picture | None, image: Picture | None
) -> list[int]:
    """A remote account's avatar and header as its actor document names them, in the
    caller's transaction: a new media row (by reference: `remote_url`, no bytes here) for a
    picture whose URL changed, the old row removed; none when the document names none.
    The account then reads its pictures as they now are. The ids of the new rows."""
    changed = False
    added: list[int] = []
    for role, picture in ((MediaRole.AVATAR, icon), (MediaRole.HEADER, image)):
        pointer = ROLE_POINTERS[role]
        current_id: int | None = getattr(account, pointer)
        current = await s.get(MediaAttachment, current_id) if current_id is not None else None
        if current is not None and current.account_id != account.id:
            current = None  # not this account's row: never touched from here
        if picture is not None and current is not None and current.remote_url == picture.url:
            continue  # unchanged
        changed = changed or current is not None or picture is not None
        if picture is None:
            setattr(account, pointer, None)
        else:
            row = MediaAttachment(
                account_id=account.id,
                role=role.value,
                kind=MediaKind.IMAGE.value,
                state=MediaState.READY.value,
                content_type=picture.media_type or "application/octet-stream",
                remote_url=picture.url,
            )
            s.add(row)
            await s.flush()
            setattr(account, pointer, row.id)
            added.append(row.id)
        if current is not None:
            await s.delete(current)
    unread = any(getattr(account, pointer) is not None and role.value not in account.__dict__
                 for role, pointer in ROLE_POINTERS.items())
    if changed or unread:
        await s.refresh(account, [role.value for role in ROLE_POINTERS])
    return added
