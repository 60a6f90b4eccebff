"""The node's one way out: every request it makes to another host passes here.

`OutboundGate` owns the node's only outbound HTTP session (built by
`federation.addresses.make_session`, so the address guard holds at the resolver and the
socket) and sends each request through `request()`, which first

1. checks the URL against the address policy (`AddressPolicy.check_url`: scheme, user-info,
   IP literals in odd forms), then
2. awaits `admit(url, purpose)`, a callable the node passes in: it asks the trust policy
   whether this host may be contacted at all, audits a refusal and raises `ContactRefused`.
   This layer knows nothing of policy; it only guarantees that the question is asked, for
   every request, before any connection is made.

The gate never follows a redirect itself: a caller that follows one (the fetcher, by hand)
makes the next hop through `request()` again, so the new host is asked again — and so is the
host a WebFinger `href` names.

The gate also names the node on every request it sends: its `User-Agent` is the one the gate
was built with (`node.contact.open_gate` derives it from the node's own base URL), replacing
any a caller passed, so a delivery says who sent it as a fetch does. `tests/security/test_one_http_client.py` fails if any other
module of the application builds or calls an HTTP client.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from enum import StrEnum
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from federation.addresses import AddressPolicy, FetchError, make_session
from storage import batches

__all__ = ["DEFAULT_USER_AGENT", "Admit", "ContactRefused", "OutboundGate", "Purpose"]

# The name of a gate built below the node (tests, tools); a node's gate names the node.
DEFAULT_USER_AGENT = "Atrium"


class Purpose(StrEnum):
    """Why the node contacts a host: named in the audit entry of a refusal."""

    WEBFINGER = "webfinger"  # a handle looked up (`user@host` to its actor)
    ACTOR = "actor"  # an actor document
    KEY = "key"  # a signer's key (inbox, signed GETs)
    OBJECT = "object"  # a post or other object
    COLLECTION = "collection"  # an outbox, followers, replies… collection
    LOOKUP = "lookup"  # a URL a signed-in user asked the node to resolve (search)
    MOVE_CHECK = "move-check"  # the target of a Move, read for its alsoKnownAs
    REPLY_FETCH = "reply-fetch"  # the post a reply answers, and its thread
    BOOST_FETCH = "boost-fetch"  # the post a boost shares
    DELIVERY = "delivery"  # an activity POSTed to an inbox
    MEDIA = "media"  # an attachment or avatar
    NODEINFO = "nodeinfo"  # a peer's NodeInfo, read for the name it gives itself
    # The node's own OpenID provider (discovery, keys, code exchange): no peer, so admitted by
    # the node's single-sign-on settings (node/oidc.py), not by the trust policy.
    IDENTITY_PROVIDER = "identity-provider"


# Raises ContactRefused (or any FetchError) to refuse; returns to admit.
Admit = Callable[[URL, Purpose], Awaitable[None]]


class ContactRefused(FetchError):
    """The node's trust policy refused contact with a host (403), before any connection.

    `rule` names the policy rule that decided, `host` the canonical host asked about; the
    refusal has been audited by whoever raised it, so callers must not audit it again."""

    def __init__(self, reason: str, *, rule: str, host: str, purpose: Purpose) -> None:
        super().__init__(reason, 403)
        self.rule = rule
        self.host = host
        self.purpose = purpose


class OutboundGate:
    """The node's only outbound HTTP session, behind one question per request.

    Build it inside the running event loop; close it with `close()` (or `async with`).
    """

    def __init__(
        self,
        address_policy: AddressPolicy,
        admit: Admit,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        resolver: AbstractResolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.address_policy = address_policy
        self.user_agent = user_agent
        self._admit = admit
        self._session = make_session(address_policy, resolver, ssl_context)

    def request(
        self,
        method: str,
        url: str | URL,
        *,
        purpose: Purpose,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """`async with gate.request(…) as response`: one request to `url`, named by the gate's
        User-Agent, once the address policy and `admit` agree; a redirect is answered as it
        is, never followed. Raises
        FetchError (ContactRefused for a host the policy refuses) before any connection,
        aiohttp's errors after. Bodies come as sent, never inflated: a caller that reads one
        bounds it itself (`federation.fetch` inflates gzip in bounded steps)."""
        if not isinstance(purpose, Purpose):
            raise TypeError(f"purpose must be a Purpose, not {purpose!r}")
        sent = {name: value for name, value in (headers or {}).items() if name.lower() != "user-agent"}
        sent["User-Agent"] = self.user_agent  # set here so no caller can forget it
        options: dict[str, Any] = {"headers": sent, "data": data}
        if timeout is not None:
            options["timeout"] = timeout
        return _Request(self, method, url, purpose, options)

    async def _admitted(self, url: str | URL, purpose: Purpose) -> URL:
        """The URL to request, once both policies have agreed to it. Never from inside a batch
        (storage/batches.py): the job that wanted it is handled again alone, after the batch."""
        batches.deferred(f"{purpose} {url}")
        target = self.address_policy.check_url(url)
        await self._admit(target, purpose)
        return target

    def _send(self, method: str, target: URL, options: dict[str, Any]) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        return self._session.request(method, target, allow_redirects=False, auto_decompress=False, **options)

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> OutboundGate:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class _Request(AbstractAsyncContextManager[aiohttp.ClientResponse]):
    """One request through the gate: asked about on entry, sent only if admitted."""

    def __init__(self, gate: OutboundGate, method: str, url: str | URL, purpose: Purpose, options: dict[str, Any]) -> None:
        self._gate, self._method, self._url, self._purpose, self._options = gate, method, url, purpose, options

    _sent: AbstractAsyncContextManager[aiohttp.ClientResponse]  # set on entry, once admitted

    async def __aenter__(self) -> aiohttp.ClientResponse:
        target = await self._gate._admitted(self._url, self._purpose)
        self._sent = self._gate._send(self._method, target, self._options)
        return await self._sent.__aenter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await self._sent.__aexit__(exc_type, exc, tb)
