"""Attachments on the wire: a post's pictures and files as ActivityStreams objects, both ways.
Pure: no I/O.

Outbound, `attachment_to_ap` writes what Mastodon writes (`Document` with `mediaType`, `url`,
`name` as the alt text, `blurhash`, `focalPoint` [x, y], `width`, `height`). Inbound,
`ap_to_attachments` reads the forms real servers send — Mastodon's and GoToSocial's
`Document`, Pixelfed's `Image`, Pleroma's and Akkoma's `url` as a list of `Link`s, Misskey's
`name: null` — into `RemoteAttachment` values: an http(s) URL or nothing, every length and
number capped, at most `MAX_ATTACHMENTS` per post. An entry that is not usable is skipped,
never an error: a post is not refused for one bad picture.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from federation.vocab import as_list
from storage.models.media import MediaKind

# As Mastodon takes from peers (ActivityPub::Activity::Create's attachment cap); more are dropped.
MAX_ATTACHMENTS = 16
MAX_READ = 20  # entries looked at before giving up on finding usable ones
MAX_URL = 2048  # the media_attachments.remote_url column
MAX_DESCRIPTION = 1500  # Mastodon's own limit for alt text
MAX_FILE_NAME = 255
MAX_DIMENSION = 100_000
MEDIA_TYPES = ("Document", "Image", "Video", "Audio")  # a `Link` entry is a link preview, not media
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
_BLURHASH = re.compile(r"^[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]{6,100}$")  # base 83
_KINDS = {"image": MediaKind.IMAGE, "video": MediaKind.VIDEO, "audio": MediaKind.AUDIO}


@dataclass(frozen=True)
class AttachmentData:
    """One of our attachments as it leaves the node: `url` is where a peer fetches it."""

    url: str
    media_type: str
    description: str = ""
    file_name: str | None = None
    blurhash: str | None = None
    focus: tuple[float, float] = (0.0, 0.0)
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class RemoteAttachment:
    """A peer's attachment, checked: where it lives, what it says it is, and how to show it."""

    url: str
    kind: MediaKind
    media_type: str | None
    description: str
    file_name: str | None
    blurhash: str | None
    focus: tuple[float, float]
    width: int | None
    height: int | None


def attachment_to_ap(a: AttachmentData) -> dict[str, object]:
    """As Mastodon sends it. A file without alt text is named by its file name, as Pleroma
    does, so a peer has something to show and read aloud."""
    doc: dict[str, object] = {
        "type": "Document",
        "mediaType": a.media_type,
        "url": a.url,
        "name": a.description or a.file_name or None,
        "blurhash": a.blurhash,
        "focalPoint": [a.focus[0], a.focus[1]],
    }
    if a.width and a.height:
        doc["width"], doc["height"] = a.width, a.height
    return doc


def ap_to_attachments(obj: Mapping[str, object]) -> list[RemoteAttachment]:
    """The usable attachments of a note (its `attachment`), in order, at most MAX_ATTACHMENTS."""
    out: list[RemoteAttachment] = []
    for entry in as_list(obj.get("attachment"))[:MAX_READ]:
        found = _attachment(entry) if isinstance(entry, dict) else None
        if found is not None:
            out.append(found)
            if len(out) == MAX_ATTACHMENTS:
                break
    return out


def _attachment(entry: Mapping[str, object]) -> RemoteAttachment | None:
    if entry.get("type") not in MEDIA_TYPES:
        return None
    found = _url(entry.get("url"), _media_type(entry.get("mediaType")))
    if found is None:
        return None
    url, media_type = found
    name = entry.get("name")
    return RemoteAttachment(
        url=url,
        kind=_kind(media_type, entry.get("type")),
        media_type=media_type,
        description=_text(name, MAX_DESCRIPTION),
        file_name=_file_name(url),
        blurhash=_blurhash(entry.get("blurhash")),
        focus=_focus(entry.get("focalPoint")),
        width=_dimension(entry.get("width")),
        height=_dimension(entry.get("height")),
    )


def _url(value: object, media_type: str | None) -> tuple[str, str | None] | None:
    """The URL (and the media type given beside it) from a string, a Link, or a list of Links
    (Pleroma, Akkoma, PeerTube): the first http(s) one, preferring one of the stated type."""
    candidates: list[tuple[str, str | None]] = []
    for item in as_list(value)[:10]:
        if isinstance(item, str):
            candidates.append((item, media_type))
        elif isinstance(item, dict):
            href = item.get("href", item.get("url"))
            if isinstance(href, str):
                candidates.append((href, _media_type(item.get("mediaType")) or media_type))
    usable = [(u, t) for u, t in candidates if _http_url(u)]
    if not usable:
        return None
    for url, stated in usable:
        if media_type is None or stated == media_type:
            return url, stated
    return usable[0]


def _http_url(url: str) -> bool:
    """http(s), a host, no user name or password in it, and short enough to store."""
    if len(url) > MAX_URL or not url.isascii() or any(c.isspace() or ord(c) < 32 for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("https", "http") and bool(parts.hostname) and "@" not in parts.netloc


def _media_type(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.split(";", 1)[0].strip().lower()
    return value if _MEDIA_TYPE.match(value) else None


def _kind(media_type: str | None, ap_type: object) -> MediaKind:
    if media_type is not None:
        return _KINDS.get(media_type.split("/", 1)[0], MediaKind.UNKNOWN)
    return {"Image": MediaKind.IMAGE, "Video": MediaKind.VIDEO, "Audio": MediaKind.AUDIO}.get(str(ap_type), MediaKind.UNKNOWN)


def _text(value: object, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    cleaned = "".join(c for c in value if c.isprintable() or c in "\n\t")
    return cleaned.strip()[:limit]


def _file_name(url: str) -> str | None:
    """The last segment of the URL's path, for a download's name (display only)."""
    segment = urlsplit(url).path.rsplit("/", 1)[-1]
    cleaned = "".join(c for c in segment if c.isprintable() and c not in '\\/"').strip(". ")
    return cleaned[:MAX_FILE_NAME] or None


def _blurhash(value: object) -> str | None:
    return value if isinstance(value, str) and _BLURHASH.match(value) else None


def _focus(value: object) -> tuple[float, float]:
    """Mastodon's focal point, each coordinate in [-1, 1]; the centre when absent or malformed."""
    items = as_list(value)
    if len(items) != 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
        return (0.0, 0.0)
    x, y = (float(v) for v in items)  # type: ignore[arg-type]
    if not (math.isfinite(x) and math.isfinite(y)):
        return (0.0, 0.0)
    return (max(-1.0, min(1.0, x)), max(-1.0, min(1.0, y)))


def _dimension(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    n = int(value)
    return n if 0 < n <= MAX_DIMENSION else None
