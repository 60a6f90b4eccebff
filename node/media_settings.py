"""The `media.*` keys of atrium.toml, checked: where the node keeps pictures and files (the data
directory, or an S3-compatible bucket). node/settings.py reads the file; this is its media part.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

from storage.errors import Invalid
from storage.media_store import StoreKind

DEFAULT_S3_REGION = "us-east-1"

# An S3 bucket name (the rules AWS states): 3 to 63 lowercase letters, digits, dots and
# hyphens, beginning and ending with a letter or a digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_PREFIX_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


class MediaFields(TypedDict):
    media_storage: StoreKind
    s3_bucket: str | None
    s3_endpoint: str | None
    s3_region: str
    s3_prefix: str
    s3_access_key_id: str | None
    s3_secret_access_key_file: str | None


def media_settings(path: Path, flat: dict[str, object]) -> MediaFields:
    """The `media.*` settings, checked; the S3 ones whenever any is written, so that
    `atrium media migrate --to s3` finds them valid before it copies anything."""
    storage = flat.get("media.storage", StoreKind.LOCAL.value)
    if storage not in tuple(StoreKind):
        raise Invalid(f"{path}: media.storage must be local or s3")
    kind = StoreKind(str(storage))
    bucket = flat.get("media.s3.bucket")
    if bucket is not None:
        if not _BUCKET.fullmatch(str(bucket)) or ".." in str(bucket):
            raise Invalid(f"{path}: media.s3.bucket: {bucket!r} is not an S3 bucket name"
                          " (3 to 63 lowercase letters, digits, dots and hyphens)")
    elif kind == StoreKind.S3:
        raise Invalid(f'{path}: media.storage = "s3" needs media.s3.bucket')
    endpoint = flat.get("media.s3.endpoint")
    if endpoint is not None:
        parts = urlsplit(str(endpoint))
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment \
                or parts.username or parts.password:
            raise Invalid(f"{path}: media.s3.endpoint: {endpoint!r} is not an http(s) URL of a host (no user, query or fragment)")
    region = flat.get("media.s3.region", DEFAULT_S3_REGION)
    if not _REGION.fullmatch(str(region)):
        raise Invalid(f"{path}: media.s3.region: {region!r} is not a region name (like eu-west-1)")
    prefix = str(flat.get("media.s3.prefix", "")).strip("/")
    if prefix and not all(_PREFIX_PART.fullmatch(part) for part in prefix.split("/")):
        raise Invalid(f"{path}: media.s3.prefix: {prefix!r} must be folder names of letters, digits, "
                      "dots, hyphens and underscores, separated by /")
    key_id = flat.get("media.s3.access_key_id")
    secret_file = flat.get("media.s3.secret_access_key_file")
    if key_id is not None and not str(key_id).strip():
        raise Invalid(f"{path}: media.s3.access_key_id is empty")
    if secret_file is not None and key_id is None:
        raise Invalid(f"{path}: media.s3.secret_access_key_file needs media.s3.access_key_id")
    return MediaFields(
        media_storage=kind,
        s3_bucket=str(bucket) if bucket is not None else None,
        s3_endpoint=str(endpoint).rstrip("/") if endpoint is not None else None,
        s3_region=str(region),
        s3_prefix=prefix + "/" if prefix else "",
        s3_access_key_id=str(key_id).strip() if key_id is not None else None,
        s3_secret_access_key_file=str(secret_file) if secret_file is not None else None,
    )
