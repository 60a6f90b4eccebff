"""The node's rate limits, and how each holds across the node's processes.

The inbox (the hot path: about a thousand requests a second a process) is limited by
in-process token buckets, never by a database round trip per request:

- before anything else, per client address (web/client.py: the socket's peer, or the address
  a trusted proxy names), so a flood costs no key fetch and no signature check;
- once the signature is verified, per verified peer domain, so a request that only *names* a
  peer in its key id never spends that peer's allowance.

Each process holds a share of the node's budget: 1/N of the rate and of the burst (at least
one token), N being the processes serving HTTP that are alive in the database
(node/serving.py, refreshed every `serving.HEARTBEAT` seconds). While N is steady the node as
a whole admits a key at most `rate × T + max(burst, N)` requests in any T seconds — the
configured bucket, however a balancer spreads the requests. The bound errs towards refusing:
a key whose requests reach only k of the N processes (a balancer pinning a client to one
process) gets k/N of its budget, and a process that stops without a word leaves its share
unused until its row is stale (`serving.STALE`). The one excess: a process that starts brings
a full share that the others learn of within one heartbeat, so for that long the node may
admit one share (`burst / N` plus `rate / N` a second) more.

Posting and sign-in are a few requests a minute: their state is in the database
(node/shared_limits.py), exact across every process.

The buckets are hand-written (a dozen lines) because they run inside the request with no
store; their table is capped, so a flood of made-up keys cannot grow it without end.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from node.settings import Settings
from node.shared_limits import SharedBuckets, SigninLimit
from storage.db import Database
from storage.errors import RateLimited

__all__ = ["Limits", "RateLimited", "TokenBuckets", "address_key"]

MAX_TRACKED = 10_000  # buckets kept; the least recently used is forgotten beyond this
IPV6_PREFIX = 64  # one IPv6 client holds a whole /64: limits key on it, not on each address


@lru_cache(maxsize=MAX_TRACKED)  # parsing an address costs more than the bucket: once per address
def address_key(address: str) -> str:
    """What a limit on a client address counts: the address (an IPv4-mapped IPv6 one as
    IPv4), an IPv6 address's /64, anything else (a proxy's `unknown`) as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


@dataclass
class TokenBuckets:
    """`rate` tokens a second up to `burst` for the node, of which this process holds
    1/`shares`; a key starts full. rate 0 turns the limit off."""

    rate: float
    burst: int
    what: str = "requests"
    clock: Callable[[], float] = time.time
    max_tracked: int = MAX_TRACKED
    shares: int = 1  # the serving processes of the node (node/serving.py sets it)
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def take(self, key: str) -> None:
        """Spend one token for `key`, or raise RateLimited saying when the next one comes."""
        if self.rate <= 0 or self.burst <= 0:
            return
        rate = self.rate / self.shares
        burst = max(1.0, self.burst / self.shares)
        now = self.clock()
        tokens, then = self._buckets.pop(key, (burst, now))
        tokens = min(burst, tokens + max(0.0, now - then) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            raise RateLimited(f"too many {self.what} from {key}; slow down", (1.0 - tokens) / rate)
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > self.max_tracked:
            self._buckets.popitem(last=False)


@dataclass
class Limits:
    """The node's rate limits. `Limits()` limits nothing but sign-in: a context made without
    settings (benchmarks, tests, the CLI) is unthrottled; `atrium serve` uses `from_settings`,
    whose defaults (`limits.*` in docs/configuration.md) apply to every real node. Failed
    sign-ins are limited everywhere: every way of signing in (web UI, OAuth password grant,
    the authorize form, the first-run page) goes through node.accounts.authenticate or the
    same `signin` limit, per (login, client address) and per client address."""

    inbox_per_address_per_s: float = 0.0
    inbox_per_address_burst: int = 0
    inbox_per_peer_per_s: float = 0.0
    inbox_per_peer_burst: int = 0
    statuses_per_account_per_hour: float = 0.0
    statuses_per_account_burst: int = 0
    signin: SigninLimit = field(default_factory=SigninLimit)
    clock: Callable[[], float] = time.time  # a wall clock: the database-held limits share it
    inbox_address: TokenBuckets = field(init=False)
    inbox_peer: TokenBuckets = field(init=False)
    statuses: SharedBuckets = field(init=False)

    def __post_init__(self) -> None:
        self.inbox_address = TokenBuckets(self.inbox_per_address_per_s, self.inbox_per_address_burst,
                                          "requests", self.clock)
        self.inbox_peer = TokenBuckets(self.inbox_per_peer_per_s, self.inbox_per_peer_burst, "deliveries", self.clock)
        self.statuses = SharedBuckets(self.statuses_per_account_per_hour / 3600.0, self.statuses_per_account_burst,
                                      "posts", self.clock)
        self.signin.clock = self.clock

    @property
    def serving_processes(self) -> int:
        return self.inbox_address.shares

    def share(self, processes: int) -> None:
        """This process is one of `processes` serving the node: hold that share of the inbox."""
        self.inbox_address.shares = self.inbox_peer.shares = max(1, processes)

    def inbox_from(self, client: str) -> None:
        """Charge a request to the inbox to its client address (before anything is read)."""
        self.inbox_address.take(address_key(client))

    def inbox_by(self, domain: str) -> None:
        """Charge a delivery to the peer domain whose signature it carries (once verified)."""
        self.inbox_peer.take(domain)

    async def signin_attempt(self, db: Database, login: str | None, client: str) -> None:
        """Count a sign-in try from `client` (RateLimited while it must wait); see SigninLimit."""
        await self.signin.attempt(db, login, address_key(client))

    async def signin_succeeded(self, db: Database, login: str | None, client: str) -> None:
        await self.signin.succeeded(db, login, address_key(client))

    async def post_by(self, db: Database, account_id: int) -> None:
        """Charge a post to its author, node-wide."""
        await self.statuses.take(db, f"account {account_id}")

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(float(settings.inbox_per_address_per_s), settings.inbox_per_address_burst,
                   float(settings.inbox_per_peer_per_s), settings.inbox_per_peer_burst,
                   float(settings.statuses_per_account_per_hour), settings.statuses_per_account_burst)
