"""Body digests: the legacy `Digest` header (RFC 3230, what draft-cavage signers cover) and
`Content-Digest` (RFC 9530, what RFC 9421 signers cover).

`Content-Digest` is a Structured Field, parsed with `http_sf`. `Digest` is not: it is a plain
`algorithm=base64` list whose algorithm names are case-insensitive (Mastodon sends `SHA-256=`,
bovine `sha-256=`), so it gets the few lines of parsing below.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable

from federation.sig_common import MAX_FIELD_LENGTH, SignatureError, parse_dictionary

#: Supported digest algorithms: header name → hashlib name.
_HASHES = {"sha-256": "sha256", "sha-512": "sha512"}


def digest_header(body: bytes) -> str:
    """The `Digest` value for `body`: `SHA-256=<base64>`."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes) -> str:
    """The `Content-Digest` value for `body`: `sha-256=:<base64>:`."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def _check(found: dict[str, bytes], body: bytes, header: str) -> None:
    if not found:
        raise SignatureError(f"{header} names no supported algorithm (sha-256, sha-512)")
    for algorithm, expected in found.items():
        if not hmac.compare_digest(hashlib.new(_HASHES[algorithm], body).digest(), expected):
            raise SignatureError(f"{header} does not match the body")


def verify_digest(value: str, body: bytes) -> None:
    """Check a `Digest` header against `body`.

    Every supported algorithm listed must match and at least one must be listed; others
    (md5, unixsum, ...) are ignored.
    """
    if len(value) > MAX_FIELD_LENGTH:
        raise SignatureError("Digest header is too long")
    found: dict[str, bytes] = {}
    for member in value.split(","):
        name, sep, encoded = member.strip().partition("=")
        algorithm = name.strip().lower()
        if not sep or not algorithm:
            raise SignatureError("malformed Digest header")
        if algorithm not in _HASHES:
            continue
        if algorithm in found:
            raise SignatureError(f"Digest header lists {algorithm} twice")
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError("malformed Digest header") from exc
        found[algorithm] = raw
    _check(found, body, "Digest header")


def verify_content_digest(value: str, body: bytes) -> None:
    """Check a `Content-Digest` header (RFC 9530) against `body`, as `verify_digest` does."""
    if len(value) > MAX_FIELD_LENGTH:
        raise SignatureError("Content-Digest header is too long")

    def duplicate(key: str, context: str) -> None:
        if context == "dictionary":
            raise SignatureError(f"Content-Digest header lists {key} twice")

    entries = parse_dictionary(value, "Content-Digest", duplicate)
    found: dict[str, bytes] = {}
    for key, (member, _params) in entries.items():
        algorithm = key.lower()
        if algorithm not in _HASHES:
            continue
        if not isinstance(member, bytes):
            raise SignatureError("malformed Content-Digest header")
        found[algorithm] = member
    _check(found, body, "Content-Digest header")


#: Header name (lowercase) → checker, for the digest headers a signature may cover.
DIGEST_CHECKERS: dict[str, Callable[[str, bytes], None]] = {
    "digest": verify_digest,
    "content-digest": verify_content_digest,
}
