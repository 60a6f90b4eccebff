"""The machinery of the leak sweep (tests/security/test_leak_sweep.py): the routes a node's
router serves, their URLs with every parameter filled, and readers that ask them over HTTP.

Nothing here knows which route is which: routes come from `app.router`, parameters are filled
by name from the sweep's table, and a response is judged only by which canaries it carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from aiohttp.web_urldispatcher import StaticResource
from cryptography.hazmat.primitives.asymmetric import rsa
from yarl import URL

from federation.signatures import sign_request

_PLACEHOLDER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
STATIC_FILE = "filename"  # the parameter a static resource's file names fill


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # "/users/{username}/statuses/{post_id}", regular expressions removed
    resource: str  # aiohttp's own spelling, with any regular expressions

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(_PLACEHOLDER.findall(self.template))


def served_routes(app: web.Application) -> list[Route]:
    """Every (method, path template) the application's router answers, in the router's order.
    A static directory is a route `{prefix}/{filename}`."""
    out = []
    for route in app.router.routes():
        resource = route.resource
        if resource is None:
            continue
        info = resource.get_info()
        if isinstance(resource, StaticResource):
            template = f"{info['prefix'].rstrip('/')}/{{{STATIC_FILE}}}"
        else:
            template = str(info.get("formatter") or info.get("path"))
        out.append(Route(route.method, template, resource.canonical))
    return out


def static_files(app: web.Application) -> list[str]:
    files: list[str] = []
    for resource in app.router.resources():
        if isinstance(resource, StaticResource):
            root = Path(resource.get_info()["directory"])
            files += [str(p.relative_to(root)) for p in sorted(root.rglob("*")) if p.is_file()]
    return files


Fill = Callable[[], Sequence[str]]


def fill(text: str, fillers: Mapping[str, Fill]) -> list[str] | None:
    """`text` with each `{name}` replaced, for every combination of the fillers' values; None
    when a name has no filler."""
    names = list(dict.fromkeys(_PLACEHOLDER.findall(text)))
    if any(n not in fillers for n in names):
        return None
    bare = _PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", text)
    values = [list(fillers[n]()) for n in names]
    return [string.Formatter().vformat(bare, (), dict(zip(names, combo, strict=True))) for combo in itertools.product(*values)]


def missing(text: str, fillers: Mapping[str, Fill]) -> list[str]:
    return [n for n in dict.fromkeys(_PLACEHOLDER.findall(text)) if n not in fillers]


def fill_fields(fields: Mapping[str, str], fillers: Mapping[str, Fill]) -> list[dict[str, str]]:
    """Every filling of a body's fields (their placeholders filled together, as a path's)."""
    keys = list(fields)
    if not keys:
        return [{}]
    return [dict(zip(keys, text.split("\x00"), strict=True)) for text in fill("\x00".join(fields.values()), fillers) or []]


@dataclass(frozen=True)
class Asked:
    """A route whose answer can carry a post: asked with these fields (filled like paths)."""

    fields: dict[str, str] = field(default_factory=dict)
    destructive: bool = False  # asked last: had it wrongly succeeded, the posts would be gone


@dataclass(frozen=True)
class LeftOut:
    reason: str


@dataclass
class Reader:
    """One kind of reader and how its requests are made: a bearer token, a signed-in browser's
    cookie (and form token), or an actor's key on a peer that signs each request."""

    name: str
    client: aiohttp.ClientSession
    accepts: tuple[str, ...]  # what this kind of reader asks for: pages, ActivityPub, JSON
    token: str | None = None
    csrf: str | None = None  # a browser's form token: sent with each web UI form
    key_id: str | None = None
    key: rsa.RSAPrivateKey | None = None

    def headers(self, method: str, url: str, accept: str, body: bytes | None, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.key_id and self.key:
            headers = sign_request(method, url, headers, body, self.key_id, self.key)
        return headers

    def body(self, path: str, fields: Mapping[str, str]) -> tuple[bytes | None, str | None]:
        """A form for the web UI (with the form token when this reader has one), JSON for the
        rest; nothing when there is nothing to send."""
        if path.startswith(("/api/", "/oauth/")):
            return (json.dumps(dict(fields)).encode(), "application/json") if fields else (None, None)
        form = {**fields, **({"csrf": self.csrf} if self.csrf else {})}
        return (urlencode(form).encode(), "application/x-www-form-urlencoded") if form else (None, None)


@dataclass(frozen=True)
class Request:
    reader: Reader
    method: str
    url: str
    accept: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    """What the sweep asks, and what it could not: a route with a parameter no filler knows,
    another method the table does not name, a table entry no route has."""

    gets: list[Request] = field(default_factory=list)
    others: list[Request] = field(default_factory=list)
    destructive: list[Request] = field(default_factory=list)
    unfilled: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


def plan(routes: Sequence[Route], base_url: str, readers: Sequence[Reader], fillers: Mapping[str, Fill],
         queries: Mapping[str, Sequence[str]], other_methods: Mapping[tuple[str, str], Asked | LeftOut]) -> Plan:
    """Every request of the sweep: each GET route (HEAD is GET's handler without the body) by
    each reader in each of its `Accept`s, with every filling of its parameters and each of its
    queries; each other method the table asks, by each reader."""
    out = Plan()
    gets = {r.resource for r in routes if r.method == "GET"}
    for route in routes:
        if route.method == "HEAD" and route.resource in gets:
            continue
        entry = other_methods.get((route.method, route.template)) if route.method != "GET" else Asked()
        if entry is None:
            out.unlisted.append(f"{route.method} {route.template}")
            continue
        if isinstance(entry, LeftOut):
            continue
        for query in queries.get(route.template, [""]):
            target = route.template + (f"?{query}" if query else "")
            if gaps := missing(target, fillers):
                out.unfilled.append(f"{route.method} {target}: no filler for {', '.join(gaps)}")
                continue
            for url in fill(target, fillers) or []:
                if route.method == "GET":
                    out.gets += [Request(r, "GET", base_url + url, a) for r in readers for a in r.accepts]
                    continue
                into = out.destructive if entry.destructive else out.others
                into += [Request(r, route.method, base_url + url, r.accepts[-1], f)
                         for f in fill_fields(entry.fields, fillers) for r in readers]
    served = {(r.method, r.template) for r in routes}
    out.stale = [f"{m} {t}" for m, t in other_methods if (m, t) not in served]
    return out


@dataclass
class Answer:
    reader: str
    method: str
    url: str
    accept: str
    status: int
    text: str

    def where(self) -> str:
        return f"{self.method} {self.url} (Accept: {self.accept}) -> {self.status}"


@dataclass
class Live:
    """An answer that is a live event stream: what it carried, read until it is closed."""

    reader: str
    url: str
    status: int
    chunks: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    @property
    def text(self) -> str:
        return "".join(self.chunks)


EVENT_STREAM = "text/event-stream"


async def ask(request: Request, live: list[Live]) -> Answer:
    """One request; an event stream is left open in `live` (and answered empty here)."""
    reader, method, url, accept, fields = request.reader, request.method, request.url, request.accept, request.fields
    path = URL(url, encoded=True).path
    body, content_type = reader.body(path, fields) if method != "GET" else (None, None)
    headers = reader.headers(method, url, accept, body, content_type)
    # Redirects are not followed: every route a redirect names is swept in its own right, and
    # a signature covers the URL it was made for only.
    response = await reader.client.request(method, URL(url, encoded=True), headers=headers, data=body,
                                           allow_redirects=False, timeout=aiohttp.ClientTimeout(total=30))
    if response.content_type == EVENT_STREAM:
        stream = Live(reader.name, url, response.status)

        async def read() -> None:
            # The request's total timeout may end a stream kept open longer on a loaded machine:
            # what it carried until then is kept and judged like the rest.
            with contextlib.suppress(aiohttp.ClientError, asyncio.CancelledError, asyncio.TimeoutError):
                async for chunk in response.content.iter_any():
                    stream.chunks.append(chunk.decode(errors="replace"))
            response.close()

        stream.task = asyncio.create_task(read())
        live.append(stream)
        return Answer(reader.name, method, url, accept, response.status, "")
    try:
        text = "\n".join(f"{k}: {v}" for k, v in response.headers.items()) + "\n\n" + await response.text(errors="replace")
        return Answer(reader.name, method, url, accept, response.status, text)
    finally:
        response.release()


async def ask_all(requests: Sequence[Request], live: list[Live], concurrency: int = 8) -> list[Answer]:
    gate = asyncio.Semaphore(concurrency)

    async def one(request: Request) -> Answer:
        async with gate:
            return await ask(request, live)

    return list(await asyncio.gather(*(one(r) for r in requests)))


async def join_websocket(reader: Reader, url: str, subscriptions: Iterable[Mapping[str, str]],
                         live: list[Live]) -> aiohttp.ClientWebSocketResponse:
    """The WebSocket form of the streaming API as `reader` (its token), subscribed to each
    stream, read into `live`."""
    ws = await reader.client.ws_connect(url, headers={"Authorization": f"Bearer {reader.token}"})
    for subscription in subscriptions:
        await ws.send_json({"type": "subscribe", **subscription})
    stream = Live(reader.name, url, 101)

    async def read() -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                stream.chunks.append(msg.data)

    stream.task = asyncio.create_task(read())
    live.append(stream)
    return ws


async def close_streams(live: Iterable[Live]) -> None:
    for stream in live:
        if stream.task is not None:
            stream.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stream.task
