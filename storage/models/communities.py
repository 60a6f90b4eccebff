"""Communities (FEP-1b12 groups): a community is an `Account` whose `actor_type` is `Group`,
so it shares the handle namespace with people (one WebFinger name, one unique index) and is
followed like one; this module holds what only a community has. Membership is a `Follow` of
the community's account (`pending` while a request waits for a moderator), on every node
alike; moderators and invitations are rows here. A remote community (a peer's `Group`) has an
`Account` row and no `Community` row: its rules are its own node's."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow


class ActorType(StrEnum):
    """What an account is on the wire (ActivityStreams' actor types that Atrium tells apart)."""

    PERSON = "Person"
    GROUP = "Group"
    SERVICE = "Service"
    APPLICATION = "Application"


class CommunityMode(StrEnum):
    """How one joins: anyone the audience admits at once, on a moderator's approval, or only
    when invited by a moderator."""

    OPEN = "open"
    APPROVAL = "approval"
    INVITE = "invite"


class Community(Base):
    """A community of this node: its account row (`accounts.id`, username = the community's
    name, display_name, bio = its description) plus what only a community has."""

    __tablename__ = "communities"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    # One of node.audience.Audience's values: who may see, find, join and receive it. Only the
    # audiences a boost keeps (public, unlisted, organization, local): a community re-shares
    # its posts by Announce.
    audience: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16), default=CommunityMode.OPEN)
    rules: Mapped[str] = mapped_column(Text, default="", server_default="")  # plain text, one rule a line
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommunityModerator(Base):
    """An account (local or remote) that moderates a community of this node."""

    __tablename__ = "community_moderators"

    community_id: Mapped[int] = mapped_column(ForeignKey("communities.account_id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommunityInvite(Base):
    """A moderator's invitation: lets `account_id` join an `invite` community (or skip the
    approval of an `approval` one). Used up by the join."""

    __tablename__ = "community_invites"
    __table_args__ = (UniqueConstraint("community_id", "account_id", name="ux_community_invites_pair"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.account_id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
