"""The node's tables as SQLAlchemy 2 typed models.

Ids are time-ordered 64-bit integers (`storage.ids.new_id`) so cursors page by id.
A local account has `domain = None`; a remote one carries its canonical domain.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.ids import new_id

VISIBILITIES = ("public", "unlisted", "followers", "direct", "organization", "local")
ROLES = ("user", "moderator", "admin")
NOTIFICATION_TYPES = ("follow", "follow_request", "mention", "reply", "like", "boost")


def utcnow() -> datetime:
    return datetime.now(UTC)


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


class Instance(Base):
    """The node itself: one row. Its key pair signs instance-level fetches."""

    __tablename__ = "instance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    domain: Mapped[str] = mapped_column(String(255))
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_key_pem: Mapped[str] = mapped_column(Text)
    setup_token_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (Index("ix_accounts_domain", "domain"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64))
    domain: Mapped[str | None] = mapped_column(String(255), nullable=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(16), default="user")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Made lazily on first need: RSA generation costs ~46 ms, bulk creation must not wait on it.
    private_key_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    public_key_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Remote accounts: where the actor lives.
    actor_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True, unique=True)
    inbox_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    shared_inbox_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    followers_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(2048), nullable=True, unique=True)
    fetched_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Bumped on disable / password change: sessions and tokens issued before are void.
    credentials_version: Mapped[int] = mapped_column(Integer, default=0)
    # Moderation by this node's staff (local or remote accounts): a suspended account's posts
    # and activities are refused and hidden; a silenced one's stay out of public timelines.
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    silenced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def is_local(self) -> bool:
        return self.domain is None

    def acct(self) -> str:
        """`user` for local accounts, `user@domain[:port]` for remote ones (as Mastodon's acct)."""
        return self.username if self.domain is None else f"{self.username}@{self.domain}"


# The few moderated accounts, for timelines to leave out without scanning every account
# (node/visibility.py writes exactly these predicates; migration 0006).
Index("ix_accounts_suspended", Account.id, sqlite_where=text("suspended = 1"), postgresql_where=text("suspended = true"))
Index("ix_accounts_moderated", Account.id, sqlite_where=text("suspended = 1 OR silenced = 1"),
      postgresql_where=text("suspended = true OR silenced = true"))

# One handle per (case-insensitive username, domain); local accounts have no domain.
Index(
    "ux_accounts_handle",
    func.lower(Account.username),
    func.coalesce(Account.domain, ""),
    unique=True,
)


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_account", "account_id", "id"),
        Index("ix_posts_reply", "in_reply_to_id"),
        Index("ix_posts_thread", "thread_id"),
        Index("ix_posts_visibility", "visibility", "local", "id"),
        UniqueConstraint("account_id", "reblog_of_id", name="ux_posts_one_boost"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # Denormalised from the author: timeline queries filter on it without a join.
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    uri: Mapped[str | None] = mapped_column(String(2048), nullable=True, unique=True)
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    source: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    in_reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), nullable=True
    )
    in_reply_to_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    in_reply_to_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    # The root of the conversation: thread context is one indexed lookup.
    thread_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reblog_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), nullable=True
    )
    replies_count: Mapped[int] = mapped_column(Integer, default=0)
    likes_count: Mapped[int] = mapped_column(Integer, default=0)
    boosts_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(nullable=True)

    account: Mapped[Account] = relationship(lazy="joined", foreign_keys=[account_id])


class PostEdit(Base):
    """One earlier version of a post, kept when it is edited (the edit history)."""

    __tablename__ = "post_edits"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Mention(Base):
    __tablename__ = "mentions"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class PostTag(Base):
    __tablename__ = "post_tags"
    __table_args__ = (Index("ix_post_tags_tag", "tag_id", "post_id"),)

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)


class Follow(Base):
    """`state` is `pending` until a locked account approves, then `accepted`."""

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("follower_id", "target_id", name="ux_follows_pair"),
        Index("ix_follows_target", "target_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    follower_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="accepted")
    uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Like(Base):
    __tablename__ = "likes"
    __table_args__ = (UniqueConstraint("account_id", "post_id", name="ux_likes_pair"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_account", "account_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    from_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), nullable=True
    )
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TimelineEntry(Base):
    """A materialised home-timeline row: written by fan-out, read by one index range scan."""

    __tablename__ = "home_entries"
    __table_args__ = (Index("ix_home_entries_author", "account_id", "author_id"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    # The author of the entry's post, so an unfollow can drop that author's rows at once.
    author_id: Mapped[int] = mapped_column(BigInteger)


class Job(Base):
    """A durable unit of background work (delivery, inbox processing).

    `pending` → claimed (`running` with a lease) → `done` | back to `pending` at `run_at`
    | `failed`. A `running` job whose lease has expired counts as claimable again.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "queue", "status", "run_at"),
        Index("ix_jobs_ordering", "ordering_key", "id"),
        Index("ix_jobs_target", "queue", "target", "status"),
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


class Block(Base):
    """`account_id` blocks `target_id`: no follows either way, no posts of theirs shown."""

    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("account_id", "target_id", name="ux_blocks_pair"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(Base):
    """A report to this node's moderators (from a local user or a peer's Flag)."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    post_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of reported post ids
    comment: Mapped[str] = mapped_column(Text, default="")
    uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution: Mapped[str] = mapped_column(Text, default="", server_default="")  # what staff did / answered
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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


class OAuthApp(Base):
    """A client application registered through `POST /api/v1/apps` (its secret kept hashed)."""

    __tablename__ = "oauth_apps"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    redirect_uris: Mapped[str] = mapped_column(Text)  # one a line
    scopes: Mapped[str] = mapped_column(String(1024))  # space-separated
    website: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthCode(Base):
    """A one-time authorization code (hashed), bound to its app, account, redirect and PKCE challenge."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    scopes: Mapped[str] = mapped_column(String(1024))
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)  # S256 only
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthToken(Base):
    """An access token (and its refresh token), both hashed. Void once the account's
    `credentials_version` moves past `credentials_version` here, or the account is disabled."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    # None for a client_credentials token: it acts for the app, not for a person.
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    scopes: Mapped[str] = mapped_column(String(1024))
    credentials_version: Mapped[int] = mapped_column(Integer, default=0)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class IdempotencyKey(Base):
    """A client's `Idempotency-Key` on a post it wrote: a retry returns the same post."""

    __tablename__ = "idempotency_keys"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Mute(Base):
    """`account_id` mutes `target_id`: their posts (and, with `notifications`, their
    notifications) are hidden from `account_id` only; nothing crosses the wire."""

    __tablename__ = "mutes"
    __table_args__ = (UniqueConstraint("account_id", "target_id", name="ux_mutes_pair"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bookmark(Base):
    """A post a local account bookmarked (private to that account)."""

    __tablename__ = "bookmarks"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)  # pages the list
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "post_id", name="ux_bookmarks_pair"),)


class Marker(Base):
    """A client's read position in a timeline (`home` or `notifications`)."""

    __tablename__ = "markers"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    timeline: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_read_id: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its hash is stored, so
    the table leaks no usable session. Signing in always makes a new one (no fixation)."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    credentials_version: Mapped[int] = mapped_column(Integer, default=0)
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class NodeSetting(Base):
    """Settings every process of one node must agree on (the trust policy in force, ...),
    kept in the database so that web and worker processes on several machines share them.
    `version` grows on every change so processes notice one cheaply."""

    __tablename__ = "node_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
