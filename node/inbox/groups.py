"""Communities from and to peers (FEP-1b12): a peer's Follow of a community of this node, a peer
member's post written to one, and what a peer's community re-shares to its members here.

A community of this node is joined by the one rule every way of joining asks
(`communities.join_decision`: its audience against the peer's trust, then its mode), and a
post written to it by a peer's member is stored with its `community_id` and re-shared by the
same post effect as a post written here. A peer's community is believed about nothing it did
not itself author: what it announces is taken from the post's own origin (unless that is the
community's own server, which signed the Announce), must have been sent to it, and its
author's host must be one the policy admits — a blocked host's post is refused before any
request is made to it.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from federation import group_ap
from federation.addresses import FetchError
from federation.fetch import FetchBudget
from federation.gate import Purpose
from federation.parsing import IncomingActivity, IncomingNote, InvalidActivity, ap_to_post, origin
from node import audit, communities, post_effects, remote
from node.accounts import find_local
from node.audience import Audience
from node.communities import Join
from node.context import NodeContext
from node.follows import answer_remote
from node.inbox import follows, notes, reactions
from node.inbox.follows import local_username
from storage.errors import Forbidden
from storage.ids import new_id
from storage.models import Account, Community, CommunityInvite, Follow, Post, Tombstone, utcnow

MAX_FETCHES = 4  # requests one announced post may cause (the post, its author)


async def _local_group(ctx: NodeContext, uris: tuple[str, ...]) -> tuple[Account, Community] | None:
    """The first community of this node among `uris`."""
    async with ctx.db.reader() as s:
        for uri in uris[:20]:
            name = local_username(ctx, uri)
            account = await find_local(s, name) if name else None
            if account is not None and account.is_group and account.deleted_at is None:
                community = await communities.community_of(s, account.id)
                if community is not None:
                    return account, community
    return None


# --- a peer's person joins a community of this node ---------------------------------------

async def on_follow(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    found = await _local_group(ctx, (activity.object_id,) if activity.object_id else ())
    if found is None:
        return await follows.on_follow(ctx, activity, actor)
    group, community = found
    trust, _ = ctx.policy().trust_of(actor.domain or "")
    async with ctx.db.session() as s:
        f = await s.scalar(select(Follow).where(Follow.follower_id == actor.id, Follow.target_id == group.id))
        if f is not None:  # a repeated Follow: answer the newest one as the first was
            f.uri = activity.id
            if f.state == Join.ACCEPTED:
                await answer_remote(ctx, s, f, actor, group, "Accept")
            return f"done: already {f.state}"
        invited = await communities.is_invited(s, group.id, actor.id)
        decision = communities.join_decision(community, actor, trust, invited=invited)
        if decision.outcome is Join.REFUSED:
            await audit.record(s, direction="in", peer=actor.domain or "", obj=activity.id, decision="refused",
                               rule=f"community:{community.audience}", reason=f"join {group.username}: {decision.reason}")
            # Not stored: the answer is all the peer gets (its id is unique to this Follow).
            refused = Follow(id=0, follower_id=actor.id, target_id=group.id, state="refused", uri=activity.id)
            await answer_remote(ctx, s, refused, actor, group, "Reject")
            return f"refused: {decision.reason}"
        f = Follow(follower_id=actor.id, target_id=group.id, state=decision.outcome.value, uri=activity.id,
                   created_at=utcnow())
        s.add(f)
        if invited:
            await s.execute(delete(CommunityInvite).where(CommunityInvite.community_id == group.id,
                                                          CommunityInvite.account_id == actor.id))
        await s.flush()
        if decision.outcome is Join.ACCEPTED:
            await answer_remote(ctx, s, f, actor, group, "Accept")
        return f"done: {decision.outcome.value} ({decision.reason})"


# --- a peer's member writes to a community of this node -----------------------------------

async def on_create(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    obj = activity.object
    if obj is None or obj.get("type") not in group_ap.NOTE_TYPES:
        return await notes.on_create(ctx, activity, actor)
    found = await _local_group(ctx, group_ap.addressees(obj))
    if found is None:
        return await notes.on_create(ctx, activity, actor)
    group, community = found
    note = ap_to_post(obj)
    if note.attributed_to != actor.actor_uri:
        raise Forbidden("the note is attributed to someone other than the actor")
    async with ctx.db.reader() as s:
        member = await s.scalar(select(Follow.id).where(
            Follow.follower_id == actor.id, Follow.target_id == group.id, Follow.state == Join.ACCEPTED))
        tombstone = await s.get(Tombstone, note.id)
        stored = await s.scalar(select(Post.id).where(Post.uri == note.id))
    if member is None:
        raise Forbidden(f"only members write to {group.username}: {actor.acct()} is not one")
    trust, _ = ctx.policy().trust_of(actor.domain or "")
    if not Audience(community.audience).admits(trust):  # a member once, trusted less since
        raise Forbidden(f"a {community.audience} community takes no posts from {actor.domain}")
    if tombstone is not None and tombstone.actor_uri == actor.actor_uri:
        return "ignored: deleted before it arrived"
    if stored is not None:
        return "ignored: already stored"
    audience = _community_audience(ctx, actor, note, Audience(community.audience))
    mentioned = await notes.local_mentions(ctx, note.mentions)
    await notes.store_note(ctx, note, actor, mentioned, community_id=group.id, audience=audience)
    return "done: written to the community and re-shared"


def _community_audience(ctx: NodeContext, actor: Account, note: IncomingNote, community: Audience) -> Audience:
    """The audience a peer member's post to a community of this node keeps here: what its
    author asked, never wider than the community's (an `organization` community keeps even a
    public post to the organisation). A post for fewer people than a boost keeps (followers,
    direct) is not the community's to re-share."""
    trust, _ = ctx.policy().trust_of(actor.domain or "")
    asked = Audience.addressed(note.to, note.cc, actor.followers_uri, note.scope).as_claimed_by(trust)
    if not asked.rules.boostable:
        raise Forbidden(f"a {asked} post is not re-shared by a community: write it for the community's audience")
    if community is Audience.ORGANIZATION or asked is Audience.ORGANIZATION:
        return Audience.ORGANIZATION
    return asked


# --- what a peer's community re-shares ---------------------------------------------------

async def on_announce(ctx: NodeContext, activity: IncomingActivity, actor: Account) -> str:
    if not actor.is_group:
        return await reactions.on_announce(ctx, activity, actor)
    async with ctx.db.reader() as s:
        if await s.scalar(select(Post.id).where(Post.uri == activity.id)):
            return "ignored: already stored"
        member = await s.scalar(select(Follow.id).where(
            Follow.target_id == actor.id, Follow.state == Join.ACCEPTED).limit(1))
    if member is None:
        return f"ignored: nobody here is a member of {actor.acct()}"
    announced = group_ap.ap_to_announced(activity.raw.get("object"))
    if announced.kind in ("Note", "Create"):
        post = await _announced_post(ctx, actor, announced)
        return await _reshare(ctx, activity, actor, post)
    if announced.kind == "Update":
        return await _update(ctx, actor, announced)
    if announced.kind == "Delete":
        return await _delete(ctx, actor, announced)
    return await _like(ctx, actor, announced)


def _refuse_blocked(ctx: NodeContext, uris: list[str]) -> str | None:
    """The first host among `uris` the policy does not admit, with why; checked before any
    request, so that a blocked host is never contacted for what a group relays."""
    for uri in uris:
        domain = remote.domain_of(uri)
        decision = ctx.policy().inbound(domain)
        if not decision.allowed:
            return f"{domain}: {decision.reason} ({decision.rule})"
    return None


async def _refused(ctx: NodeContext, group: Account, obj: str, reason: str) -> Forbidden:
    await audit.record_now(ctx.db, direction="in", peer=group.domain or "", obj=obj, decision="refused",
                           rule="community:announce", reason=reason)
    return Forbidden(reason)


async def _authoritative(ctx: NodeContext, group: Account, announced: group_ap.Announced) -> dict[str, object]:
    """The announced post as its own origin says it: the embedded copy only when it is on the
    group's own server (which signed the Announce), else fetched by id through the gate."""
    hosts = [announced.object_id]
    if announced.note is not None and (author := group_ap.attributed_to(announced.note)):
        hosts.append(author)
    if announced.activity is not None and isinstance(announced.activity.get("actor"), str):
        hosts.append(str(announced.activity["actor"]))
    if blocked := _refuse_blocked(ctx, hosts):
        raise await _refused(ctx, group, announced.object_id, f"the announced post's host is refused, {blocked}: not fetched")
    if announced.note is not None and origin(announced.object_id) == origin(group.actor_uri or ""):
        return announced.note
    if ctx.fetcher is None:
        raise Forbidden("this node fetches nothing")
    doc = await ctx.fetcher.fetch_object(announced.object_id, purpose=Purpose.BOOST_FETCH,
                                         budget=FetchBudget(MAX_FETCHES))
    if doc.get("type") == "Create" and isinstance(doc.get("object"), dict):
        inner = doc["object"]  # an activity announced by id: its note, on the same origin
        if origin(str(inner.get("id", ""))) == origin(announced.object_id):
            doc = inner
    return doc


async def _announced_post(ctx: NodeContext, group: Account, announced: group_ap.Announced) -> Post:
    """The post a group re-shares, stored here (with the group as its community) once it is
    known to be the author's and to have been sent to the group."""
    group_uri = group.actor_uri or ""
    async with ctx.db.reader() as s:
        known = await s.scalar(select(Post).where(Post.uri == announced.object_id))
    if known is not None and known.community_id == group.id:
        return known
    if known is not None and known.local:  # ours, and we know whom it was written to
        raise await _refused(ctx, group, announced.object_id, "the group announced a post that was never sent to it")
    doc = await _authoritative(ctx, group, announced)
    note = ap_to_post(doc)
    if note.id != announced.object_id and not announced.by_reference:
        raise InvalidActivity("the announced post is not the one named")
    if origin(note.attributed_to) != origin(note.id):
        raise Forbidden("the announced post is attributed to someone of another server")
    if blocked := _refuse_blocked(ctx, [note.attributed_to]):
        raise await _refused(ctx, group, note.id, f"the announced post's author is refused, {blocked}")
    if not group_ap.sent_to(doc, group_uri):
        raise await _refused(ctx, group, note.id, "the group announced a post that was never sent to it")
    if known is not None:  # a copy we had, now known to be the community's
        async with ctx.db.session() as s:
            row = await s.get(Post, known.id)
            if row is not None:
                row.community_id = group.id
        return known
    author = await remote.actor_by_uri(ctx, note.attributed_to, budget=FetchBudget(MAX_FETCHES))
    mentioned = await notes.local_mentions(ctx, note.mentions)
    return await notes.store_note(ctx, note, author, mentioned, notify_people=False, community_id=group.id)


async def _reshare(ctx: NodeContext, activity: IncomingActivity, group: Account, post: Post) -> str:
    """The group's boost of `post`: what puts it in its members' homes here."""
    async with ctx.db.session() as s:
        original = await s.get(Post, post.id)
        if original is None:
            return "ignored: the announced post is gone"
        audience = Audience(original.visibility)
        if not audience.rules.boostable or not audience.federates:
            raise Forbidden(f"a {original.visibility} post cannot be re-shared")
        trust, _ = ctx.policy().trust_of(group.domain or "")
        if audience is Audience.ORGANIZATION and not audience.admits(trust):
            raise Forbidden("only the organisation may re-share an organisation post")
        boost = post_effects.new_boost(group, activity.id, original, post_id=new_id())
        events = await post_effects.record_boosts(ctx, s, [post_effects.Boost(boost, original, notify_author=False)])
    post_effects.publish(ctx, events)
    return "done: re-shared by the community"


async def _update(ctx: NodeContext, group: Account, announced: group_ap.Announced) -> str:
    async with ctx.db.reader() as s:
        known = await s.scalar(select(Post).where(Post.uri == announced.object_id))
    if known is None or known.local:
        return "ignored: not a peer's post kept here"
    if known.community_id != group.id:
        raise await _refused(ctx, group, announced.object_id, "the group announced an edit of a post not sent to it")
    doc = await _authoritative(ctx, group, announced)
    async with ctx.db.reader() as s:
        author = await s.get(Account, known.account_id)
    assert author is not None
    edit = IncomingActivity(id=f"{announced.object_id}#group-update", type="Update", actor=author.actor_uri or "",
                            object_id=announced.object_id, object=doc, to=(), cc=(), raw={})
    return await notes.on_update(ctx, edit, author)


async def _delete(ctx: NodeContext, group: Account, announced: group_ap.Announced) -> str:
    """A post taken out of the group: its re-share here goes. The post itself goes too when
    its origin says it is gone (or the origin is the group's own server)."""
    async with ctx.db.reader() as s:
        known = await s.scalar(select(Post).where(Post.uri == announced.object_id))
    if known is None:
        return "ignored: not kept here"
    if known.community_id != group.id:
        raise await _refused(ctx, group, announced.object_id, "the group announced a removal of a post not sent to it")
    gone = not known.local and origin(announced.object_id) == origin(group.actor_uri or "")
    if not known.local and not gone and not _refuse_blocked(ctx, [announced.object_id]) and ctx.fetcher is not None:
        try:
            doc = await ctx.fetcher.fetch_object(announced.object_id, purpose=Purpose.OBJECT, budget=FetchBudget(1))
            gone = doc.get("type") == "Tombstone"
        except FetchError as exc:
            gone = exc.status in (404, 410)
    async with ctx.db.session() as s:
        doomed = list((await s.scalars(select(Post).where(Post.account_id == group.id,
                                                          Post.reblog_of_id == known.id))).all())
        if gone:
            row = await s.get(Post, known.id)
            if row is not None:
                doomed.append(row)
        events = await post_effects.remove_posts(ctx, s, doomed)
    post_effects.publish(ctx, events)
    return "done: removed" if gone else "done: the community's re-share removed"


async def _like(ctx: NodeContext, group: Account, announced: group_ap.Announced) -> str:
    """A like the group relays (Lemmy's votes): counted only for a post of this node, and only
    as the liker's own server says it (fetched by id unless on the group's server)."""
    like = announced.activity or {}
    liker_uri = like.get("actor")
    like_id = like.get("id")
    if not isinstance(liker_uri, str) or not isinstance(like_id, str):
        raise InvalidActivity("the announced Like names no actor or id")
    async with ctx.db.reader() as s:
        post = await s.scalar(select(Post).where(Post.uri == announced.object_id))
    if post is None or not post.local:
        return "ignored: likes of peers' posts are counted by their own nodes"
    if origin(like_id) != origin(liker_uri):
        raise Forbidden("the announced Like is not on its actor's server")
    if blocked := _refuse_blocked(ctx, [liker_uri]):
        raise await _refused(ctx, group, like_id, f"the announced Like's actor is refused, {blocked}: not fetched")
    if origin(like_id) != origin(group.actor_uri or ""):
        if ctx.fetcher is None:
            raise Forbidden("this node fetches nothing")
        like = await ctx.fetcher.fetch_object(like_id, purpose=Purpose.OBJECT, budget=FetchBudget(MAX_FETCHES))
        if like.get("type") != "Like" or like.get("actor") != liker_uri or group_ap.ap_to_announced(like).object_id != post.uri:
            raise Forbidden("the liker's server does not confirm the Like")
    liker = await remote.actor_by_uri(ctx, liker_uri, budget=FetchBudget(MAX_FETCHES))
    incoming = IncomingActivity(id=like_id, type="Like", actor=liker_uri, object_id=post.uri, object=None,
                                to=(), cc=(), raw=like)
    return await reactions.on_like(ctx, incoming, liker)
