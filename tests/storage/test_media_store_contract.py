"""What every media store promises (storage/media_store.py `MediaStore`), held by both: the
local folder and an S3 bucket (moto's standalone server, over real HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.errors import Invalid, NotFound, Unavailable
from storage.media_s3 import S3Location, S3Store
from storage.media_store import LocalStore, MediaStore, StoreKind, new_key, preview_key_of
from tests.moto_s3 import moto_endpoint, s3_location  # noqa: F401  (fixtures)

HOSTILE_KEYS = ["../etc/passwd", "/etc/passwd", "a" * 32 + ".jpg\x00.png", "0" * 32 + "/x.jpg", ""]


@pytest.fixture(params=[StoreKind.LOCAL, StoreKind.S3])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_location: S3Location  # noqa: F811
) -> AsyncIterator[MediaStore]:
    """Each kind of store, empty."""
    made: MediaStore = LocalStore(tmp_path / "media") if request.param == StoreKind.LOCAL else S3Store(s3_location)
    try:
        yield made
    finally:
        await made.close()


async def test_bytes_put_are_read_back_listed_and_deleted(store: MediaStore) -> None:
    # Given an original and its preview put into the store
    key = new_key("png")
    preview = preview_key_of(key)
    await store.put(key, b"\x89PNG original", "image/png")
    await store.put(preview, b"\xff\xd8 preview", "image/jpeg")
    # When they are read, listed and checked
    # Then each key gives its own bytes back, and both are listed
    assert await store.get(key) == b"\x89PNG original"
    assert await store.get(preview) == b"\xff\xd8 preview"
    assert await store.exists(key) and await store.exists(preview)
    assert sorted([k async for k in store.keys()]) == sorted([key, preview])
    # And once deleted (twice is not an error) the key is gone; its preview stays
    await store.delete(key)
    await store.delete(key)
    assert not await store.exists(key)
    assert [k async for k in store.keys()] == [preview]
    with pytest.raises(NotFound):
        await store.get(key)


async def test_a_missing_key_is_not_found_everywhere_but_delete(store: MediaStore) -> None:
    # Given a key nothing was put under
    key = new_key("pdf")
    # Then reading it or its time is NotFound, it does not exist, and deleting it is fine
    with pytest.raises(NotFound):
        await store.get(key)
    with pytest.raises(NotFound):
        await store.modified(key)
    assert not await store.exists(key)
    await store.delete(key)
    assert [k async for k in store.keys()] == []


@pytest.mark.parametrize("hostile", HOSTILE_KEYS)
async def test_a_key_the_store_did_not_make_reaches_nothing(store: MediaStore, hostile: str) -> None:
    # Given a name from outside, as a key
    # When any method is called with it
    # Then it is refused before anything is read or written
    with pytest.raises(Invalid):
        await store.put(hostile, b"x", "text/plain")
    for call in (store.get, store.delete, store.exists, store.modified):
        with pytest.raises(Invalid):
            await call(hostile)
    assert [k async for k in store.keys()] == []


async def test_a_put_replaces_whole_and_readers_never_see_half(store: MediaStore) -> None:
    # Given a key holding one megabyte of one byte value
    key = new_key("jpg")
    old, new = b"a" * 1_000_000, b"b" * 1_500_000
    await store.put(key, old, "image/jpeg")
    # When it is replaced while readers read it
    readers = [asyncio.create_task(store.get(key)) for _ in range(4)]
    await store.put(key, new, "image/jpeg")
    seen = await asyncio.gather(*readers)
    # Then every reader got one whole version, and the key now holds the new one
    assert all(s in (old, new) for s in seen)
    assert await store.get(key) == new
    assert [k async for k in store.keys()] == [key]


async def test_a_key_knows_when_it_was_written(store: MediaStore) -> None:
    # Given bytes put just now
    key = new_key("webp")
    await store.put(key, b"RIFF", "image/webp")
    # Then their time is now, in UTC
    written = await store.modified(key)
    assert written.tzinfo is not None
    assert abs(written - datetime.now(UTC)) < timedelta(minutes=5)


async def test_bytes_the_store_did_not_write_are_not_listed(store: MediaStore, tmp_path: Path) -> None:
    # Given a store that also holds things that are not keys (a stray file, another tool's object)
    key = new_key("gif")
    await store.put(key, b"GIF89a", "image/gif")
    if isinstance(store, LocalStore):
        (store.root / "notes.txt").write_text("x")
        (store.root / ".upload-abc").write_bytes(b"half")
    else:
        assert isinstance(store, S3Store)
        other = S3Store(S3Location(**{**store.location.__dict__, "prefix": "media/deeper/"}))
        await other.put(new_key("gif"), b"GIF89a", "image/gif")
        await other.close()
    # Then only the store's own keys are listed
    assert [k async for k in store.keys()] == [key]


async def test_two_prefixes_in_one_bucket_are_two_stores(s3_location: S3Location) -> None:  # noqa: F811
    # Given two nodes sharing a bucket under different prefixes
    eng = S3Store(s3_location)
    sales = S3Store(S3Location(**{**s3_location.__dict__, "prefix": "sales/"}))
    key = new_key("png")
    # When one stores a key
    await eng.put(key, b"eng's", "image/png")
    # Then the other neither lists nor reads it
    assert [k async for k in sales.keys()] == []
    assert not await sales.exists(key)
    assert [k async for k in eng.keys()] == [key]
    await eng.close()
    await sales.close()


async def test_an_unreachable_bucket_is_unavailable_in_one_line(s3_location: S3Location) -> None:  # noqa: F811
    # Given a store whose bucket does not exist
    store = S3Store(S3Location(**{**s3_location.__dict__, "bucket": s3_location.bucket + "-gone"}))
    # When bytes are put or listed
    # Then the error is a 503 naming the bucket, in one line
    with pytest.raises(Unavailable) as put_error:
        await store.put(new_key("png"), b"x", "image/png")
    with pytest.raises(Unavailable):
        _ = [k async for k in store.keys()]
    assert put_error.value.status == 503
    assert s3_location.bucket + "-gone" in put_error.value.reason
    assert "\n" not in put_error.value.reason
    await store.close()
