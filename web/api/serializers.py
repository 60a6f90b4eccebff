"""Mastodon JSON entities from node objects: pure converters, no I/O.

Visibility keeps Mastodon's four values (`followers` reads as `private`; `organization` and
`local` as `unlisted`), with Atrium's own in `atrium_visibility` and `local_only` for posts
that never leave the node.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from node import avatars, oauth, text
from node.actors import LOCAL_DISCOVERABLE
from node.audience import Audience, audience_of
from node.context import NodeContext
from node.media import MAX_ATTACHMENTS, MAX_DESCRIPTION, AttachmentView
from node.media_processing import SUPPORTED_TYPES
from node.pins import MAX_PINS
from node.polls import PollView
from node.post_views import PostExtras
from node.preferences import Preferences
from node.profile_fields import FieldView
from node.relationships import Counts, Relationship
from node.stats import Usage
from node.tags import MAX_FEATURED
from node.version import VERSION
from storage.models import Account, Marker, Notification, OAuthApp, Post
from storage.models.polls import MAX_EXPIRY_S, MAX_OPTIONS, MIN_EXPIRY_S, OPTION_CHARS

JSON = dict[str, Any]
MASTODON_VERSION = "4.3.0"
NOTIFICATION_TYPES = {
    "follow": "follow",
    "follow_request": "follow_request",
    "mention": "mention",
    "reply": "mention",
    "like": "favourite",
    "boost": "reblog",
    "poll": "poll",
}


def timestamp(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def version_string() -> str:
    return f"{MASTODON_VERSION} (compatible; Atrium {VERSION})"


def streaming_url(ctx: NodeContext) -> str:
    """Where clients open the streaming WebSocket: this node itself (web/api/streaming.py)."""
    return f"{'wss' if ctx.scheme == 'https' else 'ws'}://{ctx.domain}"


def _thumbnail(ctx: NodeContext) -> str:
    """The picture that stands for the node in apps' server lists: its icon."""
    return f"{ctx.base_url}/favicon.ico"


@lru_cache(maxsize=1024)
def note_html(bio: str, base_url: str) -> str:
    """A local account's bio (kept as typed) as the HTML clients show, rendered as a post's
    text is (escaped, links made), so a bio can never inject markup. Remote bios are stored
    sanitised already. Cached: the same author appears on every status of a page."""
    return text.render(bio, resolve_mention=lambda _: None, tag_url=lambda tag: f"{base_url}/tags/{tag}")


def field(f: FieldView, *, source: bool = False) -> JSON:
    """A profile field in Mastodon's shape: `value` as HTML (links made); in `source.fields`
    (`source`) the value as typed. Atrium adds who may see it (`atrium_scope`: public or
    organization) and, outside `source`, who wrote it (`atrium_source`: user or directory)."""
    out: JSON = {"name": f.name, "value": f.value_text if source else f.value_html,
                 "verified_at": timestamp(f.verified_at), "atrium_scope": f.scope.value}
    if not source:
        out["atrium_source"] = f.source.value
    return out


def account(ctx: NodeContext, a: Account, counts: Counts | None = None, fields: Sequence[FieldView] = ()) -> JSON:
    """`counts` (node.relationships.counts) where the caller has them; zeros otherwise;
    `fields` (node.profile_fields.fields_of) as the viewer may see them, where the caller has them."""
    counts = counts or Counts()
    local = a.domain is None
    url = ctx.profile_url(a.username) if local else (a.url or a.actor_uri or "")
    avatar, header = avatars.avatar_url(ctx.base_url, a), avatars.header_url(ctx.base_url, a)
    return {
        "id": str(a.id),
        "username": a.username,
        "acct": a.acct(),
        "display_name": a.display_name,
        "locked": a.locked,
        "bot": False,
        # A local account: what its actor document says (node/actors.py); a remote one: what
        # its own document said, None if it said nothing.
        "discoverable": LOCAL_DISCOVERABLE if local else a.discoverable,
        "indexable": False,
        "group": a.is_group,  # a community (docs/communities.md): followed to join it
        "created_at": timestamp(a.created_at),
        "note": a.bio if not local else note_html(a.bio, ctx.base_url),
        "url": url,
        "uri": ctx.actor_uri(a.username) if local else (a.actor_uri or url),
        # The uploaded pictures (a peer's by its own URL), else the defaults drawn here.
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": counts.followers,
        "following_count": counts.following,
        "statuses_count": counts.statuses,
        "last_status_at": counts.last_status_at.date().isoformat() if counts.last_status_at else None,
        "hide_collections": None,
        "noindex": False,
        "suspended": a.disabled or None,
        "emojis": [],
        "fields": [field(f) for f in fields],
        "roles": [],
    }


def credential_account(
    ctx: NodeContext,
    a: Account,
    counts: Counts | None = None,
    follow_requests_count: int = 0,
    fields: Sequence[FieldView] = (),
    own_fields: Sequence[FieldView] = (),
    prefs: Preferences | None = None,
) -> JSON:
    """The signed-in user's own account, with `source` (what they typed: `own_fields` are the
    fields they wrote, which they may edit; the directory's are in `fields` only) and `role`; `prefs`: the preferences new posts start from."""
    prefs = prefs or Preferences()
    return {
        **account(ctx, a, counts, fields),
        "source": {
            "privacy": prefs.api_audience.rules.mastodon,
            "sensitive": prefs.sensitive,
            "language": prefs.language,
            "note": a.bio,
            "fields": [field(f, source=True) for f in own_fields],
            "follow_requests_count": follow_requests_count,
            "hide_collections": False,
            "discoverable": LOCAL_DISCOVERABLE,
            "indexable": False,
            "attribution_domains": [],
        },
        "role": {"id": a.role, "name": a.role, "permissions": "0", "color": "", "highlighted": False},
    }


def mention(ctx: NodeContext, a: Account) -> JSON:
    full = account(ctx, a)
    return {"id": full["id"], "username": a.username, "acct": a.acct(), "url": full["url"]}


def status(
    ctx: NodeContext,
    post: Post,
    extras: PostExtras | None = None,
    *,
    reblog: JSON | None = None,
    with_source: bool = False,
) -> JSON:
    extras = extras or PostExtras()
    out: JSON = {
        "id": str(post.id),
        "uri": post.uri or "",
        "url": post.url,
        "created_at": timestamp(post.created_at),
        "edited_at": timestamp(post.edited_at),
        "account": account(ctx, post.account),
        "content": "" if reblog is not None else post.content_html,
        "visibility": audience_of(post.visibility).rules.mastodon,
        "atrium_visibility": post.visibility,
        "local_only": post.visibility == Audience.LOCAL,
        "sensitive": post.sensitive,
        "spoiler_text": post.summary,
        "language": post.language,
        "in_reply_to_id": str(post.in_reply_to_id) if post.in_reply_to_id else None,
        "in_reply_to_account_id": str(post.in_reply_to_account_id) if post.in_reply_to_account_id else None,
        "replies_count": post.replies_count,
        "reblogs_count": post.boosts_count,
        "favourites_count": post.likes_count,
        "favourited": post.id in extras.liked,
        "reblogged": post.id in extras.boosted,
        "muted": False,
        "bookmarked": post.id in extras.bookmarked,
        "pinned": post.id in extras.pinned,
        "reblog": reblog,
        "application": None,
        "media_attachments": [attachment(v) for v in extras.media.get(post.id, [])],
        "mentions": [mention(ctx, a) for a in extras.mentions.get(post.id, [])],
        "tags": [{"name": n, "url": ctx.tag_url(n)} for n in sorted(extras.tags.get(post.id, []))],
        "emojis": [],
        "card": None,
        "poll": poll(extras.polls[post.id]) if post.id in extras.polls else None,
        "filtered": [],
    }
    if with_source:
        out["text"] = post.source
    return out


def poll(v: PollView) -> JSON:
    """Mastodon's Poll entity (its id is the post's)."""
    return {
        "id": str(v.post_id),
        "expires_at": timestamp(v.expires_at),
        "expired": v.expired,
        "multiple": v.multiple,
        "votes_count": v.votes_count,
        "voters_count": v.voters_count,
        "options": [{"title": title, "votes_count": votes} for title, votes in v.options],
        "emojis": [],
        "voted": v.voted,
        "own_votes": list(v.own_votes),
    }


def _size(width: int | None, height: int | None) -> JSON | None:
    if not width or not height:
        return None
    out: JSON = {"width": width, "height": height, "size": f"{width}x{height}", "aspect": width / height}
    return out


def attachment(v: AttachmentView) -> JSON:
    """Mastodon's MediaAttachment entity (with Atrium's file name, type and size for files)."""
    meta: JSON = {"focus": {"x": v.focus[0], "y": v.focus[1]}}
    if (original := _size(v.width, v.height)) is not None:
        meta["original"] = original
    if (small := _size(v.preview_width, v.preview_height)) is not None:
        meta["small"] = small
    return {
        "id": str(v.id),
        "type": v.kind.value,
        "url": v.url,
        "preview_url": v.preview_url,
        "remote_url": v.remote_url,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": v.description or None,
        "blurhash": v.blurhash,
        "atrium_file_name": v.file_name,
        "atrium_content_type": v.content_type,
        "atrium_size_bytes": v.size_bytes,
    }


def notification(ctx: NodeContext, n: Notification, from_account: Account, status_json: JSON | None) -> JSON:
    return {
        "id": str(n.id),
        "type": NOTIFICATION_TYPES.get(n.type, n.type),
        "created_at": timestamp(n.created_at),
        "group_key": n.group_key,
        "account": account(ctx, from_account),
        "status": status_json,
    }


def application(app: OAuthApp, client_secret: str | None = None) -> JSON:
    uris = app.redirect_uris.split("\n")
    out: JSON = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "vapid_key": "",
    }
    if client_secret is not None:
        out |= {"client_id": app.client_id, "client_secret": client_secret, "client_secret_expires_at": 0}
    return out


def token(issued: oauth.IssuedToken) -> JSON:
    out: JSON = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "scope": issued.scope,
        "created_at": int(issued.created_at.timestamp()),
    }
    if issued.refresh_token:
        out["refresh_token"] = issued.refresh_token
    return out


def _configuration(ctx: NodeContext) -> JSON:
    return {
        "urls": {"streaming": streaming_url(ctx), "status": None},
        "accounts": {"max_featured_tags": MAX_FEATURED, "max_pinned_statuses": MAX_PINS},
        "statuses": {
            "max_characters": ctx.max_post_chars,
            "max_media_attachments": MAX_ATTACHMENTS,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": list(SUPPORTED_TYPES),
            "description_limit": MAX_DESCRIPTION,
            "image_size_limit": ctx.media_limits.max_image_bytes,
            "image_matrix_limit": ctx.media_limits.max_image_pixels,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
        },
        "polls": {
            "max_options": MAX_OPTIONS,
            "max_characters_per_option": OPTION_CHARS,
            "min_expiration": MIN_EXPIRY_S,
            "max_expiration": MAX_EXPIRY_S,
        },
        "translation": {"enabled": False},
        "atrium": {"visibilities": [a.value for a in Audience]},
    }


def instance_v2(ctx: NodeContext, usage: Usage) -> JSON:
    return {
        "domain": ctx.domain,
        "title": ctx.domain,
        "version": version_string(),
        "source_url": "https://atrium.example/",
        "description": "An Atrium node: a federated social server for organisations.",
        "usage": {"users": {"active_month": usage.active_month}},
        "thumbnail": {"url": _thumbnail(ctx)},
        "icon": [],
        "languages": [],
        "configuration": _configuration(ctx),
        "registrations": {"enabled": False, "approval_required": True, "message": None, "url": None},
        "api_versions": {"mastodon": 2},
        "contact": {"email": "", "account": None},
        "rules": [],
    }


def instance_v1(ctx: NodeContext, usage: Usage) -> JSON:
    return {
        "uri": ctx.domain,
        "title": ctx.domain,
        "short_description": "An Atrium node.",
        "description": "An Atrium node: a federated social server for organisations.",
        "email": "",
        "version": version_string(),
        "urls": {"streaming_api": streaming_url(ctx)},
        "stats": {"user_count": usage.users, "status_count": usage.local_posts, "domain_count": 0},
        "thumbnail": _thumbnail(ctx),
        "languages": [],
        "registrations": False,
        "approval_required": True,
        "invites_enabled": False,
        "configuration": _configuration(ctx),
        "contact_account": None,
        "rules": [],
    }


def relationship(r: Relationship) -> JSON:
    return {
        "id": str(r.id),
        "following": r.following,
        "showing_reblogs": r.following or r.requested,
        "notifying": False,
        "languages": None,
        "followed_by": r.followed_by,
        "blocking": r.blocking,
        "blocked_by": r.blocked_by,
        "muting": r.muting,
        "muting_notifications": r.muting_notifications,
        "requested": r.requested,
        "requested_by": r.requested_by,
        "domain_blocking": r.domain_blocking,
        "endorsed": False,
        "note": "",
    }


def marker(m: Marker) -> JSON:
    return {"last_read_id": str(m.last_read_id), "version": m.version, "updated_at": timestamp(m.updated_at)}
