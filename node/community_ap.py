"""What peers may read of a local community over ActivityPub and WebFinger: its actor
document, its collections and its name in a look-up — each only where the community may
reach (`communities.reachable_by`, the posts' own policy function). Where it may not, the
community does not exist: the caller answers exactly as for a name nobody has."""

from __future__ import annotations

from federation.group_ap import moderators_to_ap
from node import audit, communities
from node.actors import account_uri
from node.ap_reads import Reader
from node.context import NodeContext
from storage.errors import NotFound
from storage.models import Account


async def visible_to(ctx: NodeContext, account: Account, reader: Reader) -> bool:
    """Whether the request's reader (a verified signer, or None: the open web) may know of the
    local `account`. Anyone but a community: yes, as before. A refusal of a signed reader is
    audited (a peer asked for what the policy keeps from it); the reader is asked only for a
    community, so a request for a person fetches no key."""
    if not account.is_group:
        return True
    async with ctx.db.reader() as s:
        community = await communities.community_of(s, account.id)
    if community is None:
        return False
    viewer = await reader()
    domain = viewer.domain if viewer is not None else None
    decision = communities.reachable_by(ctx, community, domain)
    if not decision.allowed and domain is not None:
        await audit.record_now(ctx.db, direction="out", peer=domain, obj=ctx.actor_uri(account.username),
                               decision="refused", rule=decision.rule, reason=f"community: {decision.reason}")
    return decision.allowed


async def moderators_collection(ctx: NodeContext, account: Account) -> dict[str, object]:
    """The community's moderators (Lemmy's `attributedTo` collection). The caller asked
    `visible_to` first."""
    if not account.is_group:
        raise NotFound("no such collection")
    mods = await communities.moderators(ctx, account.id)
    return moderators_to_ap(ctx.actor_uri(account.username), [account_uri(ctx, m) for m in mods])


async def _nobody() -> Account | None:
    return None


async def hidden_from_open_web(ctx: NodeContext, listed: list[Account]) -> set[int]:
    """The ids of the communities among `listed` that an anonymous reader (the client API
    without a token, a page without a session) may not know of: the same rule as an unsigned
    fetch of their actor."""
    return {a.id for a in listed if a.is_group and a.domain is None and not await visible_to(ctx, a, _nobody)}
