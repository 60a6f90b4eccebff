"""Deleting an account: the node's one way, for the person (settings, re-authenticated), the
admin (`atrium user delete`), SCIM's `DELETE` and a peer's actor `Delete`.

`delete_account(ctx, account_id, by=..., reason=...)` removes a local account's content (an
account under legal hold is refused with `Conflict`, nothing changed), federates one actor
`Delete` to every peer that knows the account, voids its sessions and tokens, reserves its
handle (`Account.deleted_at` set, the row kept) and leaves its private key for
node/key_destruction.py to destroy once the `Delete` deliveries signed with it have finished or
expired. It is audited. A second call for an account already deleted is a no-op that returns
the same outcome kind.

`forget_remote_account` is the same erasure for a peer's account whose own node sent its actor
`Delete` (node/inbox/notes.py): its posts, follows, likes and notifications go, the row stays
marked deleted, and any later activity of that actor id is refused (node/inbox/__init__.py).

One actor `Delete`, not one `Delete` per post: Mastodon (`ActivityPub::Activity::Delete`
→ `DeleteAccountService`) and Atrium (`forget_remote_account`) remove every status, boost,
follow and favourite of an actor when they receive the actor's `Delete`, so a single delivery
per inbox does what thousands of per-post deliveries would, and cannot be overtaken by them.
The posts are still removed through `node/post_effects.remove_posts` (counts, timelines,
notifications, attachments, stream events), with its per-post fan-out turned off.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.base import Executable

from federation import builders
from federation.addressing import EVERYONE
from node import audit, post_effects
from node.accounts import find_local
from node.audience import Audience
from node.context import NodeContext
from node.events import Event
from node.holds import is_held
from node.outbox import Recipient, deliver_to
from storage.errors import Conflict, Invalid, NotFound
from storage.models import (
    Account,
    AccountField,
    AuthChallenge,
    Block,
    Bookmark,
    ConversationState,
    Follow,
    IdempotencyKey,
    Like,
    Marker,
    MediaAttachment,
    Mention,
    Mute,
    Notification,
    OAuthCode,
    OAuthToken,
    Post,
    RecoveryCode,
    SecondFactor,
    TimelineEntry,
    WebSession,
    utcnow,
)

HELD = "the account is under legal hold"


@dataclass(frozen=True)
class Deleted:
    """What a deletion did: the account, how many posts were removed, how many peers told."""

    account_id: int
    username: str
    posts_removed: int
    peers_told: int


async def delete_account(ctx: NodeContext, account_id: int, *, by: str, reason: str = "") -> Deleted:
    """Delete a local account (see the module's contract). `by` names who asked, for the
    audit trail: a username, `scim:<token name>`, or `cli`."""
    async with ctx.db.session() as s:
        # Locked (its own row, not its pictures' outer join): two deletions at once make one.
        account = await s.scalar(select(Account).where(Account.id == account_id).with_for_update(of=Account))
        if account is None:
            raise NotFound("no such account")
        if account.domain is not None:
            raise Invalid(f"{account.acct()} is an account of another node: only its own node deletes it")
        if account.deleted_at is not None:
            return Deleted(account.id, account.username, 0, 0)
        if await is_held(s, account.id):
            raise Conflict(HELD)
        actor = ctx.actor_uri(account.username)
        recipients = await _who_knows(s, account.id)  # read before the follows and posts go
        act = builders.activity("Delete", f"{actor}#delete", actor, actor, to=EVERYONE.to)
        # The fan-out's own exit: the policy is asked for each peer now and again at delivery,
        # refusals are audited, and each delivery is signed with the account's key.
        inboxes = await deliver_to(ctx, s, recipients, act, visibility=Audience.PUBLIC, signer=account, object_uri=actor)
        removed, events = await _erase(ctx, s, account, tell_peers=False)
        await _void_credentials(s, account)
        _clear_profile(account)
        peers = len({urlsplit(i).netloc for i in inboxes})
        await audit.record(
            s, direction="admin", peer="", obj=f"accounts/{account.username}", decision="accepted",
            rule="account:deleted",
            reason=f"by {by}" + (f": {reason}" if reason else "") + f" ({removed} posts removed, {peers} peers told)",
        )
        done = Deleted(account.id, account.username, removed, peers)
    post_effects.publish(ctx, events)
    return done


async def delete_local(ctx: NodeContext, username: str, *, by: str, reason: str = "") -> Deleted:
    """`delete_account` by username (the CLI's door): a deleted account is found too, so a
    second deletion is the same no-op."""
    async with ctx.db.reader() as s:
        account = await find_local(s, username)
    if account is None:
        raise NotFound(f"no such user: {username}")
    return await delete_account(ctx, account.id, by=by, reason=reason)


async def forget_remote_account(ctx: NodeContext, s: AsyncSession, account: Account) -> list[Event]:
    """A peer's account deleted by its own node: what it has here goes and the row is marked,
    in the caller's transaction; the caller publishes the events once it commits."""
    if account.deleted_at is not None:
        return []
    _, events = await _erase(ctx, s, account, tell_peers=False)
    _clear_profile(account)
    return events


async def _who_knows(s: AsyncSession, account_id: int) -> list[Recipient]:
    """The remote accounts whose nodes know this account: its followers (and requests) and
    those it follows, those its posts mention or reply to, and the authors of what it liked or
    boosted. `deliver_to` reduces them to one inbox each (the shared one where there is one)."""
    remote = Account.domain.is_not(None)
    boost = aliased(Post)  # its boosts, apart from the boosted posts they are joined to
    queries = [
        select(Account).join(Follow, Follow.follower_id == Account.id).where(Follow.target_id == account_id, remote),
        select(Account).join(Follow, Follow.target_id == Account.id).where(Follow.follower_id == account_id, remote),
        select(Account).join(Mention, Mention.account_id == Account.id).join(Post, Post.id == Mention.post_id)
        .where(Post.account_id == account_id, remote),
        select(Account).join(Post, Post.in_reply_to_account_id == Account.id).where(Post.account_id == account_id, remote),
        select(Account).join(Post, Post.account_id == Account.id).join(Like, Like.post_id == Post.id)
        .where(Like.account_id == account_id, remote),
        select(Account).join(Post, Post.account_id == Account.id).join(boost, boost.reblog_of_id == Post.id)
        .where(boost.account_id == account_id, remote),
    ]
    found: dict[int, Account] = {}
    for query in queries:
        for row in (await s.scalars(query)).unique():
            found.setdefault(row.id, row)
    return list(found.values())


async def _erase(ctx: NodeContext, s: AsyncSession, account: Account, *, tell_peers: bool) -> tuple[int, list[Event]]:
    """Everything the account did or has here, removed: posts and boosts (through the one
    path, node/post_effects.py), follows both ways, likes, bookmarks, blocks and mutes both
    ways, notifications from and to it, its home timeline, media, profile fields."""
    posts = list((await s.scalars(select(Post).where(Post.account_id == account.id))).unique())
    # Boosts first: a boost of one of its own posts goes before the post it points at.
    posts.sort(key=lambda p: p.reblog_of_id is None)
    events = await post_effects.remove_posts(ctx, s, posts, tell_peers=tell_peers)
    for (post_id,) in (await s.execute(select(Like.post_id).where(Like.account_id == account.id))).all():
        await post_effects.count(s, post_id, "likes_count", -1)
    me = account.id
    await _run(
        s,
        delete(Like).where(Like.account_id == me),
        delete(Follow).where((Follow.follower_id == me) | (Follow.target_id == me)),
        delete(TimelineEntry).where((TimelineEntry.account_id == me) | (TimelineEntry.author_id == me)),
        delete(Notification).where((Notification.account_id == me) | (Notification.from_account_id == me)),
        delete(Bookmark).where(Bookmark.account_id == me),
        delete(Block).where((Block.account_id == me) | (Block.target_id == me)),
        delete(Mute).where((Mute.account_id == me) | (Mute.target_id == me)),
        delete(Mention).where(Mention.account_id == me),
        delete(ConversationState).where(ConversationState.account_id == me),
        delete(Marker).where(Marker.account_id == me),
        delete(AccountField).where(AccountField.account_id == me),
        # Its pictures and uploads not posted: the rows now, so nobody reads them again; the
        # bytes no row names are removed by `atrium media prune` (as node/media.py forgets a
        # removed post's attachments).
        delete(MediaAttachment).where(MediaAttachment.account_id == me),
    )
    account.avatar_id = account.header_id = None
    return len([p for p in posts if p.reblog_of_id is None]), events


async def _void_credentials(s: AsyncSession, account: Account) -> None:
    """Sessions, OAuth tokens and codes, second factors and recovery codes: gone; every
    credential issued before is void anyway (the credentials version moves)."""
    me = account.id
    account.credentials_version += 1
    account.password_hash = None
    await _run(
        s,
        delete(WebSession).where(WebSession.account_id == me),
        delete(OAuthCode).where(OAuthCode.account_id == me),
        delete(AuthChallenge).where(AuthChallenge.account_id == me),
        delete(SecondFactor).where(SecondFactor.account_id == me),
        delete(RecoveryCode).where(RecoveryCode.account_id == me),
        delete(IdempotencyKey).where(IdempotencyKey.account_id == me),
        update(OAuthToken).where(OAuthToken.account_id == me).values(revoked=True),
    )


async def _run(s: AsyncSession, *statements: Executable) -> None:
    for statement in statements:
        await s.execute(statement)


def _clear_profile(account: Account) -> None:
    account.deleted_at = utcnow()
    account.disabled = True  # every check of a disabled account holds for a deleted one too
    account.display_name = account.bio = ""
    account.title = account.department = account.location = ""
    account.organization = account.employee_number = account.manager = ""
    account.email = None
    account.locked = False
