"""Multipart forms that carry files (an upload, an avatar and a header), read as a stream under
the node's upload cap: the application's small body limit is for JSON and plain forms, so a
file is read here in chunks and refused as soon as it passes the cap, never buffered whole
before its size is known. The client API and the web UI read their file forms here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from node.media import Upload
from storage.errors import Invalid

# The form fields beside the files (a description, a display name, a form token) are short:
# more is not a form.
FIELD_BYTES = 16 * 1024
# Room for the multipart framing and those fields around the files themselves.
OVERHEAD_BYTES = 64 * 1024
CHUNK = 64 * 1024


@dataclass(frozen=True)
class FileForm:
    """The text fields of a form, and the files it carried by field name (a file field left
    empty, as a browser sends one where no file was chosen, is not there)."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


def too_large(cap: int) -> Invalid:
    return Invalid(f"file too large: at most {cap} bytes", status=413)


async def _read_part(part: BodyPartReader, cap: int, error: Invalid) -> bytes:
    """A part's bytes, read in chunks, refused as soon as it passes `cap`."""
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        data += chunk
        if len(data) > cap:
            raise error
    return bytes(data)


async def read_file_form(
    request: web.Request, file_fields: Collection[str], cap: int, *, not_multipart: str
) -> FileForm:
    """The form's files (each of `file_fields` at most once, each at most `cap` bytes) and its
    short text fields; `not_multipart` is the reason given for a body of another type."""
    if request.content_length is not None and request.content_length > cap * len(file_fields) + OVERHEAD_BYTES:
        raise too_large(cap)  # refused from the header, before reading a byte
    if not request.content_type.startswith("multipart/"):
        raise Invalid(not_multipart)
    form = FileForm()
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise Invalid("nested multipart bodies are not accepted")
            if part.name is not None and part.name in file_fields and part.name not in form.files:
                data = await _read_part(part, cap, too_large(cap))
                if data:
                    form.files[part.name] = Upload(data, part.filename)
            elif part.name:
                raw = await _read_part(part, FIELD_BYTES, Invalid(f"{part.name} too long"))
                form.fields[part.name] = raw.decode("utf-8", "replace")
            else:
                await part.release()
    except (ValueError, HttpProcessingError, AssertionError) as exc:  # malformed multipart
        raise Invalid("the body is not a valid multipart form") from exc
    return form
