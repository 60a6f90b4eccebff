"""The local media store: generated keys only, atomic writes, nothing outside its folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.errors import Invalid, NotFound
from storage.media_store import LocalStore, check_key, new_key, preview_key_of


@pytest.mark.parametrize(
    "hostile",
    ["../etc/passwd", "/etc/passwd", "a" * 32 + ".jpg\x00.png", "..", "", "A" * 32 + ".jpg",
     "0" * 32 + "/x.jpg", "0" * 32 + ".JPG", "0" * 31 + ".jpg", "0" * 32 + ".small.small.jpg"],
)
def test_a_key_the_store_did_not_make_is_refused(hostile: str) -> None:
    # Given a name from outside (an upload's file name, a request path)
    # When it is used as a key
    # Then it is refused before any path is built
    with pytest.raises(Invalid):
        check_key(hostile)


def test_new_keys_are_fresh_and_previews_sit_beside_their_original() -> None:
    a, b = new_key("jpg"), new_key("pdf")
    assert a != b and a.endswith(".jpg") and b.endswith(".pdf")
    assert preview_key_of(b) == b.removesuffix(".pdf") + ".small.jpg"


async def test_bytes_put_are_got_back_listed_and_deleted(tmp_path: Path) -> None:
    # Given a local store
    store = LocalStore(tmp_path / "media")
    key = new_key("png")
    # When bytes are put, read, listed and deleted
    await store.put(key, b"\x89PNG data", "image/png")
    assert await store.get(key) == b"\x89PNG data"
    assert await store.exists(key)
    assert [k async for k in store.keys()] == [key]
    await store.delete(key)
    await store.delete(key)  # twice is not an error
    # Then nothing is left, not even a temporary file
    assert not await store.exists(key)
    assert list((tmp_path / "media").iterdir()) == []
    with pytest.raises(NotFound):
        await store.get(key)


async def test_listing_ignores_what_the_store_did_not_write(tmp_path: Path) -> None:
    # Given a folder with a stray file and a leftover temporary upload
    root = tmp_path / "media"
    root.mkdir()
    (root / "notes.txt").write_text("x")
    (root / ".upload-abc").write_bytes(b"half")
    store = LocalStore(root)
    key = new_key("jpg")
    await store.put(key, b"x", "image/jpeg")
    # Then only keys are listed
    assert [k async for k in store.keys()] == [key]
