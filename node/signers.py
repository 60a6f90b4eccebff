"""A short-lived, per-process cache of inbound signers: key id → the actor row and its parsed
public key.

Every signed request used to read the signer from the database and parse its PEM; at
thousands of requests a second from a few busy peers that was most of the inbox's cost (the
benchmarks showed it). Entries live `TTL` seconds, so a key rotated or an account suspended by
another process of the node is seen within that time; this process drops an entry at once when
it stores the actor again or moderates it, and the inbox worker re-checks suspension from the
database before acting on anything.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from federation.signatures import PublicKey, load_public_key_pem
from storage.models import Account

TTL = 10.0  # seconds
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Signer:
    account: Account  # detached: read its columns, never lazy-load from it
    key: PublicKey
    expires: float


class SignerCache:
    def __init__(self, ttl: float = TTL, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._entries: OrderedDict[str, Signer] = OrderedDict()

    def get(self, key_id: str) -> Signer | None:
        entry = self._entries.get(key_id)
        if entry is None:
            return None
        if entry.expires < time.monotonic():
            del self._entries[key_id]
            return None
        return entry

    def put(self, key_id: str, account: Account) -> Signer:
        """Remember `account` as the holder of `key_id`; its PEM is parsed here, once (raises
        SignatureError when it is unusable, and nothing is cached)."""
        signer = Signer(account, load_public_key_pem(account.public_key_pem or ""), time.monotonic() + self.ttl)
        self._entries[key_id] = signer
        self._entries.move_to_end(key_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return signer

    def forget_actor(self, actor_uri: str | None) -> None:
        """Drop every entry of an actor (stored again, suspended, silenced…)."""
        for key_id in [k for k, v in self._entries.items() if v.account.actor_uri == actor_uri]:
            del self._entries[key_id]

    def clear(self) -> None:
        self._entries.clear()
