"""Attachments in the web UI: what the composer's file slots send (uploaded through
node.media, as the client API's are) and what a post card shows of each attachment."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from urllib.parse import urlsplit

import blurhash
from PIL import Image

from node import media
from node.context import NodeContext
from node.media import AttachmentView, Upload
from node.media_worker import EXTENSIONS, FileType
from storage.errors import Invalid
from storage.ids import parse_id
from storage.models.media import MediaKind
from web.ui.core import Page


class Family(StrEnum):
    """What a file card's icon looks like: the kind of document."""

    IMAGE = "image"  # a peer's picture not held here, shown as a link
    PDF = "pdf"
    TEXT = "text"
    SHEET = "sheet"
    SLIDES = "slides"
    OTHER = "other"


FAMILIES = {
    FileType.PDF: Family.PDF,
    FileType.DOCX: Family.TEXT, FileType.ODT: Family.TEXT, FileType.DOC: Family.TEXT,
    FileType.XLSX: Family.SHEET, FileType.ODS: Family.SHEET, FileType.XLS: Family.SHEET,
    FileType.PPTX: Family.SLIDES, FileType.ODP: Family.SLIDES, FileType.PPT: Family.SLIDES,
}


@dataclass(frozen=True)
class ComposerLimits:
    """What the composer tells the person (and atrium.js checks before sending)."""

    max_files: int
    max_image_bytes: int
    max_file_bytes: int
    max_description: int
    accept: str  # the file inputs' `accept`: every type the node takes, by type and by extension


def composer_limits(ctx: NodeContext) -> ComposerLimits:
    accept = [t.value for t in FileType] + [f".{ext}" for ext in EXTENSIONS.values()]
    return ComposerLimits(
        media.MAX_ATTACHMENTS, ctx.media_limits.max_image_bytes, ctx.media_limits.max_file_bytes,
        media.MAX_DESCRIPTION, ",".join(dict.fromkeys(accept)),
    )


# The composer's file fields, one a slot (read as a stream by `page(files=...)`).
COMPOSER_FILES = tuple(f"media_file_{slot}" for slot in range(1, media.MAX_ATTACHMENTS + 1))


@dataclass(frozen=True)
class MediaView:
    """One attachment on a post card (or in a composer slot after a refused post)."""

    id: int
    is_image: bool  # shown as a picture; anything else is a file card
    url: str
    preview_url: str | None
    description: str
    file_name: str | None
    size_bytes: int | None
    width: int | None
    height: int | None
    type_label: str  # "PDF", "DOCX", "Image"...
    family: Family
    remote_host: str | None  # shown by reference from a peer (not held here)
    blurhash: str | None = None

    @property
    def title(self) -> str:
        """A file card's first line. A peer's file is named by its URL's last part (ActivityPub
        carries no file name, and a node's stored names mean nothing): its description is
        the better title."""
        if self.remote_host:
            return self.description or self.file_name or self.type_label
        return self.file_name or "Attached file"

    @property
    def caption(self) -> str:
        """The description under a file card's title (none when it is the title)."""
        return "" if self.remote_host else self.description

    @property
    def icon_text(self) -> str:
        """The few letters on a file card's icon."""
        return "IMG" if self.type_label == "Image" else self.type_label[:4].upper()


def _type_of(content_type: str) -> FileType | None:
    try:
        return FileType(content_type)
    except ValueError:
        return None


def media_view(ctx: NodeContext, a: AttachmentView) -> MediaView | None:
    """What a card shows of an attachment; None for one with nothing to show (no URL yet)."""
    if a.url is None:
        return None
    local = a.url.startswith((ctx.base_url + "/", "/"))
    # The pages load pictures from this node only (the Content-Security-Policy, and a peer
    # learns nothing of who reads): a peer's picture not held here is a link to it.
    picture = a.kind in (MediaKind.IMAGE, MediaKind.GIFV)
    is_image = local and picture
    known = _type_of(a.content_type)
    if picture:
        label = "Image"
    elif known is not None:
        label = known.extension.upper()
    elif a.kind is not MediaKind.UNKNOWN:
        label = a.kind.value.capitalize()  # a peer's video or audio, shown as a file to open
    else:
        label = "File"
    return MediaView(
        id=a.id, is_image=is_image, url=a.url, preview_url=a.preview_url, description=a.description,
        file_name=a.file_name, size_bytes=a.size_bytes, width=a.width, height=a.height, type_label=label,
        family=Family.IMAGE if picture else FAMILIES.get(known, Family.OTHER) if known else Family.OTHER,
        remote_host=None if local else urlsplit(a.url).netloc, blurhash=a.blurhash,
    )


def media_views(ctx: NodeContext, attachments: list[AttachmentView]) -> list[MediaView]:
    return [v for a in attachments if (v := media_view(ctx, a)) is not None]


@lru_cache(maxsize=512)
def blurred(hash_: str) -> str | None:
    """A picture's blurhash as a tiny PNG `data:` URI: the colours a sensitive picture shows
    before it is opened (as Mastodon shows them), with no request and no script. None for a
    hash that does not decode (a peer's)."""
    try:
        rows = blurhash.decode(hash_, 16, 10)
    except (ValueError, IndexError):
        return None
    picture = Image.new("RGB", (16, 10))
    picture.putdata([(int(r), int(g), int(b)) for row in rows for r, g, b, *_ in row])
    out = io.BytesIO()
    picture.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@dataclass
class Attachments:
    """The composer's slots as sent: files to upload, and uploads kept from a post that was
    refused (so a second try loses nothing). `kept` grows as each slot is taken, so a refusal
    halfway through still shows what was uploaded."""

    kept: dict[int, MediaView] = field(default_factory=dict)

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(v.id for _, v in sorted(self.kept.items()))

    async def take(self, p: Page) -> None:
        """Upload each slot's new file (with its description); keep each earlier upload not
        removed (its description updated). `Invalid` names the file it refuses."""
        for slot in range(1, media.MAX_ATTACHMENTS + 1):
            description = p.field(f"media_description_{slot}").strip()
            chosen = p.files.get(f"media_file_{slot}")
            earlier = parse_id(p.field(f"media_id_{slot}"))
            if chosen is not None:
                name = media.clean_file_name(chosen.file_name)
                try:
                    row = await media.upload(p.ctx, p.user, Upload(chosen.data, name), description=description)
                except Invalid as exc:
                    raise Invalid(f"{name or 'a file'}: {exc.reason}", status=exc.status) from exc
            elif earlier is not None and not p.field(f"media_remove_{slot}"):
                row = await media.update(p.ctx, p.user, earlier, description=description)
            else:
                continue
            shown = media_view(p.ctx, await media.view(p.ctx, row))
            if shown is not None:
                self.kept[slot] = shown
