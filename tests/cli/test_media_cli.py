"""`atrium media prune` and `atrium media migrate`, run as an operator runs them, on SQLite and
on PostgreSQL, with the local store and with an S3 bucket (moto's server, over real HTTP)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiobotocore.session import get_session
from sqlalchemy import select, update

from atrium.assembly import context_for, media_store_for
from node import accounts, posts
from node.posts import NewPost
from node.settings import load
from storage.db import Database
from storage.media_s3 import S3Location
from storage.media_store import LocalStore, MediaStore, StoreKind, new_key, preview_key_of
from storage.models import Post
from storage.models.media import MediaAttachment, MediaRole, MediaState
from tests.cli.conftest import assert_one_line_error, run
from tests.moto_s3 import bucket_name, moto_endpoint, run_create_bucket, s3_location  # noqa: F401  (fixtures)

OLD = timedelta(days=3)


def use_s3(data_dir: Path, loc: S3Location, *, storage: StoreKind) -> None:
    """Point the node's atrium.toml at the bucket (and keep its media there when `storage` is s3)."""
    (data_dir / "s3-secret").write_text(loc.secret_access_key or "")
    path = data_dir / "atrium.toml"
    text = path.read_text().replace('storage = "local"', f'storage = "{storage}"')
    assert f'storage = "{storage}"' in text
    path.write_text(text + f"""
[media.s3]
bucket = "{loc.bucket}"
endpoint = "{loc.endpoint}"
region = "{loc.region}"
prefix = "{loc.prefix}"
access_key_id = "{loc.access_key_id}"
secret_access_key_file = "s3-secret"
""")


@pytest.fixture
def alice_node(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A node (on the engine under test) with one user, alice."""
    code, _, err = run(capsys, "user", "create", "alice", "--password-stdin", "--data-dir", str(node_dir), stdin="alice-password\n")
    assert code == 0, err
    return node_dir


@dataclass
class Media:
    """The media a node holds, by what should become of it."""

    orphan_old: MediaAttachment
    orphan_new: MediaAttachment
    attached_old: MediaAttachment
    avatar_old: MediaAttachment
    remote_old: MediaAttachment
    remote_new: MediaAttachment
    stray: str  # bytes no row names
    contents: dict[str, bytes]  # every key put, with its bytes


async def _fill(data_dir: Path) -> Media:
    """Media rows of every kind, their bytes in the node's configured store."""
    settings = load(data_dir)
    db = Database(settings.resolved_database_url)
    ctx = context_for(settings, db)
    assert ctx.media is not None
    store: MediaStore = ctx.media
    contents: dict[str, bytes] = {}
    long_ago = datetime.now(UTC) - OLD
    try:
        alice = await accounts.get_local(ctx, "alice")
        old_post = await posts.create_post(ctx, alice, NewPost("an old post"))
        new_post = await posts.create_post(ctx, alice, NewPost("a new post"))
        async with db.session() as s:
            await s.execute(update(Post).where(Post.id == old_post.id).values(created_at=long_ago))

        async def row(*, post_id: int | None, created: datetime, role: MediaRole = MediaRole.ATTACHMENT,
                      remote_url: str | None = None) -> MediaAttachment:
            key = new_key("png")
            for k, data in ((key, os.urandom(64) + b"original"), (preview_key_of(key), os.urandom(32) + b"preview")):
                await store.put(k, data, "image/png")
                contents[k] = data
            m = MediaAttachment(account_id=alice.id, post_id=post_id, role=role.value, kind="image",
                                state=MediaState.READY.value, content_type="image/png", storage_key=key,
                                preview_key=preview_key_of(key), remote_url=remote_url, created_at=created)
            async with db.session() as s:
                s.add(m)
            return m

        now = datetime.now(UTC)
        # A peer's attachments are rows of a remote post; which account carries them does not
        # matter to pruning, only the post's age, so alice's posts stand in for them here.
        media = Media(
            orphan_old=await row(post_id=None, created=long_ago),
            orphan_new=await row(post_id=None, created=now),
            attached_old=await row(post_id=old_post.id, created=long_ago),
            avatar_old=await row(post_id=None, created=long_ago, role=MediaRole.AVATAR),
            remote_old=await row(post_id=old_post.id, created=long_ago, remote_url="https://peer.test/a.png"),
            remote_new=await row(post_id=new_post.id, created=now, remote_url="https://peer.test/b.png"),
            stray=new_key("jpg"),
            contents=contents,
        )
        await store.put(media.stray, b"left behind", "image/jpeg")
        contents[media.stray] = b"left behind"
        return media
    finally:
        await store.close()
        await db.dispose()


async def _state(data_dir: Path) -> tuple[dict[int, tuple[str | None, str | None]], set[str]]:
    """Every media row's keys, and every key the configured store holds."""
    settings = load(data_dir)
    db = Database(settings.resolved_database_url)
    store = media_store_for(settings)
    try:
        async with db.session() as s:
            rows = (await s.execute(select(MediaAttachment.id, MediaAttachment.storage_key, MediaAttachment.preview_key))).all()
        return {r.id: (r.storage_key, r.preview_key) for r in rows}, {k async for k in store.keys()}
    finally:
        await store.close()
        await db.dispose()


def _keys(m: MediaAttachment) -> set[str]:
    return {k for k in (m.storage_key, m.preview_key) if k}


@pytest.fixture(params=[StoreKind.LOCAL, StoreKind.S3])
def store_kind(request: pytest.FixtureRequest) -> StoreKind:
    return StoreKind(request.param)


def test_prune_removes_orphans_old_cached_copies_and_unnamed_files(
    alice_node: Path, store_kind: StoreKind, s3_location: S3Location,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a node (SQLite or PostgreSQL; local store or S3) holding media of every kind
    if store_kind == StoreKind.S3:
        use_s3(alice_node, s3_location, storage=StoreKind.S3)
    media = asyncio.run(_fill(alice_node))
    rows_before, keys_before = asyncio.run(_state(alice_node))
    assert keys_before == set(media.contents)
    # When a dry run looks for what is older than two days
    code, out, err = run(capsys, "media", "prune", "--dry-run", "--older-than", "2", "--data-dir", str(alice_node))
    # Then it says what it would do, and nothing changes
    assert code == 0, err
    assert "would remove 1 orphaned uploads, the cached copies of 1 peers' attachments, and 0 stored files" in out
    assert asyncio.run(_state(alice_node)) == (rows_before, keys_before)
    # When it runs for real
    code, out, err = run(capsys, "media", "prune", "--older-than", "2", "--data-dir", str(alice_node))
    assert code == 0, err
    assert "removed 1 orphaned uploads" in out and f"4 files in the {store_kind} store" in out
    rows, keys = asyncio.run(_state(alice_node))
    # Then the old orphan is gone with its bytes; the old cached copy's bytes are gone but its
    # row stays, shown by reference; the attachment of a post, the avatar and the young are kept
    assert media.orphan_old.id not in rows
    assert rows[media.remote_old.id] == (None, None)
    for kept in (media.orphan_new, media.attached_old, media.avatar_old, media.remote_new):
        assert rows[kept.id] == (kept.storage_key, kept.preview_key)
    assert keys == keys_before - _keys(media.orphan_old) - _keys(media.remote_old)
    assert media.stray in keys  # written just now: an upload in flight looks the same
    # When it runs again with no age at all
    code, out, err = run(capsys, "media", "prune", "--older-than", "0", "--data-dir", str(alice_node))
    assert code == 0, err
    rows, keys = asyncio.run(_state(alice_node))
    # Then the unnamed file and the young orphan go too, and what posts and profiles show stays
    assert media.stray not in keys and media.orphan_new.id not in rows
    assert keys == _keys(media.attached_old) | _keys(media.avatar_old)


def test_prune_refuses_a_negative_age_in_one_line(alice_node: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "media", "prune", "--older-than", "-1", "--data-dir", str(alice_node))
    assert_one_line_error(code, err)
    assert "--older-than must be 0 days or more" in err


async def _bucket_objects(loc: S3Location) -> dict[str, tuple[bytes, str]]:
    async with get_session().create_client(
        "s3", region_name=loc.region, endpoint_url=loc.endpoint,
        aws_access_key_id=loc.access_key_id, aws_secret_access_key=loc.secret_access_key,
    ) as s3:
        listing = await s3.list_objects_v2(Bucket=loc.bucket)
        out = {}
        for entry in listing.get("Contents", []):
            got = await s3.get_object(Bucket=loc.bucket, Key=entry["Key"])
            async with got["Body"] as body:
                out[entry["Key"]] = (await body.read(), got["ContentType"])
        return out


@pytest.fixture
def local_media(alice_node: Path, s3_location: S3Location) -> Media:  # noqa: F811
    """alice's node with media of every kind in its data directory, and the bucket written in
    its settings (media.storage still local)."""
    use_s3(alice_node, s3_location, storage=StoreKind.LOCAL)
    return asyncio.run(_fill(alice_node))


def test_migrate_moves_every_file_to_s3_and_back_then_switches_the_setting(
    alice_node: Path, local_media: Media, s3_location: S3Location, capsys: pytest.CaptureFixture[str],  # noqa: F811
) -> None:
    # Given a node with its media in the data directory, and a bucket written in its settings
    media = local_media
    # And one file already copied by an earlier run that stopped
    already = media.orphan_old.storage_key
    assert already is not None
    asyncio.run(_put(media_store_for(load(alice_node), StoreKind.S3), already, media.contents[already]))
    # When the operator migrates to S3
    code, out, err = run(capsys, "media", "migrate", "--to", "s3", "--data-dir", str(alice_node))
    # Then every file is in the bucket, under the prefix, byte for byte, with its content type
    assert code == 0, err
    assert f"copied {len(media.contents) - 1} of {len(media.contents)} files" in out and "(1 were there already)" in out
    objects = asyncio.run(_bucket_objects(s3_location))
    assert {k.removeprefix(s3_location.prefix): v[0] for k, v in objects.items()} == media.contents
    assert objects[s3_location.prefix + (media.orphan_old.preview_key or "")][1] == "image/jpeg"
    assert objects[s3_location.prefix + (media.orphan_old.storage_key or "")][1] == "image/png"
    # And the node now reads its media from there; the old file is kept beside the new
    assert load(alice_node).media_storage == StoreKind.S3
    assert 'storage = "local"' in (alice_node / "atrium.toml.bak").read_text()
    # When it is run again
    code, out, err = run(capsys, "media", "migrate", "--to", "s3", "--data-dir", str(alice_node))
    # Then there is nothing to do
    assert code == 0 and "already s3" in out, err
    # When the operator moves back to a fresh local folder
    local = media_store_for(load(alice_node), StoreKind.LOCAL)
    assert isinstance(local, LocalStore)
    for path in local.root.iterdir():
        path.unlink()
    code, out, err = run(capsys, "media", "migrate", "--to", "local", "--data-dir", str(alice_node))
    # Then every file is back, and the setting says local
    assert code == 0, err
    assert {p.name: p.read_bytes() for p in local.root.iterdir()} == media.contents
    assert load(alice_node).media_storage == StoreKind.LOCAL


async def _put(store: MediaStore, key: str, data: bytes) -> None:
    try:
        await store.put(key, data, "image/png")
    finally:
        await store.close()


def test_a_migration_that_cannot_finish_switches_nothing_and_goes_on_when_run_again(
    alice_node: Path, moto_endpoint: str, capsys: pytest.CaptureFixture[str],  # noqa: F811
    s3_location: S3Location,  # noqa: F811
) -> None:
    # Given a local node whose bucket does not exist yet
    missing = S3Location(**{**s3_location.__dict__, "bucket": bucket_name()})
    use_s3(alice_node, missing, storage=StoreKind.LOCAL)
    media = asyncio.run(_fill(alice_node))
    settings_before = (alice_node / "atrium.toml").read_text()
    # When the operator migrates to it
    code, out, err = run(capsys, "media", "migrate", "--to", "s3", "--data-dir", str(alice_node))
    # Then it fails in one line naming the bucket, and the node still reads its local store
    assert_one_line_error(code, err)
    assert missing.bucket in err and "run it again" in err
    assert (alice_node / "atrium.toml").read_text() == settings_before
    assert not (alice_node / "atrium.toml.bak").exists()
    # When the bucket is made and the migration is run again
    run_create_bucket(moto_endpoint, missing.bucket)
    code, out, err = run(capsys, "media", "migrate", "--to", "s3", "--data-dir", str(alice_node))
    # Then it completes, and only then is the setting switched
    assert code == 0, err
    assert len(asyncio.run(_bucket_objects(missing))) == len(media.contents)
    assert load(alice_node).media_storage == StoreKind.S3


def test_migrating_to_s3_without_a_bucket_configured_is_refused_in_one_line(
    alice_node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a local node with no media.s3 settings
    before = (alice_node / "atrium.toml").read_text()
    # When it is migrated to S3
    code, _, err = run(capsys, "media", "migrate", "--to", "s3", "--data-dir", str(alice_node))
    # Then it is refused, naming the missing setting, and nothing changes
    assert_one_line_error(code, err)
    assert "media.s3.bucket" in err
    assert (alice_node / "atrium.toml").read_text() == before


def test_migrate_names_files_rows_expect_that_the_source_lacks(
    alice_node: Path, local_media: Media, s3_location: S3Location, capsys: pytest.CaptureFixture[str],  # noqa: F811
) -> None:
    # Given a local node one of whose previews is missing from its folder
    media = local_media
    lost = media.attached_old.preview_key
    assert lost is not None
    (alice_node / "media" / lost).unlink()
    # When it is migrated to S3
    code, out, err = run(capsys, "media", "migrate", "--to", "s3", "--data-dir", str(alice_node))
    # Then everything else is copied and the missing file is named, not silently skipped
    assert code == 0, err
    assert f"1 files named by media rows were not in the local store, so not copied (first: {lost})" in out
    assert len(asyncio.run(_bucket_objects(s3_location))) == len(media.contents) - 1


def test_a_node_set_to_s3_without_its_secret_says_so_in_one_line(
    alice_node: Path, s3_location: S3Location, capsys: pytest.CaptureFixture[str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a node set to keep its media in S3 whose secret file is gone, and no secret in the environment
    use_s3(alice_node, s3_location, storage=StoreKind.S3)
    (alice_node / "s3-secret").unlink()
    monkeypatch.delenv("ATRIUM_S3_SECRET_ACCESS_KEY", raising=False)
    # When any command that works on the node runs
    code, _, err = run(capsys, "user", "list", "--data-dir", str(alice_node))
    # Then it stops in one line naming the file, before touching anything
    assert_one_line_error(code, err)
    assert "media.s3.secret_access_key_file: cannot read" in err and "s3-secret" in err
