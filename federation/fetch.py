"""Fetching ActivityPub documents (and WebFinger / NodeInfo JSON) from peers, safely.

`Fetcher.fetch_object(url)` makes a signed GET asking for ActivityStreams, and returns the
document only if every guard holds:

* every request — each redirect hop included — goes through the node's outbound gate
  (`federation.gate`): the URL must be one the node's address policy admits (https; http on
  development nodes; no user-info; a canonical IP literal or a name), the node's trust policy
  is asked whether the host may be contacted at all, and every connection goes through the
  guarded resolver and socket factory (`federation.addresses`);
* redirects are followed by hand, at most `max_redirects`, and only within the origin first
  asked for (a peer answers for its own origin, not for someone else's) — WebFinger excepted,
  whose every hop the gate asks about again;
* the response is `200` with an ActivityStreams content type: `application/activity+json`, or
  `application/ld+json` with the ActivityStreams profile. Plain `application/json` is refused:
  every ActivityPub server we federate with (Mastodon, GoToSocial, Akkoma, Misskey, Atrium)
  serves one of the two, and a generic JSON file on a peer's host (an upload, an API answer)
  must not pass for an object;
* the body is read as a stream and refused past `max_bytes` (413) — decompressed bytes are
  counted, and gzip is inflated in bounded steps, so a compression bomb is stopped after
  `max_bytes`, not after inflating it all; JSON nesting deeper than `max_depth` is refused
  before parsing;
* the document's `id` is the URL finally fetched (fragments aside), so a peer cannot serve an
  object in another's name;
* everything — connects, redirects, a server that drips its body a byte at a time — happens
  within one `deadline` (504);
* a `FetchBudget` shared by the fetches made for one incoming activity (reply chains,
  collections) is charged for every request, redirects included (429 when spent).

`fetch_json(url)` is the same without signature and `id` check, for WebFinger and NodeInfo.
`fetch_bytes(url, max_bytes=…)` reads bytes of any type (an attachment) under the same gate,
deadline and stream cap, following redirects across origins (each hop asked about again).
Failures are `FetchError(reason, status)` (see `federation.addresses.FetchError`).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from email.message import Message
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from federation.addresses import FetchError, refusal_in
from federation.gate import OutboundGate, Purpose

__all__ = [
    "ACCEPT_ACTIVITY",
    "ACCEPT_JSON",
    "AS_PROFILE",
    "FetchBudget",
    "FetchError",
    "Fetched",
    "Fetcher",
    "Purpose",
    "Signer",
]

AS_PROFILE = "https://www.w3.org/ns/activitystreams"
ACCEPT_ACTIVITY = f'application/activity+json, application/ld+json; profile="{AS_PROFILE}"'
ACCEPT_JSON = "application/jrd+json, application/json"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_T = TypeVar("_T")


@dataclass(frozen=True)
class Fetched:
    """Bytes fetched (`Fetcher.fetch_bytes`): from where in the end, and the type the host claimed."""

    url: str
    content_type: str
    body: bytes

# A signer gets the method, the URL and the headers about to be sent, and returns the headers
# to add (Signature, Date, …). It may be a coroutine function.
Signer = Callable[[str, str, Mapping[str, str]], Mapping[str, str] | Awaitable[Mapping[str, str]]]


@dataclass
class FetchBudget:
    """How many requests the fetches made on behalf of one thing (an incoming activity) may
    still send. Every request counts, redirects included."""

    max_fetches: int
    remaining: int = field(init=False)

    def __post_init__(self) -> None:
        self.remaining = self.max_fetches

    def spend(self, url: str) -> None:
        if self.remaining <= 0:
            raise FetchError(
                f"fetch budget of {self.max_fetches} requests spent; not fetching {url}", 429
            )
        self.remaining -= 1


ContentTypeCheck = Callable[[str, Mapping[str, str]], bool]


def _activity_type(ctype: str, params: Mapping[str, str]) -> bool:
    if ctype == "application/activity+json":
        return True
    return ctype == "application/ld+json" and AS_PROFILE in params.get("profile", "").split()


def _json_type(ctype: str, params: Mapping[str, str]) -> bool:
    return ctype == "application/json" or (
        ctype.startswith("application/") and ctype.endswith("+json")
    )


@dataclass(frozen=True)
class _Wanted:
    """What a fetch asks for (its Accept header) and takes: a content type `acceptable`
    admits; `expected` names those in the refusal of any other."""

    accept: str
    acceptable: ContentTypeCheck
    expected: str


_ACTIVITY = _Wanted(ACCEPT_ACTIVITY, _activity_type, "activity+json, or ld+json with the ActivityStreams profile")
_JSON = _Wanted(ACCEPT_JSON, _json_type, "application/json or application/*+json")


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


class Fetcher:
    """Fetches JSON documents from peers through the node's outbound gate. Holds no
    connection of its own."""

    def __init__(
        self,
        gate: OutboundGate,
        signer: Signer | None,
        max_bytes: int = 1_000_000,
        deadline: float = 10.0,
        max_redirects: int = 3,
        *,
        max_depth: int = 64,
    ) -> None:
        if not isinstance(gate, OutboundGate):
            raise TypeError("a Fetcher sends through an OutboundGate (federation.gate), nothing else")
        self._gate = gate
        self._policy = gate.address_policy
        self._signer = signer
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.max_redirects = max_redirects
        self.max_depth = max_depth

    async def fetch_object(
        self, url: str, *, purpose: Purpose = Purpose.OBJECT, budget: FetchBudget | None = None
    ) -> dict[str, Any]:
        """The ActivityStreams document at `url`, signed if the fetcher has a signer."""
        final_url, document = await self._fetch(
            url, _ACTIVITY, purpose=purpose, signed=True, budget=budget, cross_origin=False
        )
        object_id = document.get("id")
        if not isinstance(object_id, str):
            raise FetchError(f"document at {final_url} has no id", 422)
        if _without_fragment(object_id) != final_url:
            raise FetchError(f"document at {final_url} claims the id {object_id!r}", 422)
        return document

    async def fetch_json(
        self,
        url: str,
        *,
        purpose: Purpose = Purpose.OBJECT,
        budget: FetchBudget | None = None,
        accept: str = ACCEPT_JSON,
        signed: bool = False,
        cross_origin_redirects: bool = False,
    ) -> dict[str, Any]:
        """A JSON object (WebFinger, NodeInfo): the same guards, no `id` check, unsigned
        unless `signed`. `cross_origin_redirects` lets WebFinger follow a domain that
        delegates to another host (each hop still checked and asked about at the gate,
        never from https to http)."""
        wanted = _JSON if accept == _JSON.accept else replace(_JSON, accept=accept)
        _, document = await self._fetch(
            url, wanted, purpose=purpose, signed=signed, budget=budget, cross_origin=cross_origin_redirects
        )
        return document

    async def fetch_bytes(self, url: str, *, purpose: Purpose, max_bytes: int, signed: bool = True) -> Fetched:
        """The bytes at `url` (an attachment, an avatar), at most `max_bytes`: a
        `Content-Length` over it is refused before the body is read, and the stream is cut
        as soon as it passes it (413). Redirects may change origin — media often lives on a
        CDN — with every hop asked about at the gate and never from https to http. The
        `Content-Type` is returned as sent: the caller decides the type from the bytes."""

        async def read(response: aiohttp.ClientResponse, current: str) -> Fetched:
            if response.status != 200:
                raise FetchError(f"{current} answered {response.status} {response.reason or ''}".rstrip(),
                                 response.status if response.status in (404, 410) else 502)
            body = await self._read_body(response, current, max_bytes)
            return Fetched(current, response.headers.get("Content-Type", ""), body)

        _, fetched = await self._follow(url, "*/*", read, purpose=purpose, signed=signed, budget=None, cross_origin=True)
        return fetched

    async def _fetch(
        self,
        url: str,
        wanted: _Wanted,
        *,
        purpose: Purpose,
        signed: bool,
        budget: FetchBudget | None,
        cross_origin: bool,
    ) -> tuple[str, dict[str, Any]]:
        """(the URL finally fetched, without fragment; the JSON object found there)."""

        async def read(response: aiohttp.ClientResponse, current: str) -> dict[str, Any]:
            self._check_response(response, current, wanted.acceptable, wanted.expected)
            return self._parse(await self._read_body(response, current, self.max_bytes), current)

        return await self._follow(url, wanted.accept, read, purpose=purpose, signed=signed, budget=budget,
                                  cross_origin=cross_origin)

    async def _follow(
        self,
        url: str,
        accept: str,
        read: Callable[[aiohttp.ClientResponse, str], Awaitable[_T]],
        *,
        purpose: Purpose,
        signed: bool,
        budget: FetchBudget | None,
        cross_origin: bool,
    ) -> tuple[str, _T]:
        """GET `url` through the gate, following redirects by hand, and `read` the answer."""
        first = self._policy.check_url(url)
        current, current_str = first, _without_fragment(url)
        try:
            async with asyncio.timeout(self.deadline):
                for _ in range(self.max_redirects + 1):
                    if budget is not None:
                        budget.spend(current_str)
                    headers = await self._headers(current, accept, signed)
                    try:
                        async with self._gate.request(
                            "GET", current, purpose=purpose, headers=headers
                        ) as response:
                            if response.status in REDIRECT_STATUSES:
                                current = self._redirect_target(
                                    response, current, first, cross_origin
                                )
                                current_str = str(current)
                                continue
                            return current_str, await read(response, current_str)
                    except aiohttp.ClientError as exc:
                        raise self._client_failure(exc, current_str) from exc
                raise FetchError(f"more than {self.max_redirects} redirects from {url}", 502)
        except TimeoutError as exc:
            raise FetchError(
                f"no complete answer from {current_str} within {self.deadline:g} s", 504
            ) from exc

    async def _headers(self, url: URL, accept: str, signed: bool) -> dict[str, str]:
        headers = {
            "Accept": accept,
            "Accept-Encoding": "gzip",
            "Host": url.host_port_subcomponent or "",
        }
        if signed and self._signer is not None:
            extra = self._signer("GET", str(url), dict(headers))
            if inspect.isawaitable(extra):
                extra = await extra
            headers.update(extra)
        return headers

    def _redirect_target(
        self, response: aiohttp.ClientResponse, current: URL, first: URL, cross_origin: bool
    ) -> URL:
        location = response.headers.get("Location")
        if not location:
            raise FetchError(f"redirect without Location from {current}", 502)
        try:
            target = current.join(URL(location))
        except ValueError as exc:
            raise FetchError(f"unusable redirect from {current} to {location!r}", 502) from exc
        target = self._policy.check_url(target)
        if cross_origin:
            if first.scheme == "https" and target.scheme != "https":
                raise FetchError(f"refusing redirect from https to {target}", 403)
        elif (target.scheme, target.host, target.port) != (first.scheme, first.host, first.port):
            raise FetchError(f"refusing redirect from {first} to another origin: {target}", 403)
        return target

    @staticmethod
    def _check_response(
        response: aiohttp.ClientResponse, url: str, acceptable: ContentTypeCheck, expected: str
    ) -> None:
        if response.status in (404, 410):
            raise FetchError(
                f"{url}: {response.status} {response.reason or ''}".rstrip(), response.status
            )
        if response.status != 200:
            raise FetchError(
                f"{url} answered {response.status} {response.reason or ''}".rstrip(), 502
            )
        raw = response.headers.get("Content-Type")
        if not raw:
            raise FetchError(f"{url} answered without a Content-Type", 422)
        message = Message()
        message["Content-Type"] = raw
        ctype = message.get_content_type()
        params = {key.lower(): value for key, value in (message.get_params() or [])[1:]}
        if not acceptable(ctype, params):
            raise FetchError(f"{url} answered {raw!r}, not {expected}", 422)
        charset = params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise FetchError(f"{url} answered in charset {charset!r}; JSON is UTF-8", 422)

    async def _read_body(self, response: aiohttp.ClientResponse, url: str, limit: int) -> bytes:
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip"):
            raise FetchError(f"{url} answered in an encoding not asked for: {encoding!r}", 502)
        length = response.content_length
        if length is not None and length > limit:
            raise FetchError(f"{url} announces {length} bytes, more than {limit}", 413)
        body = _CappedBody(limit, url, gzipped=encoding != "identity")
        async for chunk in response.content.iter_any():
            body.feed(chunk)
        return body.finish()

    def _parse(self, body: bytes, url: str) -> dict[str, Any]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FetchError(f"{url} answered with a body that is not UTF-8", 422) from exc
        _check_depth(text, self.max_depth, url)
        try:
            value = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise FetchError(f"{url} answered with invalid JSON: {exc}", 422) from exc
        if not isinstance(value, dict):
            raise FetchError(f"{url} answered with JSON that is not an object", 422)
        return value

    @staticmethod
    def _client_failure(exc: aiohttp.ClientError, url: str) -> FetchError:
        refusal = refusal_in(exc)
        if refusal is not None:
            return FetchError(refusal.reason, 403)
        if isinstance(exc, TimeoutError):
            return FetchError(f"timed out fetching {url}", 504)
        if isinstance(exc, aiohttp.InvalidURL):
            return FetchError(f"unusable URL {url}: {exc}", 400)
        return FetchError(f"fetching {url} failed: {exc.__class__.__name__}: {exc}", 502)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Strings (with their escapes) go first, so that brackets inside them do not count.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _check_depth(text: str, max_depth: int, url: str) -> None:
    depth = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > max_depth:
                raise FetchError(f"{url} answered with JSON nested deeper than {max_depth}", 422)
        else:
            depth -= 1


class _CappedBody:
    """Collects a body, refusing it once more than `limit` bytes arrive or come out of gzip.

    Inflation is bounded per step (`max_length`), so no call ever produces more than the
    remaining allowance plus one byte."""

    def __init__(self, limit: int, url: str, *, gzipped: bool) -> None:
        self._limit = limit
        self._url = url
        self._parts: list[bytes] = []
        self._size = 0
        self._received = 0
        self._inflater = zlib.decompressobj(wbits=31) if gzipped else None

    def feed(self, data: bytes) -> None:
        self._received += len(data)
        if self._received > self._limit:
            raise FetchError(f"{self._url} sent more than {self._limit} bytes", 413)
        if self._inflater is None:
            self._append(data)
            return
        try:
            while data:
                if self._inflater.eof:  # a further gzip member
                    self._inflater = zlib.decompressobj(wbits=31)
                self._append(self._inflater.decompress(data, self._limit - self._size + 1))
                data = (
                    self._inflater.unused_data
                    if self._inflater.eof
                    else self._inflater.unconsumed_tail
                )
        except zlib.error as exc:
            raise FetchError(f"{self._url} sent a malformed gzip body: {exc}", 502) from exc

    def _append(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise FetchError(f"{self._url} sent a body larger than {self._limit} bytes", 413)
        if data:
            self._parts.append(data)

    def finish(self) -> bytes:
        if self._inflater is not None and not self._inflater.eof:
            raise FetchError(f"{self._url} sent a truncated gzip body", 502)
        return b"".join(self._parts)
