"""What every table shares: the declarative base, UTC timestamps, the enumerations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    DateTime,
    Table,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

# The values `posts.visibility` holds: node/audience.py's `Audience`, whose rules live there
# (storage cannot import the node; tests/unit/test_audience.py keeps the two the same).
VISIBILITIES = ("public", "unlisted", "followers", "direct", "organization", "local")
ROLES = ("user", "moderator", "admin")
NOTIFICATION_TYPES = ("follow", "follow_request", "mention", "reply", "like", "boost", "poll")


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, for Core statements on hot paths (SQLAlchemy types
    `__table__` as any FromClause; every class here is mapped to a plain Table)."""
    return cast(Table, model.__table__)


class UTCDateTime(TypeDecorator[datetime]):
    """Always timezone-aware UTC: SQLite stores naive values, so reattach UTC on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite compares the stored text: keep one naive UTC form so ordering holds.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}
