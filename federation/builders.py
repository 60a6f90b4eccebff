"""Builders for the documents Atrium sends: actors, notes and activities. Pure: no I/O.

The node passes plain values in (URIs, texts, times); these functions know ActivityPub's
shapes and nothing about accounts, timelines or policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from federation.addressing import Addressing
from federation.media_ap import AttachmentData, attachment_to_ap
from federation.vocab import CONTEXT, Picture


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class PropertyValue:
    """A profile field as Mastodon sends it (a schema.org `PropertyValue` attachment): its
    name (plain text), its value (HTML), and, between Atrium nodes, `audience_scope` when it is
    for the organisation only."""

    name: str
    value_html: str
    scope: str | None = None


def property_value_to_ap(f: PropertyValue) -> dict[str, object]:
    out: dict[str, object] = {"type": "PropertyValue", "name": f.name, "value": f.value_html}
    if f.scope:
        out["audience_scope"] = f.scope
    return out


@dataclass(frozen=True)
class ActorData:
    """One of our actors. Its inbox, outbox and collections are served under its id (`/inbox`,
    `/outbox`, `/followers`, `/following`, `/collections/featured`), so they are not given."""

    id: str
    type: str  # Person | Application
    username: str
    name: str
    summary_html: str
    url: str
    shared_inbox: str
    public_key_pem: str
    locked: bool
    published: datetime
    suspended: bool = False
    discoverable: bool = False  # Mastodon's: may the account be featured and suggested
    icon: Picture | None = None  # the avatar, when one was uploaded
    image: Picture | None = None  # the header, when one was uploaded
    fields: Sequence[PropertyValue] = ()  # the profile fields this reader may have


def picture_to_ap(p: Picture) -> dict[str, object]:
    """An actor's `icon` or `image`, as Mastodon sends them."""
    out: dict[str, object] = {"type": "Image", "url": p.url}
    if p.media_type:
        out["mediaType"] = p.media_type
    return out


def actor_to_ap(a: ActorData) -> dict[str, object]:
    return {
        "@context": CONTEXT,
        "id": a.id,
        "type": a.type,
        "preferredUsername": a.username,
        "name": a.name,
        "summary": a.summary_html,
        "url": a.url,
        "inbox": f"{a.id}/inbox",
        "outbox": f"{a.id}/outbox",
        "followers": f"{a.id}/followers",
        "following": f"{a.id}/following",
        "featured": f"{a.id}/collections/featured",
        "endpoints": {"sharedInbox": a.shared_inbox},
        "manuallyApprovesFollowers": a.locked,
        "discoverable": a.discoverable,
        "published": iso(a.published),
        "publicKey": {"id": f"{a.id}#main-key", "owner": a.id, "publicKeyPem": a.public_key_pem},
        # Mastodon's flag for an account its server has disabled.
        "suspended": a.suspended,
        "attachment": [property_value_to_ap(f) for f in a.fields],
    } | {key: picture_to_ap(p) for key, p in (("icon", a.icon), ("image", a.image)) if p is not None}


@dataclass(frozen=True)
class NoteData:
    id: str
    url: str
    attributed_to: str
    content_html: str
    summary: str
    sensitive: bool
    published: datetime
    addressing: Addressing
    in_reply_to: str | None = None
    updated: datetime | None = None
    language: str | None = None
    # (actor URI, "@user@domain") of each mention; (name, URL) of each hashtag
    mentions: Sequence[tuple[str, str]] = field(default_factory=tuple)
    hashtags: Sequence[tuple[str, str]] = field(default_factory=tuple)
    attachments: Sequence[AttachmentData] = field(default_factory=tuple)


def post_to_ap(n: NoteData, *, with_context: bool = True) -> dict[str, object]:
    note: dict[str, object] = {
        "id": n.id,
        "type": "Note",
        "url": n.url,
        "attributedTo": n.attributed_to,
        "content": n.content_html,
        "summary": n.summary or None,
        "sensitive": n.sensitive,
        "published": iso(n.published),
        "inReplyTo": n.in_reply_to,
        "to": list(n.addressing.to),
        "cc": list(n.addressing.cc),
        "tag": [{"type": "Mention", "href": href, "name": name} for href, name in n.mentions]
        + [{"type": "Hashtag", "href": href, "name": f"#{name}"} for name, href in n.hashtags],
    }
    if n.attachments:
        note["attachment"] = [attachment_to_ap(a) for a in n.attachments]
    if n.addressing.scope:
        note["audience_scope"] = n.addressing.scope
    if n.updated is not None:
        note["updated"] = iso(n.updated)
    if n.language:
        note["contentMap"] = {n.language: n.content_html}
    if with_context:
        note = {"@context": CONTEXT, **note}
    return note


def tombstone(object_id: str) -> dict[str, object]:
    return {"id": object_id, "type": "Tombstone"}


def activity(
    type_: str,
    activity_id: str,
    actor: str,
    obj: object,
    *,
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    published: datetime | None = None,
    extra: dict[str, object] | None = None,
) -> dict[str, object]:
    """Any activity: Create, Update, Delete, Follow, Accept, Reject, Undo, Like, Announce, Block, Flag, Move."""
    doc: dict[str, object] = {"@context": CONTEXT, "id": activity_id, "type": type_, "actor": actor}
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items() if k != "@context"}
    doc["object"] = obj
    if to:
        doc["to"] = list(to)
    if cc:
        doc["cc"] = list(cc)
    if published is not None:
        doc["published"] = iso(published)
    if extra:
        doc.update(extra)
    return doc


def flag(activity_id: str, actor: str, objects: Sequence[str], content: str) -> dict[str, object]:
    """A report forwarded to the reported account's server, as Mastodon sends it: from the
    instance actor (the reporter stays anonymous), naming the account then its posts."""
    return {"@context": CONTEXT, "id": activity_id, "type": "Flag", "actor": actor, "content": content,
            "object": list(objects)}


def ordered_collection(collection_id: str, total: int, first: str | None = None) -> dict[str, object]:
    doc: dict[str, object] = {
        "@context": CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if first:
        doc["first"] = first
    return doc


def collection_page(
    page_id: str, part_of: str, items: Sequence[object], next_page: str | None
) -> dict[str, object]:
    doc: dict[str, object] = {
        "@context": CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": list(items),
    }
    if next_page:
        doc["next"] = next_page
    return doc
