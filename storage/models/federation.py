"""The machinery beside the social graph: the durable job queue, the inbox log and
tombstones, peer health and names, the audit chain and the settings every process of a node
shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.ids import new_id
from storage.models.base import Base, utcnow


class Job(Base):
    """A durable unit of background work (delivery, inbox processing).

    `pending` → claimed (`running` with a lease) → `done` | back to `pending` at `run_at`
    | `failed`. A `running` job whose lease has expired counts as claimable again.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "queue", "status", "run_at", "id"),  # a claim's order: migration 0030
        Index("ix_jobs_ordering", "ordering_key", "id"),
        Index("ix_jobs_target", "queue", "target", "status"),
        Index("ix_jobs_finished", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    queue: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    # A fresh token per claim: only the current holder may complete, retry or fail it.
    lease_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Jobs sharing a key run in id order (an Update or Delete never overtakes its Create).
    ordering_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    # The peer domain a delivery goes to: its backlog is brought forward when it returns.
    target: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

class InboxEntry(Base):
    """One accepted inbound activity: the dedupe key (origin, id) and what became of it."""

    __tablename__ = "inbox_log"
    __table_args__ = (UniqueConstraint("origin", "activity_id", name="ux_inbox_log_activity"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    origin: Mapped[str] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(2048))
    type: Mapped[str] = mapped_column(String(64))
    actor_uri: Mapped[str] = mapped_column(String(2048))
    outcome: Mapped[str] = mapped_column(String(32), default="queued")  # queued|done|ignored|refused
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

class Tombstone(Base):
    """A deleted object's URI: a Delete that arrives before its Create still wins."""

    __tablename__ = "tombstones"
    __table_args__ = (Index("ix_tombstones_deleted", "deleted_at"),)

    uri: Mapped[str] = mapped_column(String(2048), primary_key=True)
    actor_uri: Mapped[str] = mapped_column(String(2048))
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)

class Peer(Base):
    """Delivery health of a remote domain: failures open a breaker; days of them mark it dead."""

    __tablename__ = "peers"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_failure_at: Mapped[datetime | None] = mapped_column(nullable=True)
    first_failure_at: Mapped[datetime | None] = mapped_column(nullable=True)
    breaker_until: Mapped[datetime | None] = mapped_column(nullable=True)
    dead: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

class PeerName(Base):
    """What a peer node calls itself ("Acme Sales"): its NodeInfo `metadata.nodeName` or its
    instance actor's `name`, shown to people where they would otherwise read its domain."""

    __tablename__ = "peer_names"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

class AuditEntry(Base):
    """One decision at the boundary. Entries are chained: each `hash` covers the entry and
    the previous entry's hash, so a removed or altered entry breaks every later link."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_at", "at"), Index("ix_audit_peer", "peer", "id"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # sequence, in order
    at: Mapped[datetime] = mapped_column(default=utcnow)
    direction: Mapped[str] = mapped_column(String(8))  # out | in | admin
    peer: Mapped[str] = mapped_column(String(255))
    object: Mapped[str] = mapped_column(String(2048))
    decision: Mapped[str] = mapped_column(String(16))  # delivered | refused | dropped | rewritten | accepted
    rule: Mapped[str] = mapped_column(String(512))
    reason: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

class AuditHead(Base):
    """The chain's tip (one row): appends lock it, so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))

class NodeSetting(Base):
    """Settings every process of one node must agree on (the trust policy in force, ...),
    kept in the database so that web and worker processes on several machines share them.
    `version` grows on every change so processes notice one cheaply."""

    __tablename__ = "node_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
