"""Outbound fan-out: turn a local change into activities, pick the remote inboxes its audience
and the trust policy admit, and queue one delivery per inbox.

Writes happen in the caller's transaction (`queue_fanout`), the heavy part in the `fanout`
job (`handle_fanout`), the network in the `deliver` job (node.delivery).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import builders, group_ap
from federation.addressing import EVERYONE, NotFederated
from federation.poll_ap import poll_to_ap
from node import accounts, announcement_peers, audit, metrics, profile_fields
from node.actors import account_uri, followers_uri, group_document, instance_document, person_document
from node.audience import Audience, audience_of
from node.context import NodeContext
from node.delivery_check import decide, stamp, text_of
from node.media_out import Outgoing, carries_media, judged_text, outgoing, without_media
from node.poll_rows import poll_data, voters
from node.queues import DELIVER as DELIVER  # where the queue's name was first defined
from node.queues import (
    ActorUpdated,
    AnnouncementChanged,
    Boosted,
    Delivery,
    FanoutJob,
    InstanceUpdated,
    PollCounted,
    PostCreated,
    PostDeleted,
    PostEdited,
    Unboosted,
    parse_fanout,
)
from storage import jobs
from storage.models import Account, Announcement, Community, Follow, Mention, Poll, Post, PostTag, Tag


async def _mentions(s: AsyncSession, post_id: int) -> list[Account]:
    return list(
        await s.scalars(select(Account).join(Mention, Mention.account_id == Account.id).where(Mention.post_id == post_id))
    )


async def note_document(
    ctx: NodeContext, s: AsyncSession, post: Post, author: Account, media: Outgoing | None = None
) -> dict[str, object]:
    """The post as a Note, with its attachments (`media`, read here when not given); a post
    with a poll as a Question (federation/poll_ap.py) with its counts as they are now."""
    if media is None:
        media = await outgoing(ctx.base_url, s, post.id)
    mentioned = await _mentions(s, post.id)
    tags = (await s.scalars(select(Tag.name).join(PostTag, PostTag.tag_id == Tag.id).where(PostTag.post_id == post.id))).all()
    mention_uris = [account_uri(ctx, a) for a in mentioned]
    doc = builders.post_to_ap(
        builders.NoteData(
            id=post.uri or ctx.post_uri(author.username, post.id),
            url=post.url or ctx.post_url(author.username, post.id),
            attributed_to=account_uri(ctx, author),
            content_html=post.content_html,
            summary=post.summary,
            sensitive=post.sensitive,
            published=post.created_at,
            updated=post.edited_at,
            addressing=audience_of(post.visibility).address(followers_uri(ctx, author.username), mention_uris),
            in_reply_to=post.in_reply_to_uri,
            language=post.language,
            mentions=[(account_uri(ctx, a), f"@{a.acct() if a.domain else a.username + '@' + ctx.domain}") for a in mentioned],
            hashtags=[(t, ctx.tag_url(t)) for t in tags],
            attachments=media.attachments,
        ),
        with_context=False,
    )
    poll = await s.get(Poll, post.id)
    if poll is not None:
        doc = poll_to_ap(doc, poll_data(poll))
    group = await s.get(Account, post.community_id) if post.community_id is not None else None
    # A post written to a community names it (FEP-1b12): its node takes it in and re-shares it.
    return group_ap.address_to_group(doc, account_uri(ctx, group)) if group is not None else doc


class Recipient(Protocol):
    """What a delivery needs of an account (an Account, or a row of just these columns)."""

    domain: str | None
    disabled: bool
    suspended: bool
    shared_inbox_uri: str | None
    inbox_uri: str | None


async def remote_followers(s: AsyncSession, author_id: int) -> list[Recipient]:
    """The author's remote followers, as the columns delivery reads: loading 10k Account
    objects for a fan-out cost more than everything else it does (the benchmark's profile)."""
    rows = await s.execute(
        select(Account.domain, Account.disabled, Account.suspended, Account.shared_inbox_uri, Account.inbox_uri)
        .join(Follow, Follow.follower_id == Account.id)
        .where(Follow.target_id == author_id, Follow.state == "accepted", Account.domain.is_not(None))
    )
    return list(rows.all())  # rows carry exactly Recipient's attributes


async def deliver_to(
    ctx: NodeContext,
    s: AsyncSession,
    recipients: Iterable[Recipient],
    activity: dict[str, object],
    *,
    visibility: str,
    signer: Account | None,
    object_uri: str,
    shared_inbox: bool = True,
    text: str = "",
    post: Post | None = None,
    carries_post: bool = False,
) -> list[str]:
    """Queue `activity` for each recipient's inbox the trust policy admits (shared inboxes
    grouped); record each refusal in the audit trail; return the inboxes. A peer whose rule
    withholds media gets the activity without its attachments (audited as rewritten).

    The policy is asked about `visibility` and `text`: `post`'s (the post the activity is
    about, if any), which each delivery names so that it is judged again, on the post as it is
    then, when it is sent (node.delivery_check); `carries_post`: the activity carries the
    post's text (a Create or Update)."""
    policy = ctx.policy()
    inboxes: dict[str, str] = {}
    decided: dict[str, str | None] = {}  # stored domain -> canonical one if admitted
    withheld: set[str] = set()  # canonical domains that get the activity without its media
    has_media = carries_media(activity)
    for account in recipients:
        if account.domain is None or account.disabled or account.suspended:  # suspended: node/moderation.py
            continue
        if account.domain not in decided:
            domain, decision = decide(policy, visibility, account.domain, text)
            decided[account.domain] = domain if decision.allowed else None
            metrics.decision(ctx, "out", decision.allowed)
            if not decision.allowed:
                await audit.record(s, direction="out", peer=domain, obj=object_uri,
                                   decision="refused", rule=decision.rule, reason=decision.reason)
            elif has_media and not (media := policy.media_out(domain)).allowed:
                withheld.add(domain)
                await audit.record(s, direction="out", peer=domain, obj=object_uri,
                                   decision="rewritten", rule=media.rule, reason=f"{media.reason}; the text goes")
        admitted = decided[account.domain]
        if admitted is None:
            continue
        inbox = (account.shared_inbox_uri if shared_inbox else None) or account.inbox_uri
        if inbox:
            inboxes.setdefault(inbox, admitted)
    body = json.dumps(activity)
    bare = json.dumps(without_media(activity)) if withheld else body
    signer_id = signer.id if signer else None
    post_id = post.id if post is not None else None
    version = stamp(post.edited_at) if post is not None and carries_post else None
    payloads: list[bytes] = []
    places: list[jobs.Placement] = []
    for inbox, domain in inboxes.items():
        sent = bare if domain in withheld else body
        payloads.append(Delivery(inbox, domain, signer_id, sent, object_uri, visibility, post_id, carries_post,
                                 version).to_json())
        places.append({"ordering_key": f"{object_uri} {inbox}"[:512], "target": domain})
    await jobs.enqueue_many_in(s, DELIVER, payloads, places)
    return list(inboxes)


def post_text(post: Post) -> str:
    """What content rules read: the text as written, or as shown for a post from elsewhere."""
    return text_of(post.source, post.content_html)


def open_web_may_see(ctx: NodeContext, post: Post) -> bool:
    """Whether an anonymous reader (an unsigned fetch, the API without a token) may see the
    post: the same policy function as every other way out, with the reader as the open web."""
    return ctx.policy().outbound(post.visibility, None, post_text(post)).allowed


def activity_id(ctx: NodeContext, author: Account, post_id: int, kind: str, stamp: int) -> str:
    return f"{ctx.actor_uri(author.username)}/statuses/{post_id}/activity#{kind.lower()}-{stamp}"


async def handle_fanout(ctx: NodeContext, job: jobs.ClaimedJob) -> None:
    """The `fanout` job: build the activity of a local change and queue its deliveries."""
    record = parse_fanout(job.payload)
    await FANOUT_DISPATCH[type(record)](ctx, record, job.id)


async def _fanout_post(ctx: NodeContext, job: PostCreated | PostEdited | PollCounted, job_id: int) -> None:
    async with ctx.db.session() as s:
        post = await s.get(Post, job.post_id)
        if post is None:
            return  # deleted since: its Delete fan-out speaks for it
        author = await s.get(Account, post.account_id)
        assert author is not None
        media = await outgoing(ctx.base_url, s, post.id)
        try:
            note = await note_document(ctx, s, post, author, media)
        except NotFederated:
            return
        recipients: list[Recipient] = list(await _mentions(s, post.id))
        if audience_of(post.visibility).rules.to_followers:
            recipients += await remote_followers(s, author.id)
        if isinstance(job, PollCounted):  # the peers' voters learn the counts too (each still asked)
            recipients += await voters(s, post.id, remote=True)
        if post.community_id is not None and (group := await s.get(Account, post.community_id)) is not None:
            recipients.append(group)  # a peer's community: its inbox is where the post is written to
        act = builders.activity(
            "Update" if isinstance(job, PollCounted) else job.KIND,
            activity_id(ctx, author, post.id, job.KIND, job_id),
            account_uri(ctx, author),
            note,
            to=note["to"],  # type: ignore[arg-type]
            cc=note["cc"],  # type: ignore[arg-type]
            published=post.edited_at if isinstance(job, PostEdited) and post.edited_at else post.created_at,
        )
        await deliver_to(ctx, s, recipients, act, visibility=post.visibility, signer=author,
                         object_uri=str(note["id"]), text=judged_text(post_text(post), media), post=post,
                         carries_post=True)


async def _fanout_delete(ctx: NodeContext, job: PostDeleted, job_id: int) -> None:
    async with ctx.db.session() as s:
        author = await s.get(Account, job.author_id)
        audience = audience_of(job.visibility)
        if author is None or not audience.federates:
            return
        recipients = list[Recipient](await s.scalars(select(Account).where(Account.id.in_(job.mention_ids))))
        if audience.rules.to_followers:
            recipients += await remote_followers(s, author.id)
        act = builders.activity(
            "Delete",
            f"{job.uri}#delete",
            account_uri(ctx, author),
            builders.tombstone(job.uri),
            to=audience.delete_addressing().to,
        )
        # The post is gone: its deliveries are judged again on the audience it had.
        await deliver_to(ctx, s, recipients, act, visibility=job.visibility, signer=author, object_uri=job.uri)


async def _fanout_actor_update(ctx: NodeContext, job: ActorUpdated, job_id: int) -> None:
    """The actor's `Update` to its followers' nodes. With organisation-only profile fields, a
    peer the policy admits for the organisation's audience gets the document with them (judged
    as an `organization` delivery, again when it is sent); every other peer the one without."""
    account = await accounts.get_account(ctx, job.account_id)
    if account.is_group:
        await _fanout_group_update(ctx, account, job_id)
        return
    fields = await profile_fields.all_fields(ctx, account)
    # Built before the write transaction: it may make the account's keys (its own transaction).
    doc = await person_document(ctx, account, fields=fields)
    act = builders.activity(
        "Update", f"{doc['id']}#updates/{job_id}", str(doc["id"]), doc, to=EVERYONE.to
    )
    inner = any(f.organization_only for f in fields)
    full = await person_document(ctx, account, organization=True, fields=fields) if inner else doc
    async with ctx.db.session() as s:
        followers = await remote_followers(s, account.id)
        if inner:
            policy = ctx.policy()
            admitted = {f.domain for f in followers if f.domain is not None
                        and decide(policy, Audience.ORGANIZATION, f.domain, "")[1].allowed}
            await deliver_to(ctx, s, [f for f in followers if f.domain in admitted],
                             {**act, "object": {k: v for k, v in full.items() if k != "@context"}},
                             visibility=Audience.ORGANIZATION, signer=account, object_uri=str(doc["id"]))
            followers = [f for f in followers if f.domain not in admitted]
        await deliver_to(ctx, s, followers, act, visibility=Audience.PUBLIC, signer=account, object_uri=str(doc["id"]))


async def _fanout_group_update(ctx: NodeContext, account: Account, job_id: int) -> None:
    """A local community's `Update(Group)` to its members' nodes, judged on the community's
    audience as everything of it that leaves (node/communities.py `reachable_by` asks the same
    function): an `organization` community's reaches organisation peers only, a `local` one's
    nowhere."""
    doc = await group_document(ctx, account)
    act = builders.activity("Update", f"{doc['id']}#updates/{job_id}", str(doc["id"]), doc,
                            to=[followers_uri(ctx, account.username)])
    async with ctx.db.session() as s:
        community = await s.get(Community, account.id)
        if community is None:  # a peer's community: its own node sends its updates
            return
        followers = await remote_followers(s, account.id)
        await deliver_to(ctx, s, followers, act, visibility=community.audience, signer=account,
                         object_uri=str(doc["id"]))


async def _fanout_instance_update(ctx: NodeContext, job: InstanceUpdated, job_id: int) -> None:
    """Update(Application) of the instance actor to every known peer (one inbox a domain,
    the shared one where there is one): any peer may have cached the key of our fetches."""
    doc = await instance_document(ctx)
    act = builders.activity(
        "Update", f"{doc['id']}#updates/{job_id}", str(doc["id"]), doc, to=EVERYONE.to
    )
    async with ctx.db.session() as s:
        one_a_domain: dict[str, Account] = {}
        peers_accounts = await s.scalars(
            select(Account)
            .where(Account.domain.is_not(None), Account.disabled.is_not(True), Account.suspended.is_not(True))
            .order_by(Account.id)
        )
        for account in peers_accounts:
            known = one_a_domain.get(account.domain or "")
            if known is None or (not known.shared_inbox_uri and account.shared_inbox_uri):
                one_a_domain[account.domain or ""] = account
        await deliver_to(ctx, s, one_a_domain.values(), act, visibility=Audience.PUBLIC, signer=None,
                         object_uri=str(doc["id"]))


async def _fanout_announce(ctx: NodeContext, job: Boosted | Unboosted, job_id: int) -> None:
    async with ctx.db.session() as s:
        booster = await s.get(Account, job.booster_id)
        original = await s.get(Post, job.original_id)
        if booster is None or original is None or original.uri is None:
            return
        visibility = audience_of(original.visibility)
        if not visibility.federates:
            return
        original_author = await s.get(Account, original.account_id)
        announce_id = job.announce_uri
        addressed = visibility.announce_addressing(
            followers_uri(ctx, booster.username), account_uri(ctx, original_author) if original_author else None
        )
        announce = builders.activity(
            "Announce", announce_id, account_uri(ctx, booster), original.uri, to=addressed.to, cc=addressed.cc
        )
        act = announce
        if isinstance(job, Unboosted):
            act = builders.activity("Undo", f"{announce_id}#undo", account_uri(ctx, booster), announce)
        recipients = await remote_followers(s, booster.id)
        if original_author is not None:
            recipients.append(original_author)
        await deliver_to(ctx, s, recipients, act, visibility=visibility, signer=booster, object_uri=announce_id,
                         text=post_text(original), post=original)


async def _fanout_announcement(ctx: NodeContext, job: AnnouncementChanged, job_id: int) -> None:
    """An organisation-wide announcement to the organisation's peers, from the instance actor,
    judged as an `organization` delivery (node/announcement_peers.py)."""
    peers = await announcement_peers.recipients(ctx)
    async with ctx.db.session() as s:
        act = announcement_peers.activity(ctx, job, await s.get(Announcement, job.announcement_id), job_id)
        if act is None:
            return
        await deliver_to(ctx, s, peers, act, visibility=Audience.ORGANIZATION, signer=None, object_uri=job.uri or str(act["id"]))


_J = TypeVar("_J", bound=FanoutJob)
FanoutHandler = Callable[[NodeContext, Any, int], Awaitable[None]]


def _route(record: type[_J], handler: Callable[[NodeContext, _J, int], Awaitable[None]]) -> tuple[type[_J], FanoutHandler]:
    """One row of the dispatch table, its handler checked against its record's type."""
    return record, handler


_ROUTES = (  # each row inferred on its own, so that its handler is checked against its record
    _route(PostCreated, _fanout_post),
    _route(PostEdited, _fanout_post),
    _route(PostDeleted, _fanout_delete),
    _route(Boosted, _fanout_announce),
    _route(Unboosted, _fanout_announce),
    _route(ActorUpdated, _fanout_actor_update),
    _route(InstanceUpdated, _fanout_instance_update),
    _route(PollCounted, _fanout_post),
    _route(AnnouncementChanged, _fanout_announcement),
)
# The fan-out queue's dispatch table: one handler per kind of record (node.queues).
FANOUT_DISPATCH: dict[type[FanoutJob], FanoutHandler] = dict(_ROUTES)


async def send_one(
    ctx: NodeContext, s: AsyncSession, target: Account, activity: dict[str, object], signer: Account, object_uri: str
) -> None:
    """A one-to-one activity (Follow, Accept, Like, Undo…) to a remote account's own inbox."""
    await deliver_to(ctx, s, [target], activity, visibility=Audience.DIRECT, signer=signer, object_uri=object_uri, shared_inbox=False)
