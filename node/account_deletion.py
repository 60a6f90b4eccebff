"""Deleting an account: the node's one way, for the person (settings, re-authenticated), the
admin (`atrium user delete`), SCIM's `DELETE` and a peer's actor `Delete`.

CONTRACT (foundation; the implementation lands with the account-deletion work):
`delete_account(ctx, account_id, by=..., reason=...)` removes the account's content as the
hold and retention rules allow (an account under legal hold is refused with `Conflict`),
federates an actor `Delete` to every peer that knows the account, voids its sessions and
tokens, reserves its handle (`Account.deleted_at` set, the row kept) and destroys its keys once
the `Delete` deliveries have finished or expired. It is audited. A second call for an account
already deleted is a no-op that returns the same outcome kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.context import NodeContext


@dataclass(frozen=True)
class Deleted:
    """What a deletion did: the account, how many posts were removed, how many peers told."""

    account_id: int
    username: str
    posts_removed: int
    peers_told: int


async def delete_account(ctx: NodeContext, account_id: int, *, by: str, reason: str = "") -> Deleted:
    """Delete a local account (see the module's contract). `by` names who asked, for the
    audit trail: a username, `scim:<token name>`, or `cli`."""
    raise NotImplementedError("account deletion lands with the compliance work")
