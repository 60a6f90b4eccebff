"""What every node operation needs: the database, the node's own address, and the trust view."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import TYPE_CHECKING

from node import audit, delivery_check, inbox_log, peers
from node.events import EventBus
from node.expiring import Expiring
from node.group_commit import GroupCommit
from node.media_processing import MediaLimits
from node.organization import OrgDomains
from node.policy import Policy
from node.ratelimit import Limits
from node.signers import SignerCache
from node.signing import signing_keys
from storage.db import Database
from storage.media_store import MediaStore
from storage.models import Account, Peer

if TYPE_CHECKING:
    from federation.fetch import Fetcher
    from federation.gate import OutboundGate
    from node.oidc import Provider

_NOBODY = Policy(mode="allowlist")


class MediaRemote(StrEnum):
    """What the node does with a peer's attachment: show it from the peer, or cache it here."""

    REFERENCE = "reference"
    CACHE = "cache"


def _closed_policy() -> Policy:
    return _NOBODY


@dataclass
class OwnName:
    """This node's display name as this process last read it (node.node_names keeps it
    fresh): "" while the node has none."""

    value: str = ""
    read_at: float = float("-inf")


@dataclass
class NodeContext:
    db: Database
    domain: str
    scheme: str = "https"
    max_post_chars: int = 5000
    # The trust policy in force (reloaded from policy.toml by the serving process).
    policy: Callable[[], Policy] = field(default=_closed_policy)
    # This machine's policy.toml, which the admin's editor writes (node/policy_edit.py); None
    # where the node keeps no file (tests that need none).
    policy_file: Path | None = None
    # The node's only way out (federation.gate): every request to another host asks the
    # trust policy first (node.contact). None where the node does not federate (unit tests);
    # node.contact.open_gate sets it and the fetcher together.
    gate: OutboundGate | None = None
    # Signed fetches from peers, through the gate.
    fetcher: Fetcher | None = None
    # key id -> when it was last re-fetched after a failed verification (per process)
    key_refreshes: dict[str, float] = field(default_factory=dict)
    # key id -> the re-fetch under way: requests signed with the same new key wait for it
    key_refreshing: dict[str, asyncio.Future[Account]] = field(default_factory=dict)
    # The inbox, posting and sign-in limits (settings `limits.*`; node/ratelimit.py)
    limits: Limits = field(default_factory=Limits)
    # Reverse proxies whose client-address header is believed, and that header (web/client.py)
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    proxy_header: str = "X-Forwarded-For"
    # Live news of this process's writes (posts, edits, deletes, notifications) for streaming.
    events: EventBus = field(default_factory=EventBus)
    # Inbound signers by key id, briefly (node.signers), and when each peer was last looked at
    # for a breaker to close (node.inbound): the inbox's hot path stays off the database.
    signers: SignerCache = field(default_factory=SignerCache)
    peers_heard: dict[str, float] = field(default_factory=dict)
    # Accepted activities are logged and queued in batches (node.inbox_log, node.group_commit).
    inbox_writes: GroupCommit[inbox_log.Accepted, str] = field(init=False)
    # Audit entries of concurrent deliveries, appended together (node.delivery).
    audit_writes: GroupCommit[audit.Decision, None] = field(init=False)
    # Deliveries' reads, shared (node.delivery): the ordering checks and the posts judged again
    # (node.delivery_check) of concurrent deliveries in one transaction, their signers' keys
    # in one query, a peer's health row kept for five seconds.
    delivery_reads: GroupCommit[delivery_check.Asked, delivery_check.Found] = field(init=False)
    signer_reads: GroupCommit[int | None, tuple[str | None, str] | None] = field(init=False)
    peer_reads: GroupCommit[str, Peer | None] = field(init=False)
    peer_rows: Expiring[str, Peer | None] = field(default_factory=lambda: Expiring(5.0))
    # The node's display name and its peers' names, briefly (node.node_names).
    own_name: OwnName = field(default_factory=OwnName)
    peer_names: Expiring[str, str | None] = field(default_factory=lambda: Expiring(30.0))
    peer_names_asked: Expiring[str, None] = field(default_factory=lambda: Expiring(3600.0))
    # Where media bytes live (storage.media_store: the data directory's `media/` folder, or
    # S3); None where the node keeps no media (unit tests that do not need it).
    media: MediaStore | None = None
    # Size and pixel caps of uploads (settings `media.*`; node/media_processing.py).
    media_limits: MediaLimits = field(default_factory=MediaLimits)
    # Roles that must sign in with a second factor (`auth.require_second_factor_for`, node/signin.py).
    second_factor_roles: frozenset[str] = frozenset()
    # Identity-provider groups whose members are admins / moderators (`auth.oidc.admin_groups`,
    # `moderator_groups`; node/group_roles.py): read by SCIM Groups and OIDC sign-in.
    admin_groups: tuple[str, ...] = ()
    moderator_groups: tuple[str, ...] = ()
    # The key that signs non-public media URLs (node.media_urls), read once per process.
    media_url_key: bytes | None = None
    # Peers' attachments (setting `media.remote`): kept by reference, or fetched and cached
    # (node.media_remote) when `media` is set.
    media_remote: MediaRemote = MediaRemote.REFERENCE
    # Single sign-on with the company's OpenID provider (`[auth.oidc]`, node/oidc.py); None
    # when the node has none. Whether passwords sign in (`auth.password_sign_in`), and whether
    # the break-glass admins' still do when they do not (`auth.admin_password_sign_in`).
    oidc: Provider | None = None
    password_sign_in: bool = True
    admin_password_sign_in: bool = True

    def __post_init__(self) -> None:
        self.inbox_writes = GroupCommit(lambda batch: inbox_log.write(self.db, batch))
        self.audit_writes = GroupCommit(lambda batch: audit.append_many(self.db, batch))
        self.delivery_reads = GroupCommit(lambda batch: delivery_check.read_many(self.db, batch))
        self.signer_reads = GroupCommit(lambda batch: signing_keys(self.db, batch))
        self.peer_reads = GroupCommit(lambda batch: peers.get_many(self.db, batch))

    def org_domains(self) -> OrgDomains:
        """The peers of the organisation under the policy in force (node/organization.py):
        derived from `policy`, never configured apart from it."""
        return self.policy().organization_domains()

    @property
    def display_name(self) -> str:
        """What people read as this node's name: its display name, else its domain. As last
        read: a page refreshes it first (node.node_names.own_name)."""
        return self.own_name.value or self.domain

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    def actor_uri(self, username: str) -> str:
        return f"{self.base_url}/users/{username}"

    def profile_url(self, username: str) -> str:
        return f"{self.base_url}/@{username}"

    def post_uri(self, username: str, post_id: int) -> str:
        return f"{self.base_url}/users/{username}/statuses/{post_id}"

    def post_url(self, username: str, post_id: int) -> str:
        return f"{self.base_url}/@{username}/{post_id}"

    def tag_url(self, name: str) -> str:
        return f"{self.base_url}/tags/{name}"
