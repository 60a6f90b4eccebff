"""What every node operation needs: the database, the node's own address, and the trust view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from storage.db import Database


def _no_peers() -> frozenset[str]:
    return frozenset()


@dataclass
class NodeContext:
    db: Database
    domain: str
    scheme: str = "https"
    max_post_chars: int = 5000
    # Domains this node trusts as `organization` (from the trust policy; none by default).
    org_domains: Callable[[], frozenset[str]] = field(default=_no_peers)

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
