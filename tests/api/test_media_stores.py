"""A node's media behaves the same in either store: the embedded folder and an S3-compatible
bucket (moto's server over real HTTP), on each engine. An upload is processed, posted, served
to its audience only, and gone with its post — whichever store holds the bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from storage.media_s3 import S3Location, S3Store
from storage.media_store import LocalStore, MediaStore
from tests import media_files
from tests.conftest import StartNode
from tests.moto_s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, bucket_name, create_bucket, moto_endpoint
from tests.security.conftest import sign_in

__all__ = ["moto_endpoint"]  # the fixture this module uses


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaStore]:
    if request.param == "local":
        yield LocalStore(tmp_path / "media")
        return
    endpoint: str = request.getfixturevalue("moto_endpoint")  # started only for the S3 cases
    bucket = bucket_name()
    await create_bucket(endpoint, bucket)
    s3 = S3Store(S3Location(bucket=bucket, region=REGION, endpoint=endpoint, prefix="eng/",
                            access_key_id=ACCESS_KEY_ID, secret_access_key=SECRET_ACCESS_KEY))
    try:
        yield s3
    finally:
        await s3.close()


async def test_a_picture_is_stored_served_to_its_audience_and_gone_with_its_post(
    start_node: StartNode, store: MediaStore
) -> None:
    # Given a node keeping its media in this store, and alice signed in through the client API
    node = await start_node(users=("alice", "carol"), instance=True, media=store)
    async with aiohttp.ClientSession(base_url=node.ctx.base_url, cookie_jar=aiohttp.DummyCookieJar()) as http:
        alice, carol = await sign_in(http, "alice"), await sign_in(http, "carol")
        # When she uploads a picture and posts it to her followers only
        form = aiohttp.FormData()
        form.add_field("file", media_files.picture("JPEG", gps=True), filename="chart.jpg")
        form.add_field("description", "the chart")
        async with http.post("/api/v2/media", data=form, headers=alice) as r:
            assert r.status == 200, await r.text()
            upload = await r.json()
        async with http.post("/api/v1/statuses", json={"status": "for my followers", "visibility": "private",
                                                       "media_ids": [upload["id"]]}, headers=alice) as r:
            assert r.status == 200, await r.text()
            post = await r.json()
        [shown] = post["media_attachments"]
        bare = shown["url"].split("?", 1)[0]
        # Then the store holds its original and preview under generated keys
        key = bare.rsplit("/", 1)[1]
        assert await store.exists(key) and await store.exists(shown["preview_url"].split("?", 1)[0].rsplit("/", 1)[1])
        # and the signed URL serves the picture, while the bare path and an outsider get 404
        async with http.get(shown["url"]) as r:
            assert (r.status, r.content_type) == (200, "image/jpeg")
            assert await r.read() == await store.get(key)
        async with http.get(bare) as r:
            assert r.status == 404
        async with http.get(bare, headers=carol) as r:
            assert r.status == 404
        # When alice deletes the post
        async with http.delete(f"/api/v1/statuses/{post['id']}", headers=alice) as r:
            assert r.status == 200
        # Then its picture is served to nobody, not even through the URL she was given
        async with http.get(shown["url"]) as r:
            assert r.status == 404
