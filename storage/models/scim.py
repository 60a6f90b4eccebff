"""What SCIM provisioning keeps (node/scim_users.py, node/scim_groups.py): the bearer tokens a
company directory presents (hashed), each provisioned person's SCIM resource beside their
account, and the directory's groups with their members."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow


class ScimToken(Base):
    """A bearer token an admin made with `atrium scim token create`: only its SHA-256 is kept
    (the token is random, so no salt is needed). Revoked tokens stay, for the audit trail."""

    __tablename__ = "scim_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ScimUser(Base):
    """A person the directory provisioned: their SCIM `id`, `userName` (and its lower-case key,
    unique), `externalId`, and the resource as last written (JSON, without `id`, `meta`,
    `groups` or a password), from which the account's columns are projected."""

    __tablename__ = "scim_users"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    scim_id: Mapped[str] = mapped_column(String(36), unique=True)
    user_name: Mapped[str] = mapped_column(String(255))
    user_name_key: Mapped[str] = mapped_column(String(255), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    document: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScimGroup(Base):
    """A group of the directory: its SCIM `id`, `displayName`, `externalId` and resource (JSON,
    without `id`, `meta` or `members`, which are rows of scim_group_members)."""

    __tablename__ = "scim_groups"

    scim_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    document: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScimGroupMember(Base):
    """One member of a group, in the order given: a provisioned person (`member_id` is their
    SCIM id) or another group. Roles are read from the groups a person is in (node/group_roles.py)."""

    __tablename__ = "scim_group_members"

    group_id: Mapped[str] = mapped_column(ForeignKey("scim_groups.scim_id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(8))  # User or Group
    position: Mapped[int] = mapped_column(Integer, default=0)
    display: Mapped[str] = mapped_column(String(255), default="")
