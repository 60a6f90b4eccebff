"""A person's own block of a whole domain (Mastodon's user-level domain block): the domain's
accounts' posts and notifications stay out of that person's timelines and notifications, and
follows between them end (node/domain_blocks.py). Private to the person; nothing crosses the wire."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow


class UserDomainBlock(Base):
    __tablename__ = "user_domain_blocks"
    __table_args__ = (UniqueConstraint("account_id", "domain", name="ux_user_domain_blocks_pair"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(253))  # canonical form (node/domains.py)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
