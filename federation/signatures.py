"""HTTP signatures for federation: sign outgoing requests, parse and verify incoming ones.

Out: draft-cavage `rsa-sha256` over `(request-target) host date digest` with a
`Digest: SHA-256=` header (GET: `(request-target) host date`, plus `accept` when sent), which
Mastodon, Takahē and bovine accept. `sign_request_rfc9421` signs the RFC 9421 way for peers
known to prefer it.

In: draft-cavage (`Signature: ...` or `Authorization: Signature ...`) and RFC 9421
(`Signature-Input` + `Signature`). Verification is two steps so that a blocked peer is refused
before any key is fetched:

    parsed = parse_signature(request.headers)          # key id, nothing verified
    ... refuse parsed.key_id's domain if blocked; fetch and cache its key ...
    verified = verify_request("POST", url, request.headers, body, key)

The algorithm is pinned to the key's type: an RSA key verifies RSASSA-PKCS1-v1_5 SHA-256 (RFC
9421 also allows its `rsa-pss-sha512`), an Ed25519 key verifies Ed25519. `hs2019` or no
algorithm means "the key's own"; any other claim that does not fit the key (`hmac-sha256`
above all) is refused. The header never chooses the algorithm.

`verify_request` also enforces Atrium's coverage policy (method and target, host, a date or
`created`, and for a POST or a body a signed digest that matches the body) and the date
window. Every refusal is a `SignatureError` carrying a reason and an HTTP status.

Keys are `cryptography` objects passed in by the caller; nothing is loaded at import time.
Parsing a private key with validation costs ~35 ms: callers load it once and keep it.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal
from urllib.parse import SplitResult, urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from federation import sig_cavage, sig_rfc9421
from federation.digest import DIGEST_CHECKERS, digest_header
from federation.sig_common import (
    BODY_METHODS,
    DEFAULT_MAX_AGE,
    DEFAULT_MAX_FUTURE_SKEW,
    MAX_FIELD_LENGTH,
    Headers,
    HeaderSource,
    SignatureError,
    as_utc,
    authority,
    check_window,
    from_timestamp,
    url_parts,
)
from federation.sig_rfc9421 import sign as sign_request_rfc9421

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_FUTURE_SKEW",
    "HeaderSource",
    "ParsedSignature",
    "PublicKey",
    "SignatureError",
    "VerifiedSignature",
    "load_public_key_pem",
    "parse_signature",
    "sign_request",
    "sign_request_rfc9421",
    "verify_request",
]

Scheme = Literal["cavage", "rfc9421"]
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey

_DIGEST_HEADERS = ("digest", "content-digest")

# Algorithm names a request may claim, per scheme and key type, and what is then verified.
# `None` is "no algorithm given"; `hs2019` is draft-cavage's "determined by the key".
_PINNED: dict[tuple[Scheme, str], dict[str | None, str]] = {
    ("cavage", "RSA"): {None: "rsa-sha256", "hs2019": "rsa-sha256", "rsa-sha256": "rsa-sha256"},
    ("cavage", "Ed25519"): {None: "ed25519", "hs2019": "ed25519", "ed25519": "ed25519"},
    ("rfc9421", "RSA"): {
        None: "rsa-v1_5-sha256",
        "rsa-v1_5-sha256": "rsa-v1_5-sha256",
        "rsa-pss-sha512": "rsa-pss-sha512",
    },
    ("rfc9421", "Ed25519"): {None: "ed25519", "ed25519": "ed25519"},
}


@dataclass(frozen=True)
class ParsedSignature:
    """A request's signature as sent: who claims to have signed it. Nothing is verified.
    The claim is read from the scheme's own parse, `_detail`."""

    scheme: Scheme
    _detail: sig_cavage.CavageSignature | sig_rfc9421.Rfc9421Signature = field(repr=False)

    @property
    def key_id(self) -> str:
        return self._detail.key_id

    @property
    def algorithm(self) -> str | None:
        """The algorithm the request names (lowercased), or None; a claim, never obeyed."""
        return self._detail.algorithm

    @property
    def covered(self) -> tuple[str, ...]:
        """Covered components: draft-cavage header names, or RFC 9421 component names."""
        return self._detail.covered

    @property
    def label(self) -> str | None:
        """The RFC 9421 signature label; None for draft-cavage."""
        return self._detail.label if isinstance(self._detail, sig_rfc9421.Rfc9421Signature) else None


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature that verified under Atrium's policy."""

    key_id: str
    scheme: Scheme
    #: The algorithm actually verified: rsa-sha256 / ed25519 (cavage), rsa-v1_5-sha256 /
    #: rsa-pss-sha512 / ed25519 (RFC 9421).
    algorithm: str
    covered: tuple[str, ...]
    #: When the signature says it was made: `created`, else the Date header.
    created: datetime


def _parse(headers: Headers, label: str | None) -> ParsedSignature:
    if "signature-input" in headers:
        r = sig_rfc9421.parse(headers, label)
        return ParsedSignature("rfc9421", r)
    value = headers.single("Signature")
    if value is None:
        authorization = headers.single("Authorization")
        scheme, _, rest = (authorization or "").partition(" ")
        if scheme.lower() != "signature":
            raise SignatureError("request is not signed")
        value = rest
    c = sig_cavage.parse(value)
    return ParsedSignature("cavage", c)


def parse_signature(headers: HeaderSource, *, label: str | None = None) -> ParsedSignature:
    """Read the request's signature without verifying anything, so the caller can judge the
    key id (a blocked peer, a key to fetch) first. RFC 9421 wins when both kinds are present;
    of several RFC 9421 signatures, `label` picks one (default: the first)."""
    return _parse(Headers(headers), label)


def _pin(parsed: ParsedSignature, key: object) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        kind = "RSA"
    elif isinstance(key, ed25519.Ed25519PublicKey):
        kind = "Ed25519"
    else:
        raise SignatureError("unsupported key type")
    pinned = _PINNED[(parsed.scheme, kind)].get(parsed.algorithm)
    if pinned is None:
        raise SignatureError(f"algorithm {parsed.algorithm} does not match the {kind} key")
    return pinned


def _require_coverage(parsed: ParsedSignature, needs_digest: bool, headers: Headers) -> None:
    covered = set(parsed.covered)

    def need(options: tuple[str, ...]) -> None:
        if not covered.intersection(options):
            raise SignatureError(f"signature does not cover {' or '.join(options)}")

    if parsed.scheme == "cavage":
        need(("(request-target)",))
        need(("host",))
        need(("date", "(created)"))
    else:
        need(("@method",))
        need(("@target-uri", "@path", "@request-target"))
        need(("@authority", "@target-uri", "host"))
        if (
            isinstance(parsed._detail, sig_rfc9421.Rfc9421Signature)
            and parsed._detail.created is None
        ):
            raise SignatureError("Signature-Input has no created parameter")
    if needs_digest and not covered.intersection(_DIGEST_HEADERS):
        if any(name in headers for name in _DIGEST_HEADERS):
            raise SignatureError("the body digest header is not signed")
        raise SignatureError("a request with a body needs a signed Digest header")


def _http_date(value: str | None) -> datetime:
    if value is None:
        raise SignatureError("signed Date header is missing")
    parsed = _parsed_date(value[:64])
    if parsed is None:
        raise SignatureError("Date header is not an HTTP date")
    return parsed


@lru_cache(maxsize=512)
def _parsed_date(value: str) -> datetime | None:
    """An HTTP date, parsed once: a busy inbox sees the same few seconds' dates again and again
    (the parse was a fifth of a signature check's time)."""
    try:
        return as_utc(email.utils.parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _check_times(
    parsed: ParsedSignature,
    headers: Headers,
    now: datetime,
    max_age: timedelta,
    max_future_skew: timedelta,
) -> datetime:
    """Apply the date window; return when the signature was made."""

    def check(moment: datetime, what: str) -> None:
        check_window(moment, now, max_age=max_age, max_future_skew=max_future_skew, what=what)

    covered = set(parsed.covered)
    detail = parsed._detail
    created_at = expires_at = None
    if isinstance(detail, sig_cavage.CavageSignature):
        # draft-cavage parameters are only authenticated when their pseudo-header is signed.
        if "(created)" in covered and detail.created is not None:
            created_at = from_timestamp(int(detail.created), "created")
        if "(expires)" in covered and detail.expires is not None:
            expires_at = from_timestamp(float(detail.expires), "expires")
    else:
        if detail.created is not None:
            created_at = from_timestamp(detail.created, "created")
        if detail.expires is not None:
            expires_at = from_timestamp(detail.expires, "expires")
    date = None
    if "date" in covered:
        date = _http_date(headers.get("date"))
        check(date, "Date header")
    if created_at is not None:
        check(created_at, "signature created time")
    if expires_at is not None and expires_at < now:
        raise SignatureError("signature has expired")
    moment = created_at or date
    if moment is None:  # the coverage policy already demands one of them
        raise SignatureError("signature carries no date")
    return moment


def _target(target: str, headers: Headers) -> tuple[str, str]:
    """(absolute URL, request target `path?query`) from a URL or an origin-form path.

    With an absolute URL (the node's own base URL and the raw path: the safer choice), a Host
    header must name that URL's authority, so a signature made for another server cannot be
    replayed here with its original Host. With a bare path the Host header is all there is.
    """
    host = headers.single("Host")
    if host is not None and (not host or any(c in host for c in "/?#@\\ \t")):
        raise SignatureError("invalid Host header")
    if target.startswith("/"):
        if host is None:
            raise SignatureError("request has no Host header")
        return f"https://{host}{target}", target
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SignatureError("request target is neither an absolute URL nor a path")
    if host is not None and authority(parts.scheme, host) != authority(
        parts.scheme, parts.netloc.rpartition("@")[2]
    ):
        raise SignatureError("Host header does not name this server")
    return target, _request_target(parts)


def _request_target(parts: SplitResult) -> str:
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def verify_request(
    method: str,
    target: str,
    headers: HeaderSource,
    body: bytes | None,
    public_key: PublicKey,
    *,
    now: datetime | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
    label: str | None = None,
    parsed: ParsedSignature | None = None,
) -> VerifiedSignature:
    """Verify an incoming request's signature with the signer's `public_key`.

    `target` is the request's absolute URL, or its raw path and query (aiohttp's
    `request.raw_path`, not the decoded `path_qs`), in which case the URL is
    `https://<Host header><target>`. The caller must have fetched `public_key` for
    `parse_signature(headers).key_id`.

    Checks, in order: the algorithm claim against the key type, the coverage policy, the date
    window (`max_age` into the past, `max_future_skew` into the future, against `now`,
    default the current time), the signature, then every signed digest header against `body`.
    Raises `SignatureError` on any failure.
    """
    view = Headers(headers)
    # `parsed`: what parse_signature(headers, label=label) returned, when the caller has it.
    parsed = parsed if parsed is not None else _parse(view, label)
    algorithm = _pin(parsed, public_key)
    method = method.upper()
    body = body if body is not None else b""
    _require_coverage(parsed, method in BODY_METHODS or bool(body), view)
    created = _check_times(parsed, view, as_utc(now), max_age, max_future_skew)
    url, request_target = _target(target, view)

    detail = parsed._detail
    if isinstance(detail, sig_cavage.CavageSignature):
        data = sig_cavage.signing_string(
            detail.covered,
            method=method,
            request_target=request_target,
            headers=view,
            created=detail.created,
            expires=detail.expires,
        )
        sig_cavage.verify_with_key(public_key, data, detail.signature)
    else:
        sig_rfc9421.verify(
            detail, method=method, url=url, headers=view, public_key=public_key, algorithm=algorithm
        )

    for name in _DIGEST_HEADERS:
        if name in parsed.covered:
            value = view.get(name)
            if value is None:
                raise SignatureError(f"signed {name} header is missing")
            DIGEST_CHECKERS[name](value, body)
    return VerifiedSignature(parsed.key_id, parsed.scheme, algorithm, parsed.covered, created)


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign an outgoing request the draft-cavage way; return every header to send.

    The result is `headers` with Host, Date, Digest (when there is a body, or for POST, PUT
    and PATCH) and Signature set, replacing any the caller gave. The signature covers
    `(request-target) host date digest`; without a body `(request-target) host date`, plus
    `accept` if the caller sends one.
    """
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise TypeError("draft-cavage rsa-sha256 signing needs an RSA private key")
    method = method.upper()
    parts, host = url_parts(url)
    replaced = {"host", "date", "digest", "signature"}
    out = {name: value for name, value in headers.items() if name.lower() not in replaced}
    out["Host"] = host
    out["Date"] = email.utils.format_datetime(as_utc(now).replace(microsecond=0), usegmt=True)
    covered = ["(request-target)", "host", "date"]
    if body is not None or method in BODY_METHODS:
        out["Digest"] = digest_header(body or b"")
        covered.append("digest")
    elif any(name.lower() == "accept" for name in out):
        covered.append("accept")
    data = sig_cavage.signing_string(
        covered, method=method, request_target=_request_target(parts), headers=Headers(out)
    )
    signature = sig_cavage.sign_rsa_sha256(private_key, data)
    out["Signature"] = sig_cavage.format_header(key_id, "rsa-sha256", covered, signature)
    return out


def load_public_key_pem(pem: str, *, min_rsa_bits: int = 2048) -> PublicKey:
    """Parse a peer's `publicKeyPem` (SPKI `PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`).

    Returns an RSA or Ed25519 public key; refuses other key types, RSA keys shorter than
    `min_rsa_bits` and anything unreadable with `SignatureError`.
    """
    if not isinstance(pem, str) or len(pem) > MAX_FIELD_LENGTH:
        raise SignatureError("public key is not a PEM text of sensible size")
    try:
        key = load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SignatureError("public key is not a readable PEM key") from exc
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < min_rsa_bits:
            raise SignatureError(f"RSA key of {key.key_size} bits is too short")
        return key
    raise SignatureError("public key is neither RSA nor Ed25519")
