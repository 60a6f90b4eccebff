"""What an uploaded file is, and the safe copy of it the node keeps: decided from the bytes,
made in a worker subprocess that cannot hurt the node.

The type comes from the bytes, never from the name or the client's claim: JPEG, PNG, WebP and
GIF pictures (`image`), and the files an organisation shares — PDF and office documents —
as `unknown` attachments kept as they came. Anything else (HTML, JSON, SVG, scripts,
executables) is refused with 422, so nothing a browser would run or a peer would read as
ActivityStreams is ever stored.

Nothing of an upload is opened in the node's own process: `process` hands it to the worker
(`node/media_worker.py`, `python -m node.media_worker`) with its own address-space and CPU
limits and a wall-clock timeout, off the event loop, at most `WORKERS` at once. A
decompression bomb or a decoder bug ends the worker, not the node, and is a 422. The
worker's answer is read as untrusted (a JSON header and the byte lengths it names).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path

from node.media_worker import (
    DEFAULT_FILE_BYTES,
    DEFAULT_IMAGE_BYTES,
    DEFAULT_IMAGE_PIXELS,
    PREVIEW_SIDE,
    SUPPORTED_TYPES,
    FileType,
    MediaLimits,
)
from storage.errors import Invalid
from storage.models.media import MediaKind

__all__ = ["DEFAULT_FILE_BYTES", "DEFAULT_IMAGE_BYTES", "DEFAULT_IMAGE_PIXELS", "PREVIEW_SIDE", "SUPPORTED_TYPES",
           "FileType", "MediaLimits", "Processed", "process"]

# Decoding is CPU work on a small machine: at most this many workers at once per process.
WORKERS = 2
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
# Where the worker finds the `node` package, whatever the current directory.
_ROOT = str(Path(__file__).resolve().parent.parent)


def _slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(WORKERS)
    return _slots[loop]


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
    path = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)
    async with _slot():
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "node.media_worker",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": path}, preexec_fn=lambda: _confine(limits),
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
    try:
        size, preview_size = int(header["size"]), int(header.get("preview_size") or 0)
        kind = FileType(header["content_type"])
    except (KeyError, TypeError, ValueError):
        raise Invalid("the file could not be processed") from None
    if size < 0 or preview_size < 0 or size + preview_size != len(rest):
        raise Invalid("the file could not be processed")
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
