"""The people directory: this node's people, found by name, title or department (the web UI's
`/directory` and the client API's `GET /api/v1/directory`).

Listed: local accounts that are discoverable (every local person is: node/actors.py), not
disabled, not suspended, not deleted, and people (a community, an account too, is not). Ordered by the latest post (`active`, Mastodon's default:
people who never posted last) or by who joined last (`new`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, func, or_, select

from node.context import NodeContext
from storage.errors import Invalid
from storage.models import Account, ActorType, Post

PAGE_SIZE = 40  # Mastodon's default
MAX_PAGE = 80  # Mastodon's ceiling
MAX_QUERY = 100  # characters of a search


class Order(StrEnum):
    ACTIVE = "active"
    NEW = "new"


def parse_order(raw: str | None) -> Order:
    if raw is None or raw == "":
        return Order.ACTIVE
    try:
        return Order(raw)
    except ValueError as exc:
        raise Invalid(f"order must be active or new, not {raw[:40]!r}") from exc


@dataclass(frozen=True)
class Query:
    """What a directory page asks: a search (name, handle, title or department; "" for
    everyone), the order, and the page."""

    q: str = ""
    order: Order = Order.ACTIVE
    offset: int = 0
    limit: int = PAGE_SIZE

    def __post_init__(self) -> None:
        if len(self.q) > MAX_QUERY:
            raise Invalid(f"a directory search is at most {MAX_QUERY} characters")
        if self.offset < 0 or not 1 <= self.limit <= MAX_PAGE:
            raise Invalid(f"offset must be 0 or more and limit 1 to {MAX_PAGE}")


def _listed() -> list[ColumnElement[bool]]:
    return [Account.domain.is_(None), Account.disabled.is_(False), Account.suspended.is_(False),
            Account.deleted_at.is_(None), Account.actor_type != ActorType.GROUP]


SEARCHED = (Account.username, Account.display_name, Account.title, Account.department)


def _matches(q: str) -> ColumnElement[bool]:
    """Each word of the search (the first eight) in one of name, handle, title or department,
    case-insensitively."""
    return and_(*[or_(*[func.lower(column).contains(word.lower(), autoescape=True) for column in SEARCHED])
                  for word in q.split()[:8]])


async def people(ctx: NodeContext, query: Query) -> list[Account]:
    """One page of the directory."""
    where = _listed()
    if query.q.strip():
        where.append(_matches(query.q.strip()))
    stmt = select(Account).where(*where)
    if query.order is Order.NEW:
        stmt = stmt.order_by(Account.created_at.desc(), Account.id.desc())
    else:
        latest = (select(Post.account_id, func.max(Post.id).label("latest")).where(Post.local.is_(True))
                  .group_by(Post.account_id).subquery())
        stmt = stmt.outerjoin(latest, latest.c.account_id == Account.id).order_by(
            latest.c.latest.desc().nulls_last(), Account.id.desc())
    async with ctx.db.reader() as s:
        return list((await s.scalars(stmt.offset(query.offset).limit(query.limit))).unique())
