"""Notifications: follow, follow_request, mention, reply, like, boost."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.context import NodeContext
from node.mutes import silenced_senders
from node.pagination import Page, paginate
from node.visibility import visible_clause
from storage.errors import NotFound
from storage.ids import new_id
from storage.models import NOTIFICATION_TYPES, Account, Block, Notification, Post, utcnow


async def notify(
    s: AsyncSession, recipient: Account, kind: str, from_account_id: int, post_id: int | None = None
) -> None:
    """Record a notification for a local recipient, inside the caller's transaction."""
    assert kind in NOTIFICATION_TYPES
    if recipient.domain is not None or recipient.id == from_account_id:
        return  # remote accounts are notified by their own server; nobody is told of themselves
    if await s.scalar(
        select(Block.id).where(Block.account_id == recipient.id, Block.target_id == from_account_id)
    ):
        return  # nothing from someone you blocked
    from node.notification_groups import group_key  # it reads this module's filters

    notification_id, at = new_id(), utcnow()
    key = await group_key(s, recipient.id, kind, post_id, at, notification_id)
    s.add(
        Notification(
            id=notification_id, account_id=recipient.id, type=kind, from_account_id=from_account_id,
            post_id=post_id, created_at=at, group_key=key,
        )
    )


def shown(ctx: NodeContext, viewer: Account) -> ColumnElement[bool]:
    """SQL: the `Notification` is one the viewer's lists show: not from a sender they silenced
    (a mute with notifications, a block of the sender or of its domain), not from an account
    this node's staff suspended (node/moderation.py), and about no post or one the viewer may
    still see (node/visibility.py)."""
    post_visible = exists(
        select(Post.id).where(Post.id == Notification.post_id, visible_clause(viewer, ctx.org_domains()))
    )
    return and_(senders_shown(viewer.id), or_(Notification.post_id.is_(None), post_visible))


def senders_shown(account_id: int) -> ColumnElement[bool]:
    """SQL: the `Notification`'s sender is neither silenced by the account nor suspended."""
    return and_(
        Notification.from_account_id.not_in(silenced_senders(account_id)),
        Notification.from_account_id.not_in(select(Account.id).where(Account.suspended.is_(True))),
    )


async def list_notifications(
    ctx: NodeContext,
    account_id: int,
    page: Page,
    types: tuple[str, ...] | None = None,
    from_account_id: int | None = None,
) -> list[Notification]:
    """Newest first; nothing from senders the account silenced (a mute with notifications, a
    domain block) or this node's staff suspended. Posts are checked as they are rendered."""
    stmt = select(Notification).where(Notification.account_id == account_id, senders_shown(account_id))
    if types:
        stmt = stmt.where(Notification.type.in_(types))
    if from_account_id is not None:
        stmt = stmt.where(Notification.from_account_id == from_account_id)
    async with ctx.db.reader() as s:
        return await paginate(s, stmt, Notification.id, page)


async def get_notification(ctx: NodeContext, account_id: int, notification_id: int) -> Notification:
    async with ctx.db.reader() as s:
        n = await s.get(Notification, notification_id)
    if n is None or n.account_id != account_id:
        raise NotFound("no such notification")
    return n


async def dismiss(ctx: NodeContext, account_id: int, notification_id: int) -> None:
    async with ctx.db.session() as s:
        result = await s.execute(
            delete(Notification).where(
                Notification.id == notification_id, Notification.account_id == account_id
            )
        )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("no such notification")


async def clear(ctx: NodeContext, account_id: int) -> None:
    async with ctx.db.session() as s:
        await s.execute(delete(Notification).where(Notification.account_id == account_id))


async def mark_read(ctx: NodeContext, account_id: int, up_to_id: int) -> None:
    async with ctx.db.session() as s:
        await s.execute(
            update(Notification)
            .where(Notification.account_id == account_id, Notification.id <= up_to_id)
            .values(read=True)
        )
