"""What an uploaded file is, and the safe copy of it the node keeps: decided from the bytes,
made in a worker subprocess that cannot hurt the node.

The type comes from the bytes, never from the name or the client's claim: JPEG, PNG, WebP and
GIF pictures (`image`), and the files an organisation shares — PDF and office documents —
as `unknown` attachments kept as they came. Anything else (HTML, JSON, SVG, scripts,
executables) is refused with 422, so nothing a browser would run or a peer would read as
ActivityStreams is ever stored.

A picture is decoded only in a child process (`python -m node.media_processing`) with its
own address-space and CPU limits and a wall-clock timeout: a decompression bomb or a decoder
bug ends the child, not the node, and the event loop never decodes. The pixel cap is checked
on the header, before anything is decoded. The child re-encodes the picture (which drops
EXIF, GPS and any other metadata, and any bytes appended to make a polyglot), makes a JPEG
preview (at most `PREVIEW_SIDE` px a side) and its blurhash, and answers on stdout with a
JSON header and the bytes.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import resource
import sys
import zipfile
from dataclasses import asdict, dataclass
from enum import StrEnum

from storage.errors import Invalid
from storage.models.media import MediaKind

PREVIEW_SIDE = 640
# Mastodon's own caps: 16 MB pictures of at most 33 177 600 pixels (7680 x 4320).
DEFAULT_IMAGE_BYTES = 16 * 1024 * 1024
DEFAULT_FILE_BYTES = 40 * 1024 * 1024
DEFAULT_IMAGE_PIXELS = 33_177_600
# The worker's limits: address space (a decoded picture at the pixel cap is ~130 MB in RGBA,
# with the interpreter and Pillow well under this) and time.
WORKER_MEMORY_BYTES = 1024 * 1024 * 1024
WORKER_SECONDS = 30.0
# Decoding is CPU work on a small machine: at most this many workers at once per process.
WORKERS = 2
_slots = asyncio.Semaphore(WORKERS)


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
    """The type of these bytes, from their content alone; `Invalid` (422) for any other."""
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
    raise Invalid("this type of file is not accepted: pictures (JPEG, PNG, WebP, GIF), PDF and office documents are")


def _zip_document(data: bytes) -> FileType:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > _ZIP_ENTRIES:
                raise Invalid("this archive is not a document")
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
    raise Invalid("this archive is not a document: pictures, PDF and office documents are accepted")


@dataclass(frozen=True)
class Processed:
    """What the node keeps of an upload: the bytes to store (re-encoded for a picture, as they
    came for a document), their type, and for a picture its sizes, preview and blurhash."""

    kind: MediaKind
    content_type: str
    extension: str
    data: bytes
    preview: bytes | None = None
    width: int | None = None
    height: int | None = None
    preview_width: int | None = None
    preview_height: int | None = None
    blurhash: str | None = None


async def process(data: bytes, limits: MediaLimits, *, fit: tuple[int, int] | None = None) -> Processed:
    """The safe copy of an upload, made in a worker subprocess; `Invalid` (422) with the reason
    when it is refused, or when processing ran out of memory or time. `fit` crops and scales a
    picture to exactly that size (an avatar, a header)."""
    if len(data) > limits.max_upload_bytes:
        raise Invalid(f"file too large: at most {limits.max_upload_bytes} bytes")
    request = {"limits": asdict(limits), "fit": list(fit) if fit else None}
    async with _slots:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "node.media_processing",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=lambda: _confine(limits),
        )
        try:
            out, _ = await asyncio.wait_for(
                child.communicate(json.dumps(request).encode() + b"\n" + data), limits.worker_seconds
            )
        except TimeoutError:
            child.kill()
            await child.wait()
            raise Invalid("the file took too long to process") from None
    return _answer(out, child.returncode)


def _confine(limits: MediaLimits) -> None:
    """In the child, before it runs: its address space and CPU time are capped."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.worker_memory_bytes, limits.worker_memory_bytes))
    cpu = int(limits.worker_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    os.nice(5)


def _answer(out: bytes, returncode: int | None) -> Processed:
    """The child's answer, read as untrusted: a JSON header line, then the lengths it names."""
    line, _, rest = out.partition(b"\n")
    try:
        header = json.loads(line) if returncode == 0 else None
    except ValueError:
        header = None
    if not isinstance(header, dict):
        raise Invalid("the file could not be processed")
    if "refused" in header:
        raise Invalid(str(header["refused"])[:300])
    size, preview_size = int(header["size"]), int(header.get("preview_size") or 0)
    if size + preview_size != len(rest):
        raise Invalid("the file could not be processed")
    kind = FileType(header["content_type"])
    return Processed(
        kind=MediaKind.IMAGE if kind.is_image else MediaKind.UNKNOWN,
        content_type=kind.value,
        extension=kind.extension,
        data=rest[:size],
        preview=rest[size:] if preview_size else None,
        width=_int(header.get("width")),
        height=_int(header.get("height")),
        preview_width=_int(header.get("preview_width")),
        preview_height=_int(header.get("preview_height")),
        blurhash=str(header["blurhash"])[:100] if header.get("blurhash") else None,
    )


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


# ---- the child's side -------------------------------------------------------------------


def _process_here(data: bytes, limits: MediaLimits, fit: tuple[int, int] | None) -> tuple[dict[str, object], bytes]:
    kind = detect(data)
    if not kind.is_image:
        if fit is not None:
            raise Invalid("an avatar or header must be a picture")
        if len(data) > limits.max_file_bytes:
            raise Invalid(f"file too large: at most {limits.max_file_bytes} bytes")
        return {"content_type": kind.value, "size": len(data)}, data
    if len(data) > limits.max_image_bytes:
        raise Invalid(f"picture too large: at most {limits.max_image_bytes} bytes")
    return _picture(data, kind, limits, fit)


def _picture(
    data: bytes, kind: FileType, limits: MediaLimits, fit: tuple[int, int] | None
) -> tuple[dict[str, object], bytes]:
    import blurhash
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels  # Pillow's own guard, beside ours
    try:
        image = Image.open(io.BytesIO(data), formats=[IMAGE_FORMATS[kind]])  # the header only
    except Image.DecompressionBombError as exc:
        raise Invalid(f"picture too large: at most {limits.max_image_pixels} pixels") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise Invalid("the picture could not be read") from exc
    width, height = image.size
    if width * height > limits.max_image_pixels or width < 1 or height < 1:
        raise Invalid(f"picture too large: at most {limits.max_image_pixels} pixels")
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
        raise Invalid("the picture could not be read") from exc
    header: dict[str, object] = {
        "content_type": kind.value, "size": len(original), "width": width, "height": height,
        "preview_size": out.tell(), "preview_width": preview.width, "preview_height": preview.height,
        "blurhash": hashed,
    }
    return header, original + out.getvalue()


def _rows(image: object) -> list[list[tuple[int, int, int]]]:
    from PIL import Image

    assert isinstance(image, Image.Image)
    w, h = image.size
    pixels = list(image.getdata())
    return [pixels[y * w:(y + 1) * w] for y in range(h)]


def _forget_comment(image: object) -> None:
    """Pillow writes a JPEG's or GIF's comment (`info["comment"]`) back when saving: a polyglot
    hides its page or script there, so the re-encoded picture must not carry it."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    image.info.pop("comment", None)


def _reencode(image: object, kind: FileType) -> bytes:
    """The picture written afresh from its pixels: no EXIF, GPS, comments or trailing bytes."""
    from PIL import Image

    assert isinstance(image, Image.Image)
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


def _reencode_animation(image: object) -> bytes:
    from PIL import Image

    assert isinstance(image, Image.Image)
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
    except Invalid as exc:
        header, body = {"refused": exc.reason}, b""
    sys.stdout.buffer.write(json.dumps(header).encode() + b"\n" + body)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
