"""The confined worker that opens uploads (`python -m node.media_worker`), run by
`node/media_processing.py` with its own address-space and CPU limits and a timeout.

It imports nothing of the node beyond this module (the standard library, Pillow, blurhash):
it starts fast, and a decoder bug or a decompression bomb in it can reach nothing else. It
reads a JSON request line and the upload on stdin, and answers on stdout with a JSON header
line and the bytes to keep: the type decided from the bytes (`detect`), then for a picture
the pixel cap checked on its header before anything is decoded, the picture re-encoded from
its pixels (no EXIF, GPS or appended bytes), a JPEG preview and its blurhash.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from dataclasses import dataclass
from enum import StrEnum

import blurhash
from PIL import Image, ImageOps, UnidentifiedImageError

PREVIEW_SIDE = 640
# Mastodon's own caps: 16 MB pictures of at most 33 177 600 pixels (7680 x 4320).
DEFAULT_IMAGE_BYTES = 16 * 1024 * 1024
DEFAULT_FILE_BYTES = 40 * 1024 * 1024
DEFAULT_IMAGE_PIXELS = 33_177_600
# The worker's limits: address space (a decoded picture at the pixel cap is ~130 MB in RGBA,
# with the interpreter and Pillow well under this) and time.
WORKER_MEMORY_BYTES = 1024 * 1024 * 1024
WORKER_SECONDS = 30.0
@dataclass(frozen=True)
class MediaLimits:
    """The caps of settings `media.max_image_bytes`, `media.max_file_bytes` and
    `media.max_image_pixels`, and the worker's own limits."""

    max_image_bytes: int = DEFAULT_IMAGE_BYTES
    max_file_bytes: int = DEFAULT_FILE_BYTES
    max_image_pixels: int = DEFAULT_IMAGE_PIXELS
    worker_memory_bytes: int = WORKER_MEMORY_BYTES
    worker_seconds: float = WORKER_SECONDS

    @property
    def max_upload_bytes(self) -> int:
        """The most any upload may carry, before its type is known."""
        return max(self.max_image_bytes, self.max_file_bytes)


class Refused(Exception):
    """An upload the node does not take, with the reason; the parent raises it as `Invalid`
    (422). Not an `AtriumError`: this module imports nothing of the node's storage layer."""

    status = 422

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FileType(StrEnum):
    """Every type an upload may be, by its content type."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"
    GIF = "image/gif"
    PDF = "application/pdf"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    ODT = "application/vnd.oasis.opendocument.text"
    ODS = "application/vnd.oasis.opendocument.spreadsheet"
    ODP = "application/vnd.oasis.opendocument.presentation"
    DOC = "application/msword"
    XLS = "application/vnd.ms-excel"
    PPT = "application/vnd.ms-powerpoint"

    @property
    def is_image(self) -> bool:
        return self in IMAGE_FORMATS

    @property
    def extension(self) -> str:
        return EXTENSIONS[self]


# Pillow's format name of each picture type: what the header must say.
IMAGE_FORMATS = {FileType.JPEG: "JPEG", FileType.PNG: "PNG", FileType.WEBP: "WEBP", FileType.GIF: "GIF"}
EXTENSIONS = {
    FileType.JPEG: "jpg", FileType.PNG: "png", FileType.WEBP: "webp", FileType.GIF: "gif",
    FileType.PDF: "pdf", FileType.DOCX: "docx", FileType.XLSX: "xlsx", FileType.PPTX: "pptx",
    FileType.ODT: "odt", FileType.ODS: "ods", FileType.ODP: "odp",
    FileType.DOC: "doc", FileType.XLS: "xls", FileType.PPT: "ppt",
}
SUPPORTED_TYPES = tuple(t.value for t in FileType)

# The office formats' markers. Written here rather than taken from a sniffing library: the
# maintained ones look at the first bytes only, and a zip is an office document only when
# its listing says so (a zip of anything else is refused).
_OOXML = {"word/document.xml": FileType.DOCX, "xl/workbook.xml": FileType.XLSX, "ppt/presentation.xml": FileType.PPTX}
_ODF = {t.value.encode(): t for t in (FileType.ODT, FileType.ODS, FileType.ODP)}
_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
# A legacy document is an OLE compound file; its main stream's name (UTF-16 in the directory)
# says which application wrote it.
_OLE_STREAMS = (
    ("WordDocument", FileType.DOC),
    ("Workbook", FileType.XLS),
    ("Book", FileType.XLS),
    ("PowerPoint Document", FileType.PPT),
)
_ZIP_ENTRIES = 10_000  # a document's listing; more is not one


def detect(data: bytes) -> FileType:
    """The type of these bytes, from their content alone; `Refused` (422) for any other."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return FileType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileType.PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return FileType.GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileType.WEBP
    if head.startswith(b"%PDF-"):
        return FileType.PDF
    if head.startswith(b"PK\x03\x04"):
        return _zip_document(data)
    if head.startswith(_OLE_MAGIC):
        for name, kind in _OLE_STREAMS:
            if name.encode("utf-16-le") in data:
                return kind
    raise Refused("this type of file is not accepted: pictures (JPEG, PNG, WebP, GIF), PDF and office documents are")


def _zip_document(data: bytes) -> FileType:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > _ZIP_ENTRIES:
                raise Refused("this archive is not a document")
            names = {i.filename for i in infos}
            for marker, kind in _OOXML.items():
                if marker in names and "[Content_Types].xml" in names:
                    return kind
            first = infos[0] if infos else None
            if first is not None and first.filename == "mimetype" and first.file_size <= 100:
                found = _ODF.get(z.read(first).strip())
                if found is not None:
                    return found
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError):
        pass
    raise Refused("this archive is not a document: pictures, PDF and office documents are accepted")


def _process_here(data: bytes, limits: MediaLimits, fit: tuple[int, int] | None) -> tuple[dict[str, object], bytes]:
    kind = detect(data)
    if not kind.is_image:
        if fit is not None:
            raise Refused("an avatar or header must be a picture")
        if len(data) > limits.max_file_bytes:
            raise Refused(f"file too large: at most {limits.max_file_bytes} bytes")
        return {"content_type": kind.value, "size": len(data)}, data
    if len(data) > limits.max_image_bytes:
        raise Refused(f"picture too large: at most {limits.max_image_bytes} bytes")
    return _picture(data, kind, limits, fit)


def _picture(
    data: bytes, kind: FileType, limits: MediaLimits, fit: tuple[int, int] | None
) -> tuple[dict[str, object], bytes]:
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels  # Pillow's own guard, beside ours
    try:
        image = Image.open(io.BytesIO(data), formats=[IMAGE_FORMATS[kind]])  # the header only
    except Image.DecompressionBombError as exc:
        raise Refused(f"picture too large: at most {limits.max_image_pixels} pixels") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise Refused("the picture could not be read") from exc
    width, height = image.size
    if width * height > limits.max_image_pixels or width < 1 or height < 1:
        raise Refused(f"picture too large: at most {limits.max_image_pixels} pixels")
    try:
        animated = kind is FileType.GIF and getattr(image, "is_animated", False)
        if animated:
            original = _reencode_animation(image)
            first = image.convert("RGB")
        else:
            # The rotation the camera meant, then forget EXIF.
            upright: Image.Image = ImageOps.exif_transpose(image)
            if fit is not None:
                upright = ImageOps.fit(upright, fit)
            first = upright
            original = _reencode(upright, kind)
        width, height = first.size
        preview = first.convert("RGB")
        preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        out = io.BytesIO()
        preview.save(out, "JPEG", quality=80, optimize=True)
        tiny = preview.copy()
        tiny.thumbnail((32, 32))
        hashed = blurhash.encode(list(_rows(tiny)), components_x=4, components_y=3)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError) as exc:
        raise Refused("the picture could not be read") from exc
    header: dict[str, object] = {
        "content_type": kind.value, "size": len(original), "width": width, "height": height,
        "preview_size": out.tell(), "preview_width": preview.width, "preview_height": preview.height,
        "blurhash": hashed,
    }
    return header, original + out.getvalue()


def _rows(image: Image.Image) -> list[list[tuple[int, int, int]]]:
    w, h = image.size
    pixels = list(image.getdata())
    return [pixels[y * w:(y + 1) * w] for y in range(h)]


def _forget_comment(image: Image.Image) -> None:
    """Pillow writes a JPEG's or GIF's comment (`info["comment"]`) back when saving: a polyglot
    hides its page or script there, so the re-encoded picture must not carry it."""
    image.info.pop("comment", None)


def _reencode(image: Image.Image, kind: FileType) -> bytes:
    """The picture written afresh from its pixels: no EXIF, GPS, comments or trailing bytes."""
    _forget_comment(image)
    out = io.BytesIO()
    if kind is FileType.JPEG:
        image.convert("RGB").save(out, "JPEG", quality=90)
    elif kind is FileType.PNG:
        clean = image if image.mode in ("RGB", "RGBA", "L", "LA", "P") else image.convert("RGBA")
        clean.save(out, "PNG")
    elif kind is FileType.WEBP:
        image.save(out, "WEBP", quality=90)
    else:
        image.save(out, "GIF")
    return out.getvalue()


def _reencode_animation(image: Image.Image) -> bytes:
    _forget_comment(image)
    out = io.BytesIO()
    image.save(out, "GIF", save_all=True, loop=image.info.get("loop", 0), duration=image.info.get("duration", 100))
    image.seek(0)
    return out.getvalue()


def main() -> None:
    """The worker: a JSON request line and the upload on stdin; the answer on stdout."""
    raw = sys.stdin.buffer.read()
    line, _, data = raw.partition(b"\n")
    request = json.loads(line)
    limits = MediaLimits(**request["limits"])
    fit = (int(request["fit"][0]), int(request["fit"][1])) if request.get("fit") else None
    try:
        header, body = _process_here(data, limits, fit)
    except Refused as exc:
        header, body = {"refused": exc.reason}, b""
    sys.stdout.buffer.write(json.dumps(header).encode() + b"\n" + body)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
