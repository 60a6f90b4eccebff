"""What accounts do with hashtags and with suggestions: the tags they follow (followed-tag
posts land in their home timelines, node/fanout.py), the tags they feature on their profile,
and the suggested accounts they dismissed (node/suggestions.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow


class FollowedTag(Base):
    """A local account follows a hashtag; `id` pages `/api/v1/followed_tags`."""

    __tablename__ = "followed_tags"
    __table_args__ = (UniqueConstraint("tag_id", "account_id", name="ux_followed_tags_pair"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeaturedTag(Base):
    """A hashtag a local account features on its profile (`/api/v1/featured_tags`)."""

    __tablename__ = "featured_tags"
    __table_args__ = (UniqueConstraint("account_id", "tag_id", name="ux_featured_tags_pair"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DismissedSuggestion(Base):
    """An account the viewer asked never to be suggested again (`DELETE /api/v1/suggestions/:id`)."""

    __tablename__ = "dismissed_suggestions"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
