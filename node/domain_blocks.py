"""A person's own domain blocks (Mastodon's `/api/v1/domain_blocks`): they stop seeing the
domain's accounts anywhere — home, public, hashtag and list timelines, conversations, streams
and notifications — through one rule, `node.mutes.hidden_authors` / `silenced_senders`, applied
in each of those queries.

Blocking a domain also ends follows both ways, as Mastodon's AfterBlockDomainFromAccountService
does: the person unfollows the domain's accounts (an `Undo` of each `Follow` goes to them), and
the domain's followers of the person and its pending requests are removed (each told with a
`Reject`), so the person's followers-only posts stop reaching that domain. Their notifications
and home entries from the domain are dropped. The block itself never crosses the wire.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import builders
from node.actors import account_uri
from node.context import NodeContext
from node.domains import canonical_domain
from node.follows import answer_remote
from node.outbox import send_one
from node.pagination import Page, paginate
from storage.errors import Invalid
from storage.models import Account, Follow, Notification, TimelineEntry, UserDomainBlock, utcnow

MAX_DOMAIN_LENGTH = 253


@dataclass(frozen=True)
class Severed:
    """What a block ended: follows of the domain's accounts, and followers (or requests) from it."""

    following: int
    followers: int


def domain_of(ctx: NodeContext, raw: str | None) -> str:
    """The canonical form of a domain a person names; Invalid (422) for anything else, their
    own node included."""
    text = (raw or "").strip()
    if not text:
        raise Invalid("domain is required")
    if len(text) > MAX_DOMAIN_LENGTH:
        raise Invalid("domain is too long")
    domain = canonical_domain(text)
    if domain == ctx.domain:
        raise Invalid("you cannot block your own node's domain")
    return domain


async def block(ctx: NodeContext, account: Account, raw: str | None) -> Severed:
    """Block the domain (again: nothing changes) and end the follows it touches."""
    domain = domain_of(ctx, raw)
    async with ctx.db.session() as s:
        existing = await s.scalar(
            select(UserDomainBlock.id).where(UserDomainBlock.account_id == account.id, UserDomainBlock.domain == domain)
        )
        if existing is None:
            s.add(UserDomainBlock(account_id=account.id, domain=domain, created_at=utcnow()))
        return await _sever(ctx, s, account, domain)


async def _sever(ctx: NodeContext, s: AsyncSession, account: Account, domain: str) -> Severed:
    theirs = select(Account.id).where(Account.domain == domain)
    people = {a.id: a for a in (await s.scalars(select(Account).where(Account.domain == domain))).all()}
    follows = (
        await s.scalars(
            select(Follow).where(
                ((Follow.follower_id == account.id) & Follow.target_id.in_(theirs))
                | (Follow.follower_id.in_(theirs) & (Follow.target_id == account.id))
            )
        )
    ).all()
    following = followers = 0
    for f in follows:
        if f.follower_id == account.id:
            following += 1
            target = people[f.target_id]
            if f.uri:
                follow = builders.activity("Follow", f.uri, account_uri(ctx, account), account_uri(ctx, target))
                undo = builders.activity("Undo", f"{f.uri}/undo", account_uri(ctx, account), follow)
                await send_one(ctx, s, target, undo, account, f.uri)
        else:
            followers += 1
            await answer_remote(ctx, s, f, people[f.follower_id], account, "Reject")
        await s.delete(f)
    await s.execute(delete(TimelineEntry).where(TimelineEntry.account_id == account.id, TimelineEntry.author_id.in_(theirs)))
    await s.execute(
        delete(Notification).where(Notification.account_id == account.id, Notification.from_account_id.in_(theirs))
    )
    return Severed(following, followers)


async def unblock(ctx: NodeContext, account: Account, raw: str | None) -> None:
    """Lift the block (none: nothing happens, as Mastodon answers). Ended follows stay ended."""
    domain = domain_of(ctx, raw)
    async with ctx.db.session() as s:
        await s.execute(
            delete(UserDomainBlock).where(UserDomainBlock.account_id == account.id, UserDomainBlock.domain == domain)
        )


async def blocked_domains(ctx: NodeContext, account: Account, page: Page) -> list[UserDomainBlock]:
    """The domains the account blocks, newest block first, paged by the block's id."""
    stmt = select(UserDomainBlock).where(UserDomainBlock.account_id == account.id)
    async with ctx.db.reader() as s:
        return await paginate(s, stmt, UserDomainBlock.id, page)


async def blocks_domain(ctx: NodeContext, account: Account, domains: list[str]) -> set[str]:
    """Which of `domains` the account blocks (the relationship entity's `domain_blocking`)."""
    if not domains:
        return set()
    async with ctx.db.reader() as s:
        found = await s.scalars(
            select(UserDomainBlock.domain).where(UserDomainBlock.account_id == account.id, UserDomainBlock.domain.in_(domains))
        )
        return set(found.all())
