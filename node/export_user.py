"""A person's own archive, in Mastodon's shape (what the settings page's "Import and export"
hands them): `actor.json`, `outbox.json` (an ActivityStreams OrderedCollection of the `Create`
activities of their posts, every audience, and the `Announce` of their boosts), `likes.json`
and `bookmarks.json` (the ids of the posts), and their attachments' bytes under
`media_attachments/files/` (the path each Note's attachment names). Written as a stream, a
page of posts at a time, to a new file (node/export_zip.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from federation.vocab import CONTEXT, PUBLIC
from node.actors import followers_uri, person_document
from node.audience import Audience
from node.context import NodeContext
from node.export_records import extension, post_records
from node.export_zip import ArchiveWriter, writing
from storage.errors import NotFound
from storage.models import Account, Bookmark, Like, MediaAttachment, Post

PAGE = 200


def media_path(media_id: int, store_key: str) -> str:
    """Where Mastodon's archives keep an attachment: `media_attachments/files/<id>/original/<file>`."""
    return f"media_attachments/files/{media_id}/original/{store_key}"


def _addressing(audience: str, followers: str, mentions: list[str]) -> tuple[list[str], list[str]]:
    match audience:
        case Audience.PUBLIC:
            return [PUBLIC], [followers, *mentions]
        case Audience.UNLISTED:
            return [followers], [PUBLIC, *mentions]
        case Audience.FOLLOWERS:
            return [followers], mentions
        case _:  # direct: the people named; organization and local: nobody outside (the scope says who)
            return mentions, []


def _note(record: dict[str, Any], followers: str, files: dict[str, str]) -> dict[str, Any]:
    to, cc = _addressing(record["audience"], followers, record["mention_uris"])
    note: dict[str, Any] = {
        "id": record["uri"], "type": "Note", "url": record["url"], "attributedTo": record["author_uri"],
        "content": record["content_html"], "summary": record["summary"] or None, "sensitive": record["sensitive"],
        "published": record["created_at"], "inReplyTo": record["in_reply_to_uri"], "to": to, "cc": cc,
        "audience_scope": record["audience"],
        "tag": [{"type": "Hashtag", "name": f"#{t}"} for t in record["tags"]],
        "attachment": [{"type": "Document", "mediaType": a["content_type"], "url": files.get(a["id"]),
                        "name": a["description"] or None} for a in record["attachments"] if not a["dropped_by_edit"]],
    }
    if record["edited_at"]:
        note["updated"] = record["edited_at"]
    if record["language"]:
        note["contentMap"] = {record["language"]: record["content_html"]}
    return note


async def _own_posts(ctx: NodeContext, account: Account) -> AsyncIterator[list[Post]]:
    after = 0
    while True:
        stmt = select(Post).where(Post.account_id == account.id, Post.id > after).order_by(Post.id).limit(PAGE)
        async with ctx.db.reader() as s:
            rows = list((await s.scalars(stmt)).unique())
        if rows:
            yield rows
        if len(rows) < PAGE:
            return
        after = rows[-1].id


async def _outbox(ctx: NodeContext, w: ArchiveWriter, account: Account) -> dict[str, str]:
    """Write outbox.json as it is read; the attachments it names (archive path → store key)."""
    actor, followers = ctx.actor_uri(account.username), followers_uri(ctx, account.username)
    original = aliased(Post)
    async with ctx.db.reader() as s:
        total = await s.scalar(select(func.count()).select_from(Post).where(Post.account_id == account.id))
    wanted: dict[str, str] = {}
    with w.open("outbox.json") as sink:
        head = {"@context": CONTEXT, "id": "outbox.json", "type": "OrderedCollection", "totalItems": int(total or 0)}
        sink.write(json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "orderedItems": [')
        first = True
        async for page in _own_posts(ctx, account):
            async with ctx.db.reader() as s:
                batch = await post_records(ctx, s, [p for p in page if p.reblog_of_id is None])
                boosts = [p.id for p in page if p.reblog_of_id is not None]
                rows = await s.execute(select(Post.id, original.uri).join(original, original.id == Post.reblog_of_id)
                                       .where(Post.id.in_(boosts)))
                boosted = {post_id: uri for post_id, uri in rows}
            records = {int(r["id"]): r for r in batch.records}
            keys = {f.path: f.store_key for f in batch.files}
            for post in page:
                if post.reblog_of_id is not None:
                    item: dict[str, Any] = {"id": f"{post.uri}/activity", "type": "Announce", "actor": actor,
                                            "published": post.created_at.isoformat(), "to": [followers], "cc": [],
                                            "object": boosted.get(post.id)}
                else:
                    record = records[post.id]
                    files = {a["id"]: media_path(int(a["id"]), keys[a["file"]])
                             for a in record["attachments"] if a["file"] in keys}
                    wanted.update((files[i], keys[a["file"]]) for a in record["attachments"] if (i := a["id"]) in files)
                    note = _note(record, followers, files)
                    item = {"id": f"{post.uri}/activity", "type": "Create", "actor": actor,
                            "published": record["created_at"], "to": note["to"], "cc": note["cc"], "object": note}
                sink.write((b"" if first else b",\n") + json.dumps(item, ensure_ascii=False).encode())
                first = False
        sink.write(b"]}\n")
    return wanted


async def _collection(ctx: NodeContext, w: ArchiveWriter, name: str, model: type[Like] | type[Bookmark], account: Account) -> None:
    """likes.json or bookmarks.json: the ids of the posts, oldest first."""
    async with ctx.db.reader() as s:
        uris = list(await s.scalars(select(Post.uri).join(model, model.post_id == Post.id)
                                    .where(model.account_id == account.id).order_by(model.id)))
    body = {"@context": CONTEXT, "id": name, "type": "OrderedCollection", "totalItems": len(uris),
            "orderedItems": [u for u in uris if u]}
    w.add(name, json.dumps(body, ensure_ascii=False, indent=1).encode())


async def write_user_archive(ctx: NodeContext, account: Account, out: Path) -> Path:
    """The person's own archive at `out` (a new file)."""
    if account.domain is not None:
        raise NotFound("only a local account has an archive here")
    actor = {"@context": CONTEXT, **await person_document(ctx, account)}
    with writing(out) as w:
        wanted = await _outbox(ctx, w, account)
        pictures: dict[str, str] = {}
        async with ctx.db.reader() as s:
            for field, media_id in (("icon", account.avatar_id), ("image", account.header_id)):
                row = await s.get(MediaAttachment, media_id) if media_id else None
                if row is not None and row.storage_key:
                    name = f"{'avatar' if field == 'icon' else 'header'}.{extension(row.storage_key)}"
                    pictures[name] = row.storage_key
                    actor[field] = {"type": "Image", "mediaType": row.content_type, "url": name}
        w.add("actor.json", json.dumps(actor, ensure_ascii=False, indent=1).encode())
        await _collection(ctx, w, "likes.json", Like, account)
        await _collection(ctx, w, "bookmarks.json", Bookmark, account)
        for path, key in sorted({**wanted, **pictures}.items()):
            if ctx.media is None:
                break
            try:
                w.add(path, await ctx.media.get(key))
            except NotFound:
                continue  # the bytes are gone (pruned): the Note still says what was attached
        w.finish()
    return out
