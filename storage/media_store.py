"""Where the bytes of pictures and files live: the `MediaStore` every other layer uses, and
its embedded default, a folder of the data directory (`LocalStore`).

Keys are generated here (`new_key`), never taken from an upload's file name, and checked on
every call (`check_key`), so no key can name a path outside the store. An S3-compatible store
for nodes with several processes on several hosts implements the same protocol.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from storage.errors import Invalid, NotFound

# 32 hex characters of randomness, an optional `.small` (a preview), an extension of letters
# and digits: nothing a path separator, a dot-dot or a NUL can hide in.
KEY_PATTERN = re.compile(r"[0-9a-f]{32}(?:\.small)?\.[a-z0-9]{1,8}")


def new_key(extension: str) -> str:
    """A fresh storage key for a file of this kind (`jpg`, `pdf`, …): unguessable, unique."""
    key = f"{secrets.token_hex(16)}.{extension.lower()}"
    return check_key(key)


def preview_key_of(key: str) -> str:
    """The key of an original's preview, beside it: `<name>.small.<ext>`."""
    name, _, _ = check_key(key).partition(".")
    return check_key(f"{name}.small.jpg")


def check_key(key: str) -> str:
    """The key itself if it is one `new_key` could have made; `Invalid` otherwise."""
    if not KEY_PATTERN.fullmatch(key):
        raise Invalid("not a media key")
    return key


class StoreKind(StrEnum):
    """Where a node keeps its media bytes, as `media.storage` names it."""

    LOCAL = "local"  # a folder of the data directory (`LocalStore`)
    S3 = "s3"  # an S3-compatible bucket (`storage/media_s3.py` `S3Store`)


class MediaStore(Protocol):
    """The node's media bytes, by key. Every method takes a key `check_key` accepts."""

    name: StoreKind

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store the bytes under the key (replacing what was there), all or nothing."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes under the key; `NotFound` when there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the key's bytes; a key with none is not an error."""
        ...

    async def exists(self, key: str) -> bool:
        ...

    def keys(self) -> AsyncIterator[str]:
        """Every key the store holds (for pruning and migrating)."""
        ...

    async def modified(self, key: str) -> datetime:
        """When the key's bytes were last written (UTC); `NotFound` when there are none.
        Pruning leaves bytes younger than its cut-off alone: an upload in flight has its bytes
        stored before its row is committed."""
        ...

    async def close(self) -> None:
        """Release what the store holds open (an S3 client's connections)."""
        ...


class LocalStore:
    """Files in one folder (`DATA_DIR/media` by default): the embedded default, needing nothing.

    Writes go to a temporary file in the same folder and are renamed into place, so a reader
    never sees half a file and a crash leaves no partial one under a key."""

    name = StoreKind.LOCAL

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(self._write, path, data)

    def _write(self, path: Path, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound("no such media") from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def keys(self) -> AsyncIterator[str]:
        names = await asyncio.to_thread(lambda: sorted(os.listdir(self.root)) if self.root.is_dir() else [])
        for name in names:
            if KEY_PATTERN.fullmatch(name):
                yield name

    async def modified(self, key: str) -> datetime:
        path = self._path(key)
        try:
            stat = await asyncio.to_thread(path.stat)
        except FileNotFoundError:
            raise NotFound("no such media") from None
        return datetime.fromtimestamp(stat.st_mtime, UTC)

    async def close(self) -> None:
        """Nothing is held open between calls."""
