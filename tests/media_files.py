"""Files for media tests, made here: pictures (with EXIF and GPS where asked), documents an
organisation shares, and things that must be refused; and media rows with their bytes written
directly with the model and the node's store (`ctx.media`), as an upload or a peer's attachment
would leave them once processed."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image

from node.context import NodeContext
from storage.media_store import new_key
from storage.models import Account, Post
from storage.models.media import MediaAttachment, MediaKind, MediaRole, MediaState

GPS_IFD = 0x8825


def picture(fmt: str = "JPEG", size: tuple[int, int] = (800, 600), *, gps: bool = False) -> bytes:
    """A picture in `fmt` (JPEG, PNG, WEBP, GIF), with a camera's EXIF and GPS position if asked."""
    image = Image.new("RGB", size, (30, 120, 200))
    for x in range(0, size[0], 7):
        image.putpixel((x, x % size[1]), (250, 250, 20))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "SpyCam"  # Make
        exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
        image.save(out, fmt, exif=exif.tobytes())
    else:
        image.save(out, fmt)
    return out.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size, its pixel data garbage: refused on the header alone."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"not pixels") + chunk(b"IEND", b"")


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def odt() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def legacy_xls() -> bytes:
    return bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 500 + "Workbook".encode("utf-16-le") + b"\x00" * 100


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("payload.exe", "MZ")
    return out.getvalue()


HTML = b"<!doctype html><html><script>alert(1)</script></html>"
JSON = b'{"@context": "https://www.w3.org/ns/activitystreams", "type": "Person", "id": "https://x/a"}'
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 100


# The smallest PNG there is (1x1, transparent): what a picture's bytes look like to a reader.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)


async def stored_media(
    ctx: NodeContext,
    account: Account,
    data: bytes = PNG,
    content_type: str = "image/png",
    *,
    post: Post | None = None,
    role: MediaRole = MediaRole.ATTACHMENT,
    file_name: str | None = None,
    state: MediaState = MediaState.READY,
    extension: str = "png",
) -> MediaAttachment:
    """`data` stored under a fresh key in the node's store, and its row: the attachment of
    `post` (None: an upload not posted yet), or the account's avatar or header by `role`."""
    assert ctx.media is not None, "the node has no media store: give it one (ctx.media = LocalStore(...))"
    key = new_key(extension)
    await ctx.media.put(key, data, content_type)
    kind = MediaKind.IMAGE if content_type.startswith("image/") else MediaKind.UNKNOWN
    row = MediaAttachment(account_id=account.id, post_id=post.id if post else None, role=role.value, kind=kind.value,
                          state=state.value, content_type=content_type, file_name=file_name, size_bytes=len(data),
                          storage_key=key)
    async with ctx.db.session() as s:
        s.add(row)
    return row
