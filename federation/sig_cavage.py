"""draft-cavage-http-signatures-12: the `Signature` (or `Authorization: Signature ...`) header
that Mastodon and most of the Fediverse send.

This is written here rather than taken from httpsig 1.3.0, which the project otherwise lists:
- its verifier takes the algorithm from the request, so a request claiming `hmac-sha256` and
  "keyed" with the actor's *public* key passes it; it must never be used;
- its header parser (`urllib.request.parse_http_list`) keeps the last of duplicate parameters
  and accepts unterminated quotes without complaint;
- its signing-string builder raises bare `Exception`, encodes to ASCII, knows neither
  `(created)` nor `(expires)` and does not canonicalise repeated or folded headers;
- its signer takes PEM text and re-parses it with pycryptodome on every call.
What would be left to reuse is the join of a few `name: value` lines, shorter than an adapter.
The cryptography is `cryptography`'s; the algorithm is chosen by the key's type, never by the
header (the header's claim is checked against the key in `federation.signatures`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from federation.sig_common import Headers, SignatureError

MAX_COVERED = 32

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_TOKEN = re.compile(r'[^\s,"]+')
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_CREATED = re.compile(r"\d{1,15}")
_EXPIRES = re.compile(r"\d{1,15}(?:\.\d{1,9})?")
_HEADER_NAME = re.compile(r"\([a-z-]+\)|[!#$%&'*+.^_`|~0-9a-z-]+")


@dataclass(frozen=True)
class CavageSignature:
    """The parameters of one draft-cavage signature, as sent (nothing verified yet)."""

    key_id: str
    algorithm: str | None
    covered: tuple[str, ...]
    signature: bytes
    created: str | None
    expires: str | None


def _skip_ws(value: str, pos: int) -> int:
    while pos < len(value) and value[pos] in " \t":
        pos += 1
    return pos


def parse_params(value: str) -> dict[str, str]:
    """`name=value` pairs separated by commas; a value is a quoted string (with backslash
    escapes) or a bare token. Names are case-insensitive and may occur once each."""
    params: dict[str, str] = {}
    pos, end = 0, len(value)
    while True:
        pos = _skip_ws(value, pos)
        name_match = _NAME.match(value, pos)
        if name_match is None or name_match.end() >= end or value[name_match.end()] != "=":
            raise SignatureError("malformed Signature header: expected name=value")
        name = name_match.group().lower()
        pos = name_match.end() + 1
        if pos < end and value[pos] == '"':
            quoted = _QUOTED.match(value, pos)
            if quoted is None:
                raise SignatureError("malformed Signature header: unterminated quoted string")
            text = _ESCAPE.sub(r"\1", quoted.group(1))
            pos = quoted.end()
        else:
            token = _TOKEN.match(value, pos)
            if token is None:
                raise SignatureError(f"malformed Signature header: {name} has no value")
            text = token.group()
            pos = token.end()
        if name in params:
            raise SignatureError(f"malformed Signature header: duplicate parameter {name}")
        params[name] = text
        pos = _skip_ws(value, pos)
        if pos >= end:
            return params
        if value[pos] != ",":
            raise SignatureError("malformed Signature header: expected a comma")
        pos += 1


def parse(value: str) -> CavageSignature:
    """Parse a draft-cavage `Signature` header value (or the part of `Authorization` after
    `Signature `)."""
    params = parse_params(value)
    key_id = params.get("keyid", "")
    if not key_id:
        raise SignatureError("Signature header has no keyId")
    encoded = params.get("signature", "")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("Signature header's signature is not base64") from exc
    if not signature:
        raise SignatureError("Signature header has no signature")
    algorithm = params["algorithm"].lower() if "algorithm" in params else None
    # Draft 12 changed the default from `date` to `(created)`, but its own appendix C.1 (and
    # every implementation) still signs `date`; the coverage policy refuses both anyway.
    covered = tuple(params.get("headers", "date").lower().split())
    if not covered:
        raise SignatureError("Signature header lists no headers")
    if len(covered) > MAX_COVERED:
        raise SignatureError("Signature header lists too many headers")
    if len(set(covered)) != len(covered):
        raise SignatureError("Signature header lists a header twice")
    if not all(_HEADER_NAME.fullmatch(name) for name in covered):
        raise SignatureError("Signature header lists an invalid header name")
    created, expires = params.get("created"), params.get("expires")
    if created is not None and not _CREATED.fullmatch(created):
        raise SignatureError("Signature header's created is not a timestamp")
    if expires is not None and not _EXPIRES.fullmatch(expires):
        raise SignatureError("Signature header's expires is not a timestamp")
    # draft-cavage-12 section 2.3: (created)/(expires) with an rsa, hmac or ecdsa algorithm
    # is an error.
    pseudo_times = {"(created)", "(expires)"} & set(covered)
    if pseudo_times and algorithm and algorithm.startswith(("rsa", "hmac", "ecdsa")):
        raise SignatureError(f"{min(pseudo_times)} cannot be signed with {algorithm}")
    return CavageSignature(key_id, algorithm, covered, signature, created, expires)


def signing_string(
    covered: tuple[str, ...] | list[str],
    *,
    method: str,
    request_target: str,
    headers: Headers,
    created: str | None = None,
    expires: str | None = None,
) -> bytes:
    """The draft-cavage-12 section 2.3 signing string for `covered`."""
    lines = []
    for name in covered:
        if name == "(request-target)":
            if not request_target or any(c in request_target for c in " \r\n"):
                raise SignatureError("invalid request target")
            value = f"{method.lower()} {request_target}"
        elif name in ("(created)", "(expires)"):
            param = created if name == "(created)" else expires
            if param is None:
                raise SignatureError(f"{name} is signed but the parameter is missing")
            value = param
        elif name.startswith("("):
            raise SignatureError(f"unknown pseudo-header {name}")
        else:
            found = headers.get(name)
            if found is None:
                raise SignatureError(f"signed header {name} is missing")
            value = found
        lines.append(f"{name}: {value}")
    try:
        return "\n".join(lines).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SignatureError("a signed header is not valid text") from exc


def sign_rsa_sha256(private_key: rsa.RSAPrivateKey, data: bytes) -> str:
    """`rsa-sha256` (RSASSA-PKCS1-v1_5 with SHA-256), base64."""
    signature = private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify_with_key(public_key: object, data: bytes, signature: bytes) -> None:
    """Verify with the algorithm the key's type dictates: RSA → RSASSA-PKCS1-v1_5 SHA-256,
    Ed25519 → Ed25519. Nothing in the request can choose another."""
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, data)
        else:
            raise SignatureError("unsupported key type")
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError("signature does not verify") from exc


def format_header(key_id: str, algorithm: str, covered: list[str], signature: str) -> str:
    """The `Signature` header value for an outgoing request."""
    if any(c in key_id for c in '"\\\r\n'):
        raise ValueError("a key id must not contain quotes, backslashes or line breaks")
    return (
        f'keyId="{key_id}",algorithm="{algorithm}",'
        f'headers="{" ".join(covered)}",signature="{signature}"'
    )
