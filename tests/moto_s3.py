"""An S3-compatible endpoint for the tests: moto's standalone server, a real HTTP server on a
free loopback port, started once per test process. Each test gets a bucket of its own.

Test modules import the fixtures they use (`from tests.moto_s3 import moto_endpoint, s3_location`).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from aiobotocore.session import get_session

from storage.media_s3 import S3Location

# moto accepts any credentials; these only have to be the same on both sides.
ACCESS_KEY_ID = "atrium-test"
SECRET_ACCESS_KEY = "atrium-test-secret"
REGION = "eu-west-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """`http://127.0.0.1:PORT` of a moto server running for this test process."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto's S3 server did not start on port {port}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def create_bucket(endpoint: str, bucket: str) -> None:
    async with get_session().create_client(
        "s3", region_name=REGION, endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
    ) as s3:
        await s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})


def bucket_name() -> str:
    return f"atrium-{uuid.uuid4().hex[:16]}"


@pytest.fixture
async def s3_location(moto_endpoint: str) -> AsyncIterator[S3Location]:
    """A fresh, empty bucket on the moto server, and the credentials to use it."""
    bucket = bucket_name()
    await create_bucket(moto_endpoint, bucket)
    yield S3Location(bucket=bucket, region=REGION, endpoint=moto_endpoint, prefix="media/",
                     access_key_id=ACCESS_KEY_ID, secret_access_key=SECRET_ACCESS_KEY)


def run_create_bucket(endpoint: str, bucket: str) -> None:
    asyncio.run(create_bucket(endpoint, bucket))
