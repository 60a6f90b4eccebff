"""Accounts, posts and what people do with them: follows, likes, mentions, tags, home
timelines, notifications, blocks, mutes, bookmarks, read markers and reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.ids import new_id
from storage.models.base import Base, utcnow
from storage.models.media import MediaAttachment


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
    # Remote accounts: what their actor document says (None when it says nothing). A local
    # account's is what its own actor document says (node/actors.py), not stored.
    discoverable: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
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
    # Remote accounts: the counts their own server gives (its collections' totalItems), read
    # when a profile is first shown here; None until then, and for local accounts (counted).
    posts_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    followers_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    following_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Bumped on disable / password change: sessions and tokens issued before are void.
    credentials_version: Mapped[int] = mapped_column(Integer, default=0)
    # Moderation by this node's staff (local or remote accounts): a suspended account's posts
    # and activities are refused and hidden; a silenced one's stay out of public timelines.
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    silenced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The account's avatar and header: rows of media_attachments (a peer's `icon` and `image`
    # for remote accounts); None shows the default (initials on a colour). No foreign key:
    # media rows already point at their account, and a cycle between the two tables cannot be
    # created on SQLite; a pointer to a row since removed reads as None.
    avatar_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    header_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # What the company directory says of a person (SCIM's core and enterprise attributes, or
    # the person where no directory fills them): shown on the profile and searched by the
    # people directory. Remote accounts: empty.
    title: Mapped[str] = mapped_column(String(255), default="", server_default="")
    department: Mapped[str] = mapped_column(String(255), default="", server_default="")
    location: Mapped[str] = mapped_column(String(255), default="", server_default="")
    organization: Mapped[str] = mapped_column(String(255), default="", server_default="")
    employee_number: Mapped[str] = mapped_column(String(64), default="", server_default="")
    manager: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # Set when the account was deleted (node/account_deletion.py): the row stays as a
    # tombstone that reserves the handle and refuses the old actor's activities.
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # What the actor is (storage.models.communities.ActorType): `Group` for a community, here
    # or a peer's (FEP-1b12); people and bots are `Person`/`Service`.
    actor_type: Mapped[str] = mapped_column(String(16), default="Person", server_default="Person")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The rows the pointers name, read in the same statement as the account (outer joins on
    # the primary key), so every page that shows a person shows their pictures without a
    # query more; set through `avatar_id` / `header_id` only.
    avatar: Mapped[MediaAttachment | None] = relationship(
        primaryjoin="foreign(Account.avatar_id) == MediaAttachment.id", lazy="joined", viewonly=True
    )
    header: Mapped[MediaAttachment | None] = relationship(
        primaryjoin="foreign(Account.header_id) == MediaAttachment.id", lazy="joined", viewonly=True
    )

    @property
    def is_local(self) -> bool:
        return self.domain is None

    @property
    def is_group(self) -> bool:
        """A community (a `Group` actor), here or on a peer."""
        return self.actor_type == "Group"

    def acct(self) -> str:
        """`user` for local accounts, `user@domain[:port]` for remote ones (as Mastodon's acct)."""
        return self.username if self.domain is None else f"{self.username}@{self.domain}"


# The few hidden accounts (suspended by staff, or disabled: here, by SCIM or `atrium user
# disable`, or by their own node), for timelines to leave out without scanning every account
# (node/visibility.py writes exactly these predicates; migrations 0006, 0017).
Index("ix_accounts_hidden", Account.id, sqlite_where=text("suspended = 1 OR disabled = 1"),
      postgresql_where=text("suspended = true OR disabled = true"))
Index("ix_accounts_unlisted", Account.id, sqlite_where=text("suspended = 1 OR silenced = 1 OR disabled = 1"),
      postgresql_where=text("suspended = true OR silenced = true OR disabled = true"))

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
        Index("ix_posts_local_id", "local", "id"),
        # Boosts only (0029): over every post, SQLite read `reblog_of_id IS NULL` through it as
        # if it picked a few rows, where it is nearly every post of the node.
        Index("ix_posts_reblog", "reblog_of_id", sqlite_where=text("reblog_of_id IS NOT NULL"),
              postgresql_where=text("reblog_of_id IS NOT NULL")),
        Index("ix_posts_retention", "visibility", "local", "created_at"),  # the retention worker (node/retention.py)
        Index("ix_posts_community", "community_id", "id"),  # a community's page
        # One boost per account and post, boosts only (0029): as a constraint over every post,
        # SQLite took `account_id = ? AND reblog_of_id IS NULL` for a lookup of one row.
        Index("ux_posts_one_boost", "account_id", "reblog_of_id", unique=True,
              sqlite_where=text("reblog_of_id IS NOT NULL"), postgresql_where=text("reblog_of_id IS NOT NULL")),
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
    # The community (a Group account, here or a peer's) the post was written to: its audience
    # is the community's, and the community re-shares it to its members (node/communities.py).
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )

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
    # The version's attachments in order: media ids, comma-separated ("" for none). They stay
    # the post's rows when an edit drops them (node/media.py), so the history still shows them.
    media_ids: Mapped[str] = mapped_column(Text, default="", server_default="")

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
    __table_args__ = (
        Index("ix_notifications_account", "account_id", "id"),
        Index("ix_notifications_post", "post_id"),
        Index("ix_notifications_group", "account_id", "group_key", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    from_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), nullable=True
    )
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Mastodon's group key (node/notification_groups.py): likes, boosts and follows of the same
    # target close in time share one; any other notification is `ungrouped-<id>`.
    group_key: Mapped[str] = mapped_column(String(64))

class TimelineEntry(Base):
    """A materialised home-timeline row: written by fan-out, read by one index range scan."""

    __tablename__ = "home_entries"
    __table_args__ = (Index("ix_home_entries_author", "account_id", "author_id"), Index("ix_home_entries_post", "post_id"))

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    # The author of the entry's post, so an unfollow can drop that author's rows at once.
    author_id: Mapped[int] = mapped_column(BigInteger)

class Block(Base):
    """`account_id` blocks `target_id`: no follows either way, no posts of theirs shown."""

    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("account_id", "target_id", name="ux_blocks_pair"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
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

class ConversationState(Base):
    """What one account did with one of its conversations (node/conversations.py): read up to
    a post, removed from its list up to a post. The conversations themselves are derived from
    the direct posts; a conversation with no row is unread from its first message and shown."""

    __tablename__ = "conversation_states"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # the thread's root post id
    read_up_to: Mapped[int] = mapped_column(BigInteger, default=0)
    removed_up_to: Mapped[int] = mapped_column(BigInteger, default=0)

class Marker(Base):
    """A client's read position in a timeline (`home` or `notifications`)."""

    __tablename__ = "markers"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    timeline: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_read_id: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

class Report(Base):
    """A report to this node's moderators (from a local user or a peer's Flag)."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("number", name="ux_reports_number"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=new_id)
    # What people read (#12): 1, 2, 3... on this node, in the order reports came
    # (node/moderation.py assigns it; the client API keeps `id`).
    number: Mapped[int] = mapped_column(Integer)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    post_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of reported post ids
    comment: Mapped[str] = mapped_column(Text, default="")
    uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution: Mapped[str] = mapped_column(Text, default="", server_default="")  # what staff did / answered
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Mastodon's: spam | legal | violation | other; the rules cited (JSON list of ids); whether a
    # copy went to the reported account's node as a Flag (node/reports.py, migration 0022).
    category: Mapped[str] = mapped_column(String(16), default="other", server_default="other")
    rule_ids: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
