"""`atrium media migrate`: copy every media key from one store to another, and prove it.

Each key is read from the source, written to the target with the content type its row records
(previews are JPEG), and read back from the target: the copy counts only when the bytes read
back are the bytes read. A key the target already holds with the same bytes is left as it is,
so a run that stopped half-way (an outage, Ctrl-C) is simply run again. The source keeps
everything: the operator removes it once the node runs on the target.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
from dataclasses import dataclass, field

from sqlalchemy import select

from storage.db import Database
from storage.errors import AtriumError, NotFound, Unavailable
from storage.media_store import MediaStore
from storage.models.media import MediaAttachment

PREVIEW_TYPE = "image/jpeg"  # media-core makes every preview a JPEG
AT_ONCE = 8  # keys copied concurrently: enough to hide an object store's latency, no more


@dataclass
class CopyReport:
    total: int = 0  # keys in the source
    copied: int = 0  # written to the target and read back the same
    already: int = 0  # the target held them already, byte for byte
    unheld: list[str] = field(default_factory=list)  # keys rows name that the source does not hold (not copied)


class CopyFailed(AtriumError):
    """A key could not be copied: nothing was switched; running again goes on where it stopped."""

    status = 503


async def content_types(db: Database) -> dict[str, str]:
    """Every key media rows name, with the content type of its bytes."""
    async with db.session() as s:
        rows = (await s.execute(
            select(MediaAttachment.storage_key, MediaAttachment.preview_key, MediaAttachment.content_type)
        )).all()
        types: dict[str, str] = {}
        for storage_key, preview_key, content_type in rows:
            if storage_key is not None:
                types[storage_key] = content_type
            if preview_key is not None:
                types[preview_key] = PREVIEW_TYPE
        return types


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


async def _copy_one(source: MediaStore, target: MediaStore, key: str, content_type: str) -> bool:
    """True when the key was written, False when the target held the same bytes already."""
    data = await source.get(key)
    try:
        if _digest(await target.get(key)) == _digest(data):
            return False
    except NotFound:
        pass
    await target.put(key, data, content_type)
    if _digest(await target.get(key)) != _digest(data):
        raise Unavailable(f"{key} reads back different from what was written to the {target.name} store")
    return True


async def copy_media(db: Database, source: MediaStore, target: MediaStore) -> CopyReport:
    """Copy every key of `source` into `target`, verified (see the module's description)."""
    types = await content_types(db)
    keys = [k async for k in source.keys()]
    report = CopyReport(total=len(keys))
    for start in range(0, len(keys), AT_ONCE):
        batch = keys[start:start + AT_ONCE]
        try:
            written = await asyncio.gather(*(
                _copy_one(source, target, k, types.get(k) or _guessed_type(k)) for k in batch
            ))
        except AtriumError as exc:
            raise CopyFailed(
                f"copying to the {target.name} store stopped after {report.copied + report.already} of "
                f"{report.total} keys: {exc.reason}; nothing was switched, run it again to go on"
            ) from exc
        report.copied += sum(written)
        report.already += len(written) - sum(written)
    held = set(keys)
    report.unheld = sorted(k for k in types if k not in held)
    return report


def _guessed_type(key: str) -> str:
    """A key no row names (bytes left behind): its type from its extension, for the target's
    metadata only; nothing serves a key without a row."""
    return mimetypes.guess_type("x" + key[key.index("."):])[0] or "application/octet-stream"
