"""Reading what peers send: activities and notes into plain values. Pure: no I/O.

Accepts the forms real servers use: `object` as a URI or embedded, `to`/`cc` as a string or a
list, every spelling of Public. Anything malformed raises `InvalidActivity` with a reason.
HTML stays raw here; the node sanitises before it stores or shows anything.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from federation.media_ap import RemoteAttachment, ap_to_attachments
from federation.vocab import Picture, as_list, id_of
from storage.errors import AtriumError

MAX_CONTENT = 100_000
MAX_TAGS = 100


class InvalidActivity(AtriumError, ValueError):
    """A document a peer sent that cannot be used (400). Also a `ValueError`, as before."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


@lru_cache(maxsize=4096)  # pure, and asked several times per inbound request for the same few URIs
def origin(uri: str) -> str:
    """`scheme://host[:port]` of a URI, lowercased: what "same origin" compares."""
    try:
        parts = urlsplit(uri)
        port = parts.port  # raises on a port that is not a number (":1u1") or out of range
    except ValueError as exc:  # also an unclosed "[" in the host
        raise InvalidActivity(f"not a usable URI: {uri[:200]!r}") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidActivity(f"not an http(s) URI: {uri[:200]!r}")
    default = {"https": 443, "http": 80}[parts.scheme]
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def web_url(value: str | None) -> str | None:
    """A link a page may show: http(s) only, so a peer cannot plant `javascript:` URLs."""
    if value is None or len(value) > 2048:
        return None
    try:
        origin(value)
    except InvalidActivity:
        return None
    return value


def host_of(uri: str) -> str:
    """The domain (with a non-default port) of a URI, as the policy compares domains."""
    return origin(uri).split("://", 1)[1]


def _str(doc: dict[str, object], key: str, *, required: bool = False, limit: int = 2048) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise InvalidActivity(f"{key} is missing")
        return None
    if not isinstance(value, str):
        raise InvalidActivity(f"{key} must be a string")
    if len(value) > limit:
        raise InvalidActivity(f"{key} is too long")
    return value


def _of_type(doc: object, types: tuple[str, ...], not_object: str, other_type: str) -> dict[str, Any]:
    """`doc` if it is a JSON object of one of `types`; else InvalidActivity, saying
    `not_object` or `other_type` followed by the type it has (cut short)."""
    if not isinstance(doc, dict):
        raise InvalidActivity(not_object)
    if doc.get("type") not in types:
        raise InvalidActivity(f"{other_type} {str(doc.get('type'))[:50]!r}")
    return doc


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@dataclass(frozen=True)
class IncomingActivity:
    id: str
    type: str
    actor: str
    object_id: str | None
    object: dict[str, object] | None  # embedded object, when one was sent
    to: tuple[str, ...]
    cc: tuple[str, ...]
    raw: dict[str, builtins.object]  # `object` is the field above in this class


def parse_activity(doc: object) -> IncomingActivity:
    if not isinstance(doc, dict):
        raise InvalidActivity("an activity must be a JSON object")
    type_ = doc.get("type")
    if isinstance(type_, list):  # some servers send ["Create"]; one type is all we act on
        type_ = next((t for t in type_ if isinstance(t, str)), None)
    if not isinstance(type_, str):
        raise InvalidActivity("type is missing")
    activity_id = _str(doc, "id", required=True)
    actor = id_of(doc.get("actor"))
    if actor is None:
        raise InvalidActivity("actor is missing")
    assert activity_id is not None
    origin(activity_id)
    origin(actor)
    obj = doc.get("object")
    embedded = obj if isinstance(obj, dict) else None
    object_id = id_of(obj)
    return IncomingActivity(
        id=activity_id,
        type=type_,
        actor=actor,
        object_id=object_id,
        object=embedded,
        to=tuple(x for x in as_list(doc.get("to")) if isinstance(x, str)),
        cc=tuple(x for x in as_list(doc.get("cc")) if isinstance(x, str)),
        raw=doc,
    )


@dataclass(frozen=True)
class IncomingNote:
    id: str
    attributed_to: str
    content_html: str
    summary: str
    sensitive: bool
    url: str | None
    in_reply_to: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    scope: str | None
    published: datetime | None
    updated: datetime | None
    mentions: tuple[str, ...]  # actor URIs
    hashtags: tuple[str, ...]  # lowercased names, no '#'
    attachments: tuple[RemoteAttachment, ...]  # checked and capped (federation.media_ap)


NOTE_TYPES = ("Note", "Article", "Page", "Question")


def ap_to_post(doc: object) -> IncomingNote:
    doc = _of_type(doc, NOTE_TYPES, "the object must be embedded as a JSON object", "unsupported object type")
    note_id = _str(doc, "id", required=True)
    author = id_of(doc.get("attributedTo"))
    if author is None and isinstance(doc.get("attributedTo"), list):
        author = next((id_of(x) for x in doc["attributedTo"] if id_of(x)), None)
    if author is None:
        raise InvalidActivity("attributedTo is missing")
    assert note_id is not None
    origin(note_id)
    content = doc.get("content")
    if content is None and isinstance(doc.get("contentMap"), dict):
        content = next(iter(doc["contentMap"].values()), "")
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise InvalidActivity("content must be a string")
    if len(content) > MAX_CONTENT:
        raise InvalidActivity("content is too long")
    summary = doc.get("summary") or ""
    if not isinstance(summary, str):
        summary = ""
    mentions: list[str] = []
    hashtags: list[str] = []
    for tag in as_list(doc.get("tag"))[:MAX_TAGS]:
        if not isinstance(tag, dict):
            continue
        if tag.get("type") == "Mention" and isinstance(tag.get("href"), str):
            mentions.append(tag["href"])
        elif tag.get("type") == "Hashtag" and isinstance(tag.get("name"), str):
            name = str(tag["name"]).lstrip("#").lower()
            if name and len(name) <= 100:
                hashtags.append(name)
    attachments = tuple(ap_to_attachments(doc))
    url = doc.get("url")
    url_str = url if isinstance(url, str) else id_of(url) if isinstance(url, dict) else None
    return IncomingNote(
        id=note_id,
        attributed_to=author,
        content_html=content,
        summary=summary[:2000],
        sensitive=bool(doc.get("sensitive")) or bool(summary),
        url=web_url(url_str),
        in_reply_to=id_of(doc.get("inReplyTo")),
        to=tuple(x for x in as_list(doc.get("to")) if isinstance(x, str)),
        cc=tuple(x for x in as_list(doc.get("cc")) if isinstance(x, str)),
        scope=doc.get("audience_scope") if isinstance(doc.get("audience_scope"), str) else None,
        published=_time(doc.get("published")),
        updated=_time(doc.get("updated")),
        mentions=tuple(dict.fromkeys(mentions)),
        hashtags=tuple(dict.fromkeys(hashtags)),
        attachments=attachments,
    )


# What a peer's picture may claim to be: raster images a browser shows and never runs (no
# SVG, which can carry script).
PICTURE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"})


def parse_picture(value: object) -> Picture | None:
    """An actor's `icon` or `image` as Mastodon and others send it: an `Image` object (or a
    list of them, the first usable one taken), its `url` a string or a `Link` with `href`.
    Only an http(s) URL is kept; a picture that says it is another type than a raster image
    is left out. None when there is nothing usable: a picture is never a reason to refuse
    the actor."""
    for item in as_list(value)[:10]:
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict):
            continue
        media_type = item.get("mediaType")
        url = item.get("url")
        for link in as_list(url)[:10]:
            if isinstance(link, dict):
                media_type = link.get("mediaType", media_type)
                link = link.get("href")
            if not isinstance(link, str) or web_url(link) is None:
                continue
            if media_type is not None and (not isinstance(media_type, str) or media_type.lower() not in PICTURE_TYPES):
                continue
            return Picture(url=link, media_type=media_type.lower() if isinstance(media_type, str) else None)
    return None


@dataclass(frozen=True)
class IncomingActor:
    id: str
    type: str
    username: str
    name: str
    summary_html: str
    url: str | None
    inbox: str
    shared_inbox: str | None
    outbox: str | None
    followers: str | None
    following: str | None
    key_id: str
    public_key_pem: str
    locked: bool
    also_known_as: tuple[str, ...]
    moved_to: str | None
    suspended: bool = False
    # Mastodon's `discoverable` (may the account be featured and suggested): None when the
    # document does not say, as Mastodon's API shows it.
    discoverable: bool | None = None
    icon: Picture | None = None  # the avatar
    image: Picture | None = None  # the header
    fields: tuple[PropertyField, ...] = ()  # profile fields (PropertyValue attachments)


@dataclass(frozen=True)
class PropertyField:
    """A profile field of a peer's actor (a `PropertyValue` attachment), as it came: its name,
    its value (HTML, unsanitised: the node sanitises it) and whether its Atrium node marked it
    for the organisation only (any `audience_scope` at all reads so: the narrow side; an Atrium
    node marks only organisation-only fields)."""

    name: str
    value_html: str
    organization_only: bool


MAX_ACTOR_FIELDS = 16  # PropertyValues read from one document; the rest are ignored


def parse_fields(attachment: object) -> tuple[PropertyField, ...]:
    """An actor's `attachment`: its PropertyValues with a string name and value, in order."""
    out: list[PropertyField] = []
    for item in as_list(attachment):
        if len(out) >= MAX_ACTOR_FIELDS:
            break
        if not isinstance(item, dict) or item.get("type") not in ("PropertyValue", "schema:PropertyValue"):
            continue
        name, value = item.get("name"), item.get("value", item.get("schema:value"))
        if not isinstance(name, str) or not isinstance(value, str):
            continue
        out.append(PropertyField(name[:1024], value[:10_000], item.get("audience_scope") is not None))
    return tuple(out)


ACTOR_TYPES = ("Person", "Service", "Application", "Group", "Organization")


def parse_actor(doc: object) -> IncomingActor:
    """An actor document, checked: inbox and key on the actor's own origin, key owned by it."""
    doc = _of_type(doc, ACTOR_TYPES, "an actor must be a JSON object", "not an actor type:")
    actor_id = _str(doc, "id", required=True)
    assert actor_id is not None
    actor_origin = origin(actor_id)
    # preferredUsername is optional in ActivityPub: without one, the id's last path segment
    # (else its host) stands in, so a signed actor is never refused for lacking a handle.
    username = _str(doc, "preferredUsername", limit=255) or (
        urlsplit(actor_id).path.rstrip("/").rsplit("/", 1)[-1] or host_of(actor_id)
    )
    inbox = _str(doc, "inbox", required=True)
    assert username is not None and inbox is not None
    if origin(inbox) != actor_origin:
        raise InvalidActivity("the actor's inbox is on another origin")
    endpoints = doc.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    if not isinstance(shared, str) or origin(shared) != actor_origin:
        shared = None
    key = doc.get("publicKey")
    if isinstance(key, list):
        key = next((k for k in key if isinstance(k, dict)), None)
    if not isinstance(key, dict):
        raise InvalidActivity("the actor has no publicKey")
    key_id = key.get("id")
    pem = key.get("publicKeyPem")
    owner = key.get("owner", actor_id)
    if not isinstance(key_id, str) or not isinstance(pem, str):
        raise InvalidActivity("the actor's publicKey lacks id or publicKeyPem")
    if owner != actor_id or origin(key_id) != actor_origin:
        raise InvalidActivity("the actor's key belongs to someone else")
    name = doc.get("name")
    summary = doc.get("summary")
    url = doc.get("url")

    def same_origin(key_: str) -> str | None:
        value = doc.get(key_)
        return value if isinstance(value, str) and origin(value) == actor_origin else None

    return IncomingActor(
        id=actor_id,
        type=str(doc["type"]),
        username=username,
        name=name[:255] if isinstance(name, str) else username,
        summary_html=summary[:10_000] if isinstance(summary, str) else "",
        url=web_url(url if isinstance(url, str) else None),
        inbox=inbox,
        shared_inbox=shared,
        outbox=same_origin("outbox"),
        followers=same_origin("followers"),
        following=same_origin("following"),
        key_id=key_id,
        public_key_pem=pem[:10_000],
        locked=bool(doc.get("manuallyApprovesFollowers")),
        also_known_as=tuple(x for x in as_list(doc.get("alsoKnownAs")) if isinstance(x, str)),
        moved_to=doc.get("movedTo") if isinstance(doc.get("movedTo"), str) else None,
        suspended=doc.get("suspended") is True,
        discoverable=discoverable if isinstance(discoverable := doc.get("discoverable"), bool) else None,
        icon=parse_picture(doc.get("icon")),
        image=parse_picture(doc.get("image")),
        fields=parse_fields(doc.get("attachment")),
    )
