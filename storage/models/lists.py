"""Lists: an account's named groups of the people it follows, each with its own timeline
(node/lists.py). A member row hangs off the follow that allows it, so when the follow ends
(an unfollow, a block, a removal from followers, a peer's Undo) the membership goes with it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow

REPLIES_POLICIES = ("followed", "list", "none")
TITLE_MAX = 256


class List(Base):
    """One account's list (Mastodon's List entity)."""

    __tablename__ = "lists"
    __table_args__ = (Index("ix_lists_account", "account_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    # Which replies show in the list: to anyone followed, to list members, or none (REPLIES_POLICIES).
    replies_policy: Mapped[str] = mapped_column(String(16), default="list")
    # An exclusive list's members' posts stay out of the owner's home timeline.
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListMember(Base):
    """An account on a list; `follow_id` is the owner's follow of it (cascade: no follow, no member)."""

    __tablename__ = "list_accounts"
    __table_args__ = (
        UniqueConstraint("list_id", "account_id", name="ux_list_accounts_pair"),
        Index("ix_list_accounts_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)  # pages the members
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    follow_id: Mapped[int] = mapped_column(ForeignKey("follows.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
