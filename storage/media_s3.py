"""The media store in an S3-compatible bucket (AWS S3, MinIO, Ceph, Garage, R2…): for a node
whose processes run on several hosts and must all read and write the same media.

aiobotocore (botocore's requests over aiohttp) is the client: a maintained one that signs
requests (SigV4), retries and speaks every S3-compatible store's dialect. This module is the
one place outside the outbound gate that opens HTTP connections (tests/security/
test_one_http_client.py allows it by name): the bucket is the operator's own storage, named in
atrium.toml, never a peer, so the trust policy, which governs peers, has nothing to decide.

Objects are named `PREFIX + key`; a key is checked (`check_key`) before any request, so no
key can reach outside the prefix. A PUT is all or nothing in S3, so a reader never sees half
an object.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from storage.errors import NotFound, Unavailable
from storage.media_store import KEY_PATTERN, StoreKind, check_key

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

# The error codes S3 (and its look-alikes) answer for a key with no object.
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True)
class S3Location:
    """Where the bucket is and how to sign for it (atrium.toml's `media.s3.*`)."""

    bucket: str
    region: str = "us-east-1"
    endpoint: str | None = None  # None: AWS itself; else the S3-compatible service's URL
    prefix: str = ""  # "" or a path ending in "/", e.g. "eng/"
    access_key_id: str | None = None  # None: the AWS SDK's own chain (environment, instance role)
    secret_access_key: str | None = field(default=None, repr=False)


class S3Store:
    """Media bytes as objects of one bucket, under one prefix. The client is made on first
    use (in the running event loop) and kept until `close`."""

    name = StoreKind.S3

    def __init__(self, location: S3Location) -> None:
        self.location = location
        self._stack: AsyncExitStack | None = None
        self._client: S3Client | None = None
        self._opening = asyncio.Lock()

    async def _s3(self) -> S3Client:
        async with self._opening:
            if self._client is None:
                loc = self.location
                config = AioConfig(
                    connect_timeout=10,
                    read_timeout=60,
                    retries={"max_attempts": 3, "mode": "standard"},
                    # A named endpoint (MinIO, Ceph, Garage…) is addressed by path: its buckets
                    # rarely have host names of their own.
                    s3={"addressing_style": "path" if loc.endpoint else "auto"},
                )
                stack = AsyncExitStack()
                self._client = await stack.enter_async_context(
                    get_session().create_client(
                        "s3",
                        region_name=loc.region,
                        endpoint_url=loc.endpoint,
                        aws_access_key_id=loc.access_key_id,
                        aws_secret_access_key=loc.secret_access_key,
                        config=config,
                    )
                )
                self._stack = stack
            return self._client

    def _object(self, key: str) -> str:
        return self.location.prefix + check_key(key)

    @contextmanager
    def _answers(self) -> Iterator[None]:
        """The service's errors as the store's: a missing object is `NotFound`, anything else
        (no such bucket, refused credentials, no answer) `Unavailable`."""
        try:
            yield
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise NotFound("no such media") from None
            raise self._unavailable(exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(exc) from exc

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        name = self._object(key)
        s3 = await self._s3()
        with self._answers():
            await s3.put_object(Bucket=self.location.bucket, Key=name, Body=data, ContentType=content_type)

    async def get(self, key: str) -> bytes:
        name = self._object(key)
        s3 = await self._s3()
        with self._answers():
            answer = await s3.get_object(Bucket=self.location.bucket, Key=name)
            async with answer["Body"] as body:
                return await body.read()

    async def delete(self, key: str) -> None:
        name = self._object(key)
        s3 = await self._s3()
        with self._answers():  # S3 answers a delete of a missing object with success too
            await s3.delete_object(Bucket=self.location.bucket, Key=name)

    async def exists(self, key: str) -> bool:
        try:
            await self.modified(key)
        except NotFound:
            return False
        return True

    async def modified(self, key: str) -> datetime:
        name = self._object(key)
        s3 = await self._s3()
        with self._answers():
            head = await s3.head_object(Bucket=self.location.bucket, Key=name)
        return head["LastModified"].astimezone(UTC)

    async def keys(self) -> AsyncIterator[str]:
        s3 = await self._s3()
        prefix = self.location.prefix
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.location.bucket, Prefix=prefix)
        with self._answers():
            async for page in pages:
                for entry in page.get("Contents", []):
                    name = entry.get("Key", "").removeprefix(prefix)
                    if KEY_PATTERN.fullmatch(name):  # another tool's objects, or a deeper prefix's, are not ours
                        yield name

    async def close(self) -> None:
        async with self._opening:
            if self._stack is not None:
                await self._stack.aclose()
            self._stack, self._client = None, None

    def _unavailable(self, exc: Exception) -> Unavailable:
        """An outage or a misconfiguration of the bucket, said in one line (503)."""
        where = f"s3://{self.location.bucket}/{self.location.prefix}"
        if self.location.endpoint:
            where += f" at {self.location.endpoint}"
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Unavailable(f"media store {where}: {text}")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
