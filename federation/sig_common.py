"""Pieces shared by the HTTP-signature modules: the error type, header canonicalisation and
the date window.

Public names are re-exported by `federation.signatures`; import them from there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import SplitResult, urlsplit

import http_sf

from storage.errors import AtriumError

#: What a caller may pass as request headers: a mapping (a multidict such as aiohttp's
#: `CIMultiDictProxy` counts, its `items()` yields every field line) or (name, value) pairs.
HeaderSource = Mapping[str, str] | Iterable[tuple[str, str]]

#: The longest signature-related field value accepted (Signature, Signature-Input,
#: Authorization, Digest, Content-Digest). A real one is well under 2 KiB.
MAX_FIELD_LENGTH = 8192

#: Methods whose requests have a body: their signatures cover its digest, even when empty.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

DEFAULT_MAX_AGE = timedelta(hours=12)
DEFAULT_MAX_FUTURE_SKEW = timedelta(hours=1)

_OBS_FOLD = re.compile(r"[ \t]*\r?\n[ \t]+")


class SignatureError(AtriumError):
    """A request's signature, digest or date cannot be accepted.

    `reason` is safe to log and to return to the peer; `status` is the HTTP status to answer.
    """

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason, status=status)


def canonical_value(value: str) -> str:
    """A field value as both signature specs sign it: obsolete line folding replaced by one
    space, leading and trailing whitespace trimmed. A bare CR or LF left after unfolding
    would let a value forge extra lines of a signing string, so it is refused."""
    value = _OBS_FOLD.sub(" ", value).strip(" \t")
    if "\r" in value or "\n" in value:
        raise SignatureError("a header value contains a line break")
    return value


class Headers:
    """A read-only, case-insensitive view of request headers.

    Names are lowercased; several field lines of one name are kept in order and joined
    with ", " on lookup (draft-cavage-12 section 2.3, RFC 9421 section 2.1).
    """

    def __init__(self, source: HeaderSource) -> None:
        pairs: Iterable[tuple[str, str]] = source.items() if isinstance(source, Mapping) else source
        self._pairs: list[tuple[str, str]] = []
        self._lines: dict[str, list[str]] = {}
        for name, value in pairs:
            if not isinstance(name, str) or not isinstance(value, str):
                raise SignatureError("header names and values must be text")
            self._pairs.append((name, value))
            self._lines.setdefault(name.strip().lower(), []).append(value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lines

    def lines(self, name: str) -> list[str]:
        """Every field line of `name`, canonicalised, in order (empty if absent)."""
        return [canonical_value(v) for v in self._lines.get(name.lower(), [])]

    def get(self, name: str) -> str | None:
        """The canonical combined value of `name`, or None if the request has none."""
        if name.lower() not in self._lines:
            return None
        return ", ".join(self.lines(name))

    def single(self, name: str, *, limit: int = MAX_FIELD_LENGTH) -> str | None:
        """The value of a field that must occur at most once and be at most `limit` long."""
        raw = self._lines.get(name.lower())
        if raw is None:
            return None
        if len(raw) > 1:
            raise SignatureError(f"more than one {name} header")
        if len(raw[0]) > limit:
            raise SignatureError(f"{name} header is too long")
        return canonical_value(raw[0])

    def pairs(self) -> Iterator[tuple[str, str]]:
        """The original (name, value) field lines, in order."""
        return iter(self._pairs)


def authority(scheme: str, host: str) -> str:
    """`host[:port]` lowercased, without the scheme's default port."""
    host = host.lower()
    default = {"http": ":80", "https": ":443"}.get(scheme)
    return host.removesuffix(default) if default and host.endswith(default) else host


def url_parts(url: str) -> tuple[SplitResult, str]:
    """The URL's parts and its Host header value (lowercased, default port dropped)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    _ = parts.port  # raises ValueError for a malformed port
    return parts, authority(parts.scheme, parts.netloc.rpartition("@")[2])


def as_utc(moment: datetime | None) -> datetime:
    """`moment` (a naive one is taken as UTC), or the current time, in UTC."""
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_window(
    moment: datetime, now: datetime, *, max_age: timedelta, max_future_skew: timedelta, what: str
) -> None:
    """Refuse a signature time too far in the past or the future."""
    if moment > now + max_future_skew:
        raise SignatureError(f"{what} is in the future")
    if moment < now - max_age:
        raise SignatureError(f"{what} is too old")


def from_timestamp(value: int | float, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureError(f"{what} is not a valid time") from exc


def parse_dictionary(value: str, name: str, on_duplicate: Callable[[str, str], None]) -> dict[str, Any]:
    """A Structured Field Dictionary (RFC 8941), the value of header `name`; `on_duplicate(key,
    context)` judges a key given twice. Anything unreadable is a SignatureError: http-sf raises
    StructuredFieldError (a ValueError) on bad syntax, and anything else it might raise on
    hostile input must still come out as a refusal."""
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary", on_duplicate_key=on_duplicate)
    except SignatureError:
        raise
    except Exception as exc:
        raise SignatureError(f"malformed {name} header") from exc
    if not isinstance(parsed, dict):
        raise SignatureError(f"malformed {name} header")
    return parsed
