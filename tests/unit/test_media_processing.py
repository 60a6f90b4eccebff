"""Processing an upload in its worker subprocess: the type from the bytes, the caps, EXIF gone,
preview and blurhash made (node/media_processing.py)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from node.media_processing import FileType, MediaLimits, detect, process
from storage.errors import Invalid
from storage.models.media import MediaKind
from tests import media_files

LIMITS = MediaLimits()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (media_files.picture("JPEG"), FileType.JPEG),
        (media_files.picture("PNG"), FileType.PNG),
        (media_files.picture("WEBP"), FileType.WEBP),
        (media_files.picture("GIF"), FileType.GIF),
        (media_files.PDF, FileType.PDF),
        (media_files.docx(), FileType.DOCX),
        (media_files.odt(), FileType.ODT),
        (media_files.legacy_xls(), FileType.XLS),
    ],
)
def test_the_type_comes_from_the_bytes(data: bytes, expected: FileType) -> None:
    # Given the bytes of a picture or a document, When their type is detected, Then it is theirs
    assert detect(data) is expected


@pytest.mark.parametrize(
    "data",
    [media_files.HTML, media_files.JSON, media_files.SVG, media_files.ELF, media_files.plain_zip(), b""],
    ids=["html", "json", "svg", "elf", "zip", "empty"],
)
def test_anything_else_is_refused(data: bytes) -> None:
    # Given bytes a browser would run or a peer would read, or an archive of anything
    # When their type is detected, Then they are refused with 422
    with pytest.raises(Invalid) as refused:
        detect(data)
    assert refused.value.status == 422


async def test_a_picture_is_reencoded_without_its_gps_and_gets_a_preview_and_blurhash() -> None:
    # Given a 1600x1200 JPEG carrying a camera's EXIF with a GPS position
    data = media_files.picture("JPEG", (1600, 1200), gps=True)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(media_files.GPS_IFD)
    # When it is processed
    done = await process(data, LIMITS)
    # Then the copy kept is a JPEG of the same size with no EXIF at all
    kept = Image.open(io.BytesIO(done.data))
    assert (done.kind, done.content_type, kept.format, kept.size) == (MediaKind.IMAGE, "image/jpeg", "JPEG", (1600, 1200))
    assert not kept.getexif() and b"SpyCam" not in done.data and b"Exif" not in done.data
    # And a JPEG preview at most 640 px a side keeps the aspect, with a blurhash
    assert done.preview is not None
    preview = Image.open(io.BytesIO(done.preview))
    assert preview.format == "JPEG" and preview.size == (640, 480) == (done.preview_width, done.preview_height)
    assert done.blurhash and len(done.blurhash) >= 6


async def test_an_image_that_is_also_html_keeps_only_its_pixels() -> None:
    # Given a polyglot: a PNG with an HTML page after its end
    data = media_files.picture("PNG", (50, 50)) + media_files.HTML
    # When it is processed, Then the copy kept is the picture alone
    done = await process(data, LIMITS)
    assert done.content_type == "image/png" and b"<script>" not in done.data


async def test_an_animated_gif_keeps_its_frames() -> None:
    done = await process(media_files.animated_gif(), LIMITS)
    kept = Image.open(io.BytesIO(done.data))
    assert done.kind is MediaKind.IMAGE and getattr(kept, "n_frames", 1) == 3 and done.preview is not None


async def test_a_pdf_named_jpg_is_a_pdf_kept_as_it_came() -> None:
    # When a PDF is processed (whatever its name claims), Then it is an `unknown` PDF, unchanged
    done = await process(media_files.PDF, LIMITS)
    assert (done.kind, done.content_type, done.extension, done.data) == (
        MediaKind.UNKNOWN, "application/pdf", "pdf", media_files.PDF
    )
    assert done.preview is None and done.blurhash is None


async def test_the_pixel_cap_is_checked_on_the_header_before_decoding() -> None:
    # Given a PNG whose header claims 60000x60000 pixels and whose pixel data is garbage
    bomb = media_files.png_claiming(60_000, 60_000)
    # When it is processed, Then it is refused for its size — not for failing to decode
    with pytest.raises(Invalid, match="at most 33177600 pixels"):
        await process(bomb, LIMITS)
    # And a lower cap refuses an ordinary picture the same way
    with pytest.raises(Invalid, match="at most 100 pixels"):
        await process(media_files.picture("PNG", (20, 20)), MediaLimits(max_image_pixels=100))


async def test_size_caps_are_per_type() -> None:
    # Given caps of 500 bytes for pictures and 10 000 for files
    limits = MediaLimits(max_image_bytes=500, max_file_bytes=10_000)
    # Then a 3 KB PDF passes, a larger picture does not
    assert (await process(media_files.PDF + b" " * 3000, limits)).content_type == "application/pdf"
    with pytest.raises(Invalid, match="picture too large"):
        await process(media_files.picture("PNG", (300, 300)), limits)


async def test_a_worker_out_of_memory_or_time_is_a_refusal_and_the_node_goes_on() -> None:
    # Given a worker allowed too little memory to start Pillow, and one too little time
    data = media_files.picture("JPEG", (400, 300))
    # When each processes a picture, Then each is refused with a 422, and the next one works
    with pytest.raises(Invalid, match="could not be processed"):
        await process(data, MediaLimits(worker_memory_bytes=16 * 1024 * 1024))
    with pytest.raises(Invalid, match="too long"):
        await process(data, MediaLimits(worker_seconds=0.01))
    assert (await process(data, LIMITS)).width == 400


def test_an_avatar_is_cropped_to_fit() -> None:
    import asyncio

    done = asyncio.run(process(media_files.picture("PNG", (1000, 500)), LIMITS, fit=(400, 400)))
    assert (done.width, done.height) == (400, 400)
