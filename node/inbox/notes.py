"""Inbound Create, Update and Delete of notes (and Update of actors)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from federation.addresses import FetchError
from federation.fetch import FetchBudget
from federation.gate import Purpose
from federation.parsing import IncomingActivity, IncomingNote, InvalidActivity, ap_to_post, origin, parse_actor
from node import audit, remote, sanitize
from node.accounts import find_local
from node.audience import Audience
from node.context import NodeContext
from node.events import Event
from node.fanout import fan_out_home
from node.inbox.follows import local_username
from node.notifications import notify
from node.posts import store_tags
from storage.errors import AtriumError, Forbidden
from storage.models import Account, Follow, Mention, Post, PostEdit, PostTag, Tombstone, utcnow


def _visibility(ctx: NodeContext, actor: Account, to: tuple[str, ...], cc: tuple[str, ...], scope: str | None) -> Audience:
    # Only the organisation's own nodes may speak for the organisation: an outsider's
    # claim is narrowed to its followers, never widened into the organisation timeline.
    trust, _ = ctx.policy().trust_of(actor.domain or "")
    return Audience.addressed(to, cc, actor.followers_uri, scope).as_claimed_by(trust)


async def _local_mentions(ctx: NodeContext, uris: tuple[str, ...]) -> list[Account]:

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


async def on_create(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    if activity.object is None:
        return "ignored: Create without an embedded object"
    if activity.object.get("type") not in ("Note", "Article", "Page", "Question"):
        return f"ignored: Create of {str(activity.object.get('type'))[:40]}"
    note = ap_to_post(activity.object)
    if note.attributed_to != actor.actor_uri:
        raise Forbidden("the note is attributed to someone other than the actor")
    async with ctx.db.reader() as s:
        tombstone = await s.get(Tombstone, note.id)
        # Only the author's own earlier Delete counts: another actor of the same server must
        # not be able to suppress a note before it arrives.
        if tombstone is not None and tombstone.actor_uri == actor.actor_uri:
            return "ignored: deleted before it arrived"
        if await s.scalar(select(Post.id).where(Post.uri == note.id)) is not None:
            return "ignored: already stored"
        parent = await s.scalar(select(Post).where(Post.uri == note.in_reply_to)) if note.in_reply_to else None
        followed = await s.scalar(
            select(Follow.id).where(Follow.target_id == actor.id, Follow.state == "accepted").limit(1)
        )
    mentioned = await _local_mentions(ctx, note.mentions)
    if followed is None and not mentioned and (parent is None or not parent.local):
        return "ignored: nobody on this node follows, is mentioned, or is replied to"
    if note.in_reply_to and parent is None:
        # Best effort: bring in the conversation this reply belongs to, within a budget.
        await fetch_note(ctx, note.in_reply_to, FetchBudget(MAX_THREAD_FETCHES), {note.id}, purpose=Purpose.REPLY_FETCH)
    await store_note(ctx, note, actor, mentioned)
    return "done"


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
        note = ap_to_post(await ctx.fetcher.fetch_object(uri, purpose=purpose, budget=budget))
        if note.id != uri or origin(note.attributed_to) != origin(note.id):
            return None
        author = await remote.actor_by_uri(ctx, note.attributed_to, budget=budget)
        if note.in_reply_to:
            await fetch_note(ctx, note.in_reply_to, budget, seen, depth + 1, purpose=Purpose.REPLY_FETCH)
        return await store_note(ctx, note, author, await _local_mentions(ctx, note.mentions), notify_people=False)
    except (FetchError, InvalidActivity, AtriumError):
        return None


async def store_note(
    ctx: NodeContext, note: IncomingNote, actor: Account, mentioned: list[Account], *, notify_people: bool = True
) -> Post:
    async with ctx.db.reader() as s:
        parent = await s.scalar(select(Post).where(Post.uri == note.in_reply_to)) if note.in_reply_to else None
    visibility = _visibility(ctx, actor, note.to, note.cc, note.scope)
    narrowed = note.scope == Audience.ORGANIZATION and visibility != Audience.ORGANIZATION
    if not visibility.rules.anyone_may_see:
        # A Mention tag alone must not open a non-public post to someone its author did not
        # address: only mentions also named in to/cc may see it and hear of it.
        addressed = set(note.to) | set(note.cc)
        mentioned = [a for a in mentioned if ctx.actor_uri(a.username) in addressed]
    post = Post(
        account_id=actor.id,
        local=False,
        uri=note.id,
        url=note.url or note.id,
        source="",
        content_html=sanitize.sanitize_html(note.content_html),
        summary=sanitize.html_to_text(note.summary),
        sensitive=note.sensitive,
        visibility=visibility,
        in_reply_to_id=parent.id if parent else None,
        in_reply_to_uri=note.in_reply_to,
        in_reply_to_account_id=parent.account_id if parent else None,
        created_at=min(note.published or utcnow(), utcnow()),
        replies_count=0,
        likes_count=0,
        boosts_count=0,
    )
    # Attachments are not stored yet; when they are, a peer's `reject_media` rule drops them here.
    async with ctx.db.session() as s:
        s.add(post)
        await s.flush()
        if narrowed:
            await audit.record(s, direction="in", peer=actor.domain or "", obj=note.id, decision="rewritten",
                               rule="organization scope", reason="an organization post from a peer not trusted as organization is kept to followers")
        post.thread_id = (parent.thread_id or parent.id) if parent else post.id
        if mentioned:
            await s.execute(insert(Mention), [{"post_id": post.id, "account_id": a.id} for a in mentioned])
        await store_tags(s, post.id, note.hashtags)
        if parent is not None:
            await s.execute(update(Post).where(Post.id == parent.id).values(replies_count=Post.replies_count + 1))
        if not notify_people:
            return post  # a fetched ancestor: context for a thread, not news for anyone's home
        await fan_out_home(s, post, [a.id for a in mentioned], followers=visibility.rules.to_followers)
        replied_to = parent.account if parent is not None and parent.local else None
        if replied_to is not None:
            await notify(s, replied_to, "reply", actor.id, post.id)
        for account in mentioned:
            if replied_to is None or account.id != replied_to.id:
                await notify(s, account, "mention", actor.id, post.id)
    ctx.events.publish(Event("post", post_id=post.id))
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
    async with ctx.db.session() as s:
        post = await s.scalar(select(Post).where(Post.uri == note.id))
        if post is None:
            return "ignored: unknown object"
        if post.account_id != actor.id:
            raise Forbidden("an actor may update only its own objects")
        s.add(PostEdit(post_id=post.id, source="", content_html=post.content_html, summary=post.summary, sensitive=post.sensitive, created_at=post.edited_at or post.created_at))
        post.content_html = sanitize.sanitize_html(note.content_html)
        post.summary = sanitize.html_to_text(note.summary)
        post.sensitive = note.sensitive
        post.edited_at = note.updated or utcnow()
        await s.execute(delete(PostTag).where(PostTag.post_id == post.id))
        await store_tags(s, post.id, note.hashtags)
    ctx.events.publish(Event("edit", post_id=post.id))
    return "done"


async def on_delete(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    target = activity.object_id
    if target is None:
        raise InvalidActivity("Delete names no object")
    if origin(target) != origin(actor.actor_uri or ""):
        raise Forbidden("an actor may delete only its own objects")
    async with ctx.db.session() as s:
        if target == actor.actor_uri:
            await s.execute(delete(Post).where(Post.account_id == actor.id))
            await s.execute(delete(Follow).where((Follow.follower_id == actor.id) | (Follow.target_id == actor.id)))
            actor_row = await s.get(Account, actor.id)
            if actor_row is not None:
                actor_row.disabled = True
            return "done: account deleted"
        if await s.get(Tombstone, target) is None:
            s.add(Tombstone(uri=target, actor_uri=actor.actor_uri or "", deleted_at=utcnow()))
        post = await s.scalar(select(Post).where(Post.uri == target))
        if post is None:
            return "done: tombstone kept"
        if post.account_id != actor.id:
            raise Forbidden("an actor may delete only its own objects")
        if post.in_reply_to_id is not None:
            await s.execute(update(Post).where(Post.id == post.in_reply_to_id, Post.replies_count > 0).values(replies_count=Post.replies_count - 1))
        await s.delete(post)
    ctx.events.publish(Event("delete", post_id=post.id, deleted=post))
    return "done"
