"""`media.storage` and `media.s3.*` in atrium.toml: checked with a clear reason, and turned into
the store they name by one function (atrium/assembly.py `media_store_for`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from atrium.assembly import media_store_for
from atrium.cli_media import switch_media_storage
from node.settings import S3_SECRET_ENV, load
from storage.errors import Invalid
from storage.media_s3 import S3Store
from storage.media_store import LocalStore, StoreKind

S3_NODE = """
domain = "eng.acme.test"
[media]
storage = "s3"
[media.s3]
bucket = "acme-media"
endpoint = "https://s3.acme.test:9000/"
region = "eu-west-1"
prefix = "/eng/"
access_key_id = "AKIAEXAMPLE"
secret_access_key_file = "s3-secret"
"""


def _node(tmp_path: Path, text: str) -> Path:
    (tmp_path / "atrium.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_node_keeps_its_media_in_its_data_directory_by_default(tmp_path: Path) -> None:
    # Given a settings file that says nothing of media
    settings = load(_node(tmp_path, 'domain = "eng.acme.test"\n'))
    # When its store is made
    store = media_store_for(settings)
    # Then it is the local folder DATA_DIR/media
    assert settings.media_storage == StoreKind.LOCAL
    assert isinstance(store, LocalStore) and store.root == tmp_path.resolve() / "media"


def test_an_s3_node_gets_the_bucket_it_names_with_the_secret_from_its_file(tmp_path: Path) -> None:
    # Given a node set to keep its media in a bucket, its secret in a file beside the settings
    (tmp_path / "s3-secret").write_text("the-secret\n")
    settings = load(_node(tmp_path, S3_NODE))
    # When its store is made
    store = media_store_for(settings)
    # Then it is that bucket, its prefix a folder, the endpoint without a trailing slash
    assert isinstance(store, S3Store)
    loc = store.location
    assert (loc.bucket, loc.region, loc.endpoint, loc.prefix) == ("acme-media", "eu-west-1", "https://s3.acme.test:9000", "eng/")
    assert (loc.access_key_id, loc.secret_access_key) == ("AKIAEXAMPLE", "the-secret")
    # And the secret never shows in the settings or the location's repr
    assert "the-secret" not in repr(settings) + repr(loc)
    # And the local store is still there to be made (what `atrium media migrate --to local` copies to)
    assert isinstance(media_store_for(settings, StoreKind.LOCAL), LocalStore)


def test_the_secret_may_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a node with a key id and no secret file, and the secret in the environment
    monkeypatch.setenv(S3_SECRET_ENV, "from-env")
    settings = load(_node(tmp_path, S3_NODE.replace('secret_access_key_file = "s3-secret"\n', "")))
    # Then the store signs with it
    store = media_store_for(settings)
    assert isinstance(store, S3Store) and store.location.secret_access_key == "from-env"


def test_a_key_id_without_its_secret_is_refused_when_the_store_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a key id, no secret file and no environment variable
    monkeypatch.delenv(S3_SECRET_ENV, raising=False)
    settings = load(_node(tmp_path, S3_NODE.replace('secret_access_key_file = "s3-secret"\n', "")))
    # Then making the store says where the secret may come from
    with pytest.raises(Invalid, match=f"secret_access_key_file or {S3_SECRET_ENV}"):
        media_store_for(settings)
    # And a secret file that is missing is named
    settings = load(_node(tmp_path, S3_NODE))
    with pytest.raises(Invalid, match="cannot read .*s3-secret"):
        media_store_for(settings)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (('storage = "s3"', 'storage = "ftp"'), "media.storage must be local or s3"),
        (('bucket = "acme-media"\n', ""), 'media.storage = "s3" needs media.s3.bucket'),
        (('bucket = "acme-media"', 'bucket = "Acme_Media"'), "is not an S3 bucket name"),
        (('bucket = "acme-media"', 'bucket = "a..b"'), "is not an S3 bucket name"),
        (("https://s3.acme.test:9000/", "ftp://s3.acme.test"), "media.s3.endpoint"),
        (("https://s3.acme.test:9000/", "https://user:pw@s3.acme.test"), "media.s3.endpoint"),
        (("https://s3.acme.test:9000/", "https://s3.acme.test/?x=1"), "media.s3.endpoint"),
        (('region = "eu-west-1"', 'region = "EU West"'), "media.s3.region"),
        (('prefix = "/eng/"', 'prefix = "eng/../sales"'), "media.s3.prefix"),
        (('prefix = "/eng/"', 'prefix = "eng//x"'), "media.s3.prefix"),
        (('access_key_id = "AKIAEXAMPLE"\n', ""), "secret_access_key_file needs media.s3.access_key_id"),
        (('access_key_id = "AKIAEXAMPLE"', 'access_key_id = " "'), "media.s3.access_key_id is empty"),
        (('bucket = "acme-media"', "bucket = 7"), "media.s3.bucket must be a str"),
        (("[media.s3]", "[media.s3]\nbukket = 'x'"), "unknown setting 'media.s3.bukket'"),
    ],
)
def test_bad_media_settings_are_refused_with_the_reason(tmp_path: Path, change: tuple[str, str], reason: str) -> None:
    # Given a settings file with one media value wrong
    old, new = change
    assert old in S3_NODE
    node = _node(tmp_path, S3_NODE.replace(old, new))
    # Then reading it fails, naming the file and what is wrong
    with pytest.raises(Invalid) as error:
        load(node)
    assert reason in error.value.reason and "atrium.toml" in error.value.reason


def test_s3_settings_are_checked_while_the_node_is_still_local(tmp_path: Path) -> None:
    # Given a local node whose operator has written the bucket's settings ahead of a migration
    text = S3_NODE.replace('storage = "s3"', 'storage = "local"')
    # Then a bad one is refused now, not when `atrium media migrate --to s3` runs
    with pytest.raises(Invalid, match="media.s3.region"):
        load(_node(tmp_path, text.replace('region = "eu-west-1"', 'region = "eu west"')))
    # And good ones are kept for it
    settings = load(_node(tmp_path, text))
    assert settings.media_storage == StoreKind.LOCAL and settings.s3_bucket == "acme-media"


@pytest.mark.parametrize(
    ("text", "expected_tail"),
    [
        # A file written by `atrium init` before media settings existed: the table is added
        ('domain = "eng.acme.test"\n[media.s3]\nbucket = "acme-media"\n', '[media]\nstorage = "s3"\n'),
        # A [media] table without the key: the key goes under its header
        ('domain = "eng.acme.test"\n[media]  # pictures\n\n[media.s3]\nbucket = "acme-media"\n', None),
        # The key written with single quotes and a comment: only the value changes
        ("domain = \"eng.acme.test\"\n[media]\nstorage = 'local'  # for now\n[media.s3]\nbucket = \"acme-media\"\n", None),
    ],
)
def test_the_switch_changes_only_media_storage(tmp_path: Path, text: str, expected_tail: str | None) -> None:
    # Given a local node's settings file, written one of the ways an operator may have
    node = _node(tmp_path, text)
    # When media.storage is switched to s3
    backup = switch_media_storage(node, StoreKind.S3)
    # Then the file reads as the same settings but for that one value, and the old one is kept
    after = load(node)
    assert after.media_storage == StoreKind.S3 and after.s3_bucket == "acme-media"
    assert backup.read_text() == text
    new = (node / "atrium.toml").read_text()
    assert new.count("storage") == 1
    if expected_tail:
        assert new.endswith(expected_tail)
    else:
        assert len(new.splitlines()) - len(text.splitlines()) in (0, 1)
        assert "# for now" in new or "# pictures" in new


def test_a_file_the_switch_cannot_edit_safely_is_left_alone(tmp_path: Path) -> None:
    # Given settings whose media table is written as dotted keys at the top (a [media] header
    # cannot follow them)
    text = 'domain = "eng.acme.test"\nmedia.s3.bucket = "acme-media"\n'
    node = _node(tmp_path, text)
    # Then the switch refuses, saying what to do, and the file is unchanged
    with pytest.raises(Invalid, match='set it to "s3" by hand'):
        switch_media_storage(node, StoreKind.S3)
    assert (node / "atrium.toml").read_text() == text
