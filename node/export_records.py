"""What an export says of a post, a reaction, an account: plain JSON records, read in batches
(one query per kind for a page of posts), shared by the eDiscovery export and the person's own
archive."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node.context import NodeContext
from storage.models import Account, LegalHold, MediaAttachment, Mention, Post, PostEdit, PostTag, SealedPost, Tag


def when(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def handle(ctx: NodeContext, account: Account) -> str:
    """`user@domain` for every account, this node's own included (an export leaves the node)."""
    return f"{account.username}@{account.domain or ctx.domain}"


def account_uri(ctx: NodeContext, account: Account) -> str:
    return ctx.actor_uri(account.username) if account.domain is None else account.actor_uri or ""


def extension(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def media_path(media_id: int, store_key: str) -> str:
    """Where an attachment's bytes are in an archive."""
    return f"media/{media_id}.{extension(store_key)}"


@dataclass(frozen=True)
class MediaFile:
    path: str
    store_key: str


@dataclass
class PostBatch:
    """A page of posts as records, and the files their attachments need."""

    records: list[dict[str, Any]]
    files: list[MediaFile]


def _media_record(row: MediaAttachment, files: list[MediaFile]) -> dict[str, Any]:
    path = None
    if row.storage_key:
        path = media_path(row.id, row.storage_key)
        files.append(MediaFile(path, row.storage_key))
    return {"id": str(row.id), "kind": row.kind, "content_type": row.content_type, "file_name": row.file_name,
            "description": row.description, "size_bytes": row.size_bytes, "file": path,
            "remote_url": row.remote_url, "dropped_by_edit": row.position < 0}


async def post_records(ctx: NodeContext, s: AsyncSession, posts: Sequence[Post]) -> PostBatch:
    """Each post with its audience, edit history, attachments, mentions and tags."""
    ids = [p.id for p in posts]
    edits: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in await s.scalars(select(PostEdit).where(PostEdit.post_id.in_(ids)).order_by(PostEdit.created_at, PostEdit.id)):
        edits[e.post_id].append({"created_at": when(e.created_at), "source": e.source, "content_html": e.content_html,
                                 "summary": e.summary, "sensitive": e.sensitive,
                                 "media_ids": [i for i in e.media_ids.split(",") if i]})
    files: list[MediaFile] = []
    media: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = await s.scalars(select(MediaAttachment).where(MediaAttachment.post_id.in_(ids))
                           .order_by(MediaAttachment.post_id, MediaAttachment.position, MediaAttachment.id))
    for row in rows:
        media[row.post_id or 0].append(_media_record(row, files))
    mentions: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for post_id, account in await s.execute(select(Mention.post_id, Account).join(Account, Account.id == Mention.account_id)
                                            .where(Mention.post_id.in_(ids))):
        mentions[post_id].append((handle(ctx, account), account_uri(ctx, account)))
    tags: dict[int, list[str]] = defaultdict(list)
    for post_id, name in await s.execute(select(PostTag.post_id, Tag.name).join(Tag, Tag.id == PostTag.tag_id)
                                         .where(PostTag.post_id.in_(ids))):
        tags[post_id].append(name)
    records = [{
        "id": str(p.id), "uri": p.uri, "url": p.url, "author": handle(ctx, p.account),
        "author_uri": account_uri(ctx, p.account), "on_this_node": p.local, "audience": p.visibility,
        "created_at": when(p.created_at), "edited_at": when(p.edited_at), "in_reply_to_uri": p.in_reply_to_uri,
        "language": p.language, "sensitive": p.sensitive, "summary": p.summary, "source": p.source,
        "content_html": p.content_html, "mentions": sorted(h for h, _ in mentions[p.id]),
        "mention_uris": sorted(u for _, u in mentions[p.id]), "tags": sorted(tags[p.id]),
        "attachments": media[p.id], "edits": edits[p.id],
        "counts": {"replies": p.replies_count, "likes": p.likes_count, "boosts": p.boosts_count},
    } for p in posts]
    return PostBatch(records, files)


def sealed_record(ctx: NodeContext, row: SealedPost, account: Account) -> tuple[dict[str, Any], list[MediaFile]]:
    """A sealed copy of a held account's removed post (its snapshot, node/holds.py), with the
    archive paths of the attachments whose bytes the store still keeps."""
    try:
        snapshot: Any = json.loads(row.snapshot)
    except ValueError:
        snapshot = {"unreadable": row.snapshot}
    files: list[MediaFile] = []
    if isinstance(snapshot, dict):
        for item in snapshot.get("media") or []:
            key = item.get("store_key") if isinstance(item, dict) else None
            if isinstance(key, str) and key:
                item["file"] = media_path(int(item.get("id") or 0), key)
                files.append(MediaFile(item["file"], key))
    record = {"post_id": str(row.post_id), "uri": row.uri, "account": handle(ctx, account), "audience": row.visibility,
              "posted_at": when(row.posted_at), "sealed_at": when(row.sealed_at), "cause": row.cause,
              "snapshot": snapshot}
    return record, files


async def account_record(ctx: NodeContext, s: AsyncSession, account: Account) -> dict[str, Any]:
    holds = await s.scalars(select(LegalHold).where(LegalHold.account_id == account.id).order_by(LegalHold.created_at))
    return {
        "id": str(account.id), "handle": handle(ctx, account), "uri": account_uri(ctx, account),
        "on_this_node": account.domain is None, "display_name": account.display_name, "bio": account.bio,
        "role": account.role, "email": account.email, "created_at": when(account.created_at),
        "disabled": account.disabled, "suspended": account.suspended, "deleted_at": when(account.deleted_at),
        "directory": {"title": account.title, "department": account.department, "location": account.location,
                      "organization_name": account.organization, "employee_number": account.employee_number,
                      "manager": account.manager},
        "legal_holds": [{"case": h.case_name, "reason": h.reason, "created_by": h.created_by,
                         "created_at": when(h.created_at), "released_at": when(h.released_at)} for h in holds],
    }
