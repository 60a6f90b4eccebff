"""Inbound Create, Update and Delete of notes (and Update of actors)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.fetch import FetchBudget
from federation.gate import Purpose
from federation.media_ap import RemoteAttachment
from federation.parsing import IncomingActivity, IncomingNote, InvalidActivity, ap_to_post, origin, parse_actor
from federation.poll_ap import PollData, ap_to_poll, ap_to_vote
from node import audit, poll_inbox, post_effects, remote, sanitize
from node.account_deletion import forget_remote_account
from node.accounts import find_local
from node.audience import Audience, audience_of
from node.context import NodeContext
from node.inbox.follows import local_username
from node.poll_rows import new_row
from storage.errors import AtriumError, Forbidden
from storage.ids import new_id
from storage.models import Account, Follow, Post, Tombstone, utcnow


def _visibility(ctx: NodeContext, actor: Account, to: tuple[str, ...], cc: tuple[str, ...], scope: str | None) -> Audience:
    # Only the organisation's own nodes may speak for the organisation: an outsider's
    # claim is narrowed to its followers, never widened into the organisation timeline.
    trust, _ = ctx.policy().trust_of(actor.domain or "")
    return Audience.addressed(to, cc, actor.followers_uri, scope).as_claimed_by(trust)


async def local_mentions(ctx: NodeContext, uris: tuple[str, ...]) -> list[Account]:

    found: list[Account] = []
    async with ctx.db.reader() as s:
        for uri in uris[:50]:
            name = local_username(ctx, uri)
            if name:
                account = await find_local(s, name)
                if account is not None:
                    found.append(account)
    return found


MAX_THREAD_FETCHES = 8  # fetches (notes and their authors) one incoming reply may cause
# What a new note's Create asks first, in one round trip, built once: who deleted its id before
# it came (if anyone), whether it is stored already, whether anyone here follows its author.
_SEEN = select(
    select(Tombstone.actor_uri).where(Tombstone.uri == bindparam("uri")).scalar_subquery(),
    select(Post.id).where(Post.uri == bindparam("uri")).exists(),
    select(Follow.id).where(Follow.target_id == bindparam("actor_id"), Follow.state == "accepted").exists(),
)


async def on_create(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    if activity.object is None:
        return "ignored: Create without an embedded object"
    if activity.object.get("type") not in ("Note", "Article", "Page", "Question"):
        return f"ignored: Create of {str(activity.object.get('type'))[:40]}"
    vote = ap_to_vote(activity.object)
    if vote is not None and await poll_inbox.is_vote(ctx, vote):
        return await poll_inbox.on_vote(ctx, vote, actor)  # counted, never stored as a post
    note = ap_to_post(activity.object)
    poll = ap_to_poll(activity.object)
    if note.attributed_to != actor.actor_uri:
        raise Forbidden("the note is attributed to someone other than the actor")
    async with ctx.db.reader() as s:
        deleted_by, stored, followed = (
            await (await s.connection()).execute(_SEEN, {"uri": note.id, "actor_id": actor.id})
        ).one()
        # Only the author's own earlier Delete counts: another actor of the same server must
        # not be able to suppress a note before it arrives.
        if deleted_by is not None and deleted_by == actor.actor_uri:
            return "ignored: deleted before it arrived"
        if stored:
            return "ignored: already stored"
        parent = await s.scalar(select(Post).where(Post.uri == note.in_reply_to)) if note.in_reply_to else None
    mentioned = await local_mentions(ctx, note.mentions)
    if not followed and not mentioned and (parent is None or not parent.local):
        return "ignored: nobody on this node follows, is mentioned, or is replied to"
    if note.in_reply_to and parent is None:
        # Best effort: bring in the conversation this reply belongs to, within a budget.
        await fetch_note(ctx, note.in_reply_to, FetchBudget(MAX_THREAD_FETCHES), {note.id}, purpose=Purpose.REPLY_FETCH)
    await store_note(ctx, note, actor, mentioned, poll=poll)
    return _outcome(ctx, actor, note)


async def fetch_note(
    ctx: NodeContext, uri: str, budget: FetchBudget, seen: set[str], depth: int = 0, *, purpose: Purpose
) -> Post | None:
    """A note by URI: from storage, else fetched (with its own parents, while the budget
    lasts). Anything unusable — gone, refused, not a note, a cycle — is None, never an error.
    A host the policy does not admit is refused at the gate, which audits it with `purpose`."""
    if uri in seen or depth > MAX_THREAD_FETCHES or ctx.fetcher is None:
        return None
    seen.add(uri)
    async with ctx.db.reader() as s:
        known = await s.scalar(select(Post).where(Post.uri == uri))
        if known is not None or await s.get(Tombstone, uri) is not None:
            return known
    try:
        doc = await ctx.fetcher.fetch_object(uri, purpose=purpose, budget=budget)
        note, poll = ap_to_post(doc), ap_to_poll(doc) if isinstance(doc, dict) else None
        if note.id != uri or origin(note.attributed_to) != origin(note.id):
            return None
        author = await remote.actor_by_uri(ctx, note.attributed_to, budget=budget)
        if note.in_reply_to:
            await fetch_note(ctx, note.in_reply_to, budget, seen, depth + 1, purpose=Purpose.REPLY_FETCH)
        return await store_note(ctx, note, author, await local_mentions(ctx, note.mentions), notify_people=False,
                                poll=poll)
    except AtriumError:
        return None


def _media(ctx: NodeContext, actor: Account, note: IncomingNote) -> tuple[RemoteAttachment, ...]:
    """The attachments of a peer's note that the policy lets in (`reject_media`: none)."""
    return note.attachments if ctx.policy().media_in(actor.domain or "").allowed else ()


async def _audit_media(ctx: NodeContext, s: AsyncSession, actor: Account, note: IncomingNote) -> None:
    """A drop of a note's attachments by `reject_media`, in the audit trail (with the change)."""
    decision = ctx.policy().media_in(actor.domain or "")
    if note.attachments and not decision.allowed:
        await audit.record(s, direction="in", peer=actor.domain or "", obj=note.id, decision="rewritten",
                           rule=decision.rule, reason=f"{len(note.attachments)} attachment(s) dropped: {decision.reason}")


def _outcome(ctx: NodeContext, actor: Account, note: IncomingNote) -> str:
    """The inbox log's outcome of a stored note: says so when its attachments were dropped."""
    decision = ctx.policy().media_in(actor.domain or "")
    if note.attachments and not decision.allowed:
        return f"done: {len(note.attachments)} attachment(s) dropped by {decision.rule}"
    return "done"


def _body(note: IncomingNote) -> post_effects.Body:
    """What a peer's note says, made safe to show."""
    return post_effects.Body(sanitize.sanitize_html(note.content_html), "", sanitize.html_to_text(note.summary),
                             note.sensitive)


def _addressed(ctx: NodeContext, visibility: Audience, note: IncomingNote, mentioned: list[Account]) -> list[Account]:
    """The mentioned accounts that may hear of the note: for a non-public one, only those also
    named in to/cc — a Mention tag alone must not open it to someone its author did not address."""
    if visibility.rules.anyone_may_see:
        return mentioned
    addressed = set(note.to) | set(note.cc)
    return [a for a in mentioned if ctx.actor_uri(a.username) in addressed]


async def store_note(
    ctx: NodeContext, note: IncomingNote, actor: Account, mentioned: list[Account], *, notify_people: bool = True,
    poll: PollData | None = None, community_id: int | None = None, audience: Audience | None = None,
) -> Post:
    """A peer's note stored. `community_id`: the community it was written to (node/inbox/groups.py),
    whose audience it takes when that is given as `audience`."""
    async with ctx.db.reader() as s:
        parent = await s.scalar(select(Post).where(Post.uri == note.in_reply_to)) if note.in_reply_to else None
    visibility = audience or _visibility(ctx, actor, note.to, note.cc, note.scope)
    narrowed = note.scope == Audience.ORGANIZATION and visibility != Audience.ORGANIZATION
    post = post_effects.new_post(
        actor, note.id, visibility, _body(note), post_id=new_id(), url=note.url or note.id, parent=parent,
        in_reply_to_uri=note.in_reply_to, created_at=min(note.published or utcnow(), utcnow()),
    )
    post.community_id = community_id
    change = post_effects.Recorded(post, parent, _addressed(ctx, visibility, note, mentioned), note.hashtags,
                                   news=notify_people, remote_media=_media(ctx, actor, note),
                                   poll=new_row(post.id, poll) if poll is not None else None)
    async with ctx.db.session() as s:
        await _audit_media(ctx, s, actor, note)
        if narrowed:
            await audit.record(s, direction="in", peer=actor.domain or "", obj=note.id, decision="rewritten",
                               rule="organization scope", reason="an organization post from a peer not trusted as organization is kept to followers")
        events = await post_effects.record_posts(ctx, s, [change])
    post_effects.publish(ctx, events)
    return post


async def on_update(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    obj = activity.object
    if obj is None:
        return "ignored: Update without an embedded object"
    if obj.get("type") in ("Person", "Service", "Application", "Group", "Organization"):
        updated = parse_actor(obj)
        if updated.id != actor.actor_uri:
            raise Forbidden("an actor may update only itself")
        if updated.key_id != actor.key_id or updated.public_key_pem != actor.public_key_pem:
            # A key changes only by a fetch from its origin, never by what an Update says.
            await remote.fetch_actor(ctx, actor.actor_uri or "")
            return "done: refetched"
        await remote.upsert_actor(ctx, updated)
        return "done"
    note = ap_to_post(obj)
    poll = ap_to_poll(obj)
    mentioned = await local_mentions(ctx, note.mentions)
    async with ctx.db.session() as s:
        post = await s.scalar(select(Post).where(Post.uri == note.id))
        if post is None:
            return "ignored: unknown object"
        if post.account_id != actor.id:
            raise Forbidden("an actor may update only its own objects")
        body = dataclasses.replace(_body(note), language=post.language)
        if poll is not None:
            await poll_inbox.on_counts(ctx, s, post, poll)
            if (body.content_html, body.summary) == (post.content_html, post.summary):
                return "done: poll counts"  # a Question's counts, no edit: no version in its history
        addressed = _addressed(ctx, audience_of(post.visibility), note, mentioned)
        change = post_effects.Edited(post, body, note.updated or utcnow(), addressed, note.hashtags,
                                     remote_media=_media(ctx, actor, note))
        await _audit_media(ctx, s, actor, note)
        events = await post_effects.edit_posts(ctx, s, [change])
    post_effects.publish(ctx, events)
    return _outcome(ctx, actor, note)


async def on_delete(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    target = activity.object_id
    if target is None:
        raise InvalidActivity("Delete names no object")
    if origin(target) != origin(actor.actor_uri or ""):
        raise Forbidden("an actor may delete only its own objects")
    if target == actor.actor_uri:
        # Signed by the actor itself (node/inbound.py) and on its origin (checked above): its
        # own node deleted the account. Everything of it here goes; the row stays, marked, so
        # that its later activities are refused (node/inbox/__init__.py).
        async with ctx.db.session() as s:
            row = await s.get(Account, actor.id)
            events = await forget_remote_account(ctx, s, row) if row is not None else []
        post_effects.publish(ctx, events)
        return "done: account deleted"
    async with ctx.db.session() as s:
        if await s.get(Tombstone, target) is None:
            s.add(Tombstone(uri=target, actor_uri=actor.actor_uri or "", deleted_at=utcnow()))
        post = await s.scalar(select(Post).where(Post.uri == target))
        if post is None:
            return "done: tombstone kept"
        if post.account_id != actor.id:
            raise Forbidden("an actor may delete only its own objects")
        events = await post_effects.remove_posts(ctx, s, [post])
    post_effects.publish(ctx, events)
    return "done"
