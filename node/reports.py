"""Reports as Mastodon files them (`POST /api/v1/reports`, and the web UI's report form): about
an account, local or of another node, with some of its posts the reporter may see, a category
and a comment — kept for this node's moderators (node/moderation.py shows and resolves them).

Forwarding: when the reported account lives on another node and the reporter asks for it, a
copy goes to that node as a `Flag`, as Mastodon sends one: from this node's instance actor
(never the reporter, whose identity stays here), naming the account and those of the reported
posts that are that node's own, with the comment as its content. It leaves through the normal
way out (node/outbox.py `deliver_to`): the trust policy is asked at fan-out and again at
delivery, the outbound gate refuses a host it does not admit, each refusal is audited — and
the report is kept here whatever becomes of the copy.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import builders
from federation.parsing import origin
from node.actors import INSTANCE_ACTOR, account_uri
from node.audience import Audience
from node.context import NodeContext
from node.moderation import next_report_number
from node.outbox import deliver_to
from node.post_access import viewable
from storage.errors import Invalid, NotFound
from storage.models import Account, Post, Report, utcnow

CATEGORIES = ("spam", "legal", "violation", "other")
MAX_COMMENT = 1000  # Mastodon's limit for a local report's comment
MAX_STATUSES = 100  # posts one report may attach


@dataclass(frozen=True)
class ReportRequest:
    """What a reporter asks: Mastodon's parameters of `POST /api/v1/reports`."""

    account_id: int
    status_ids: Sequence[int] = ()
    comment: str = ""
    category: str = "other"
    rule_ids: Sequence[str] = ()
    forward: bool = False


def _checked(req: ReportRequest) -> tuple[str, str, list[int]]:
    """The comment, category and distinct post ids, or Invalid (422) naming what is wrong."""
    comment = req.comment.strip()
    if len(comment) > MAX_COMMENT:
        raise Invalid(f"Validation failed: Comment is too long (maximum is {MAX_COMMENT} characters)")
    if req.category not in CATEGORIES:
        raise Invalid(f"Validation failed: Category must be one of {', '.join(CATEGORIES)}")
    if req.rule_ids:
        # Mastodon: rule_ids must reference the server's rules (GET /api/v1/instance/rules); this
        # node has none, so any cited rule is unknown.
        raise Invalid("Validation failed: Rule ids do not reference rules of this server")
    ids = list(dict.fromkeys(req.status_ids))
    if len(ids) > MAX_STATUSES:
        raise Invalid(f"Validation failed: a report attaches at most {MAX_STATUSES} statuses")
    return comment, req.category, ids


async def _reported_posts(ctx: NodeContext, s: AsyncSession, reporter: Account, target: Account,
                          ids: list[int]) -> list[Post]:
    """The posts named, each the reported account's and one the reporter may see; else 404 for
    all (as Mastodon finds them among what the reporter may see of that account)."""
    if not ids:
        return []
    found = {p.id: p for p in (await s.scalars(select(Post).where(Post.id.in_(ids)))).unique()}
    out = []
    for post_id in ids:
        post = found.get(post_id)
        if post is None or post.account_id != target.id or not await viewable(ctx, s, reporter, post):
            raise NotFound("Record not found")
        out.append(post)
    return out


async def _forward(ctx: NodeContext, s: AsyncSession, target: Account, posts: list[Post], comment: str) -> bool:
    """Queue the Flag to the target's node, if the policy admits it there; whether it was queued."""
    actor = account_uri(ctx, target)
    home = origin(actor)
    objects = [actor]
    objects += [uri for uri in (p.uri for p in posts) if uri is not None and origin(uri) == home]
    flag_id = f"{ctx.base_url}/{INSTANCE_ACTOR}#flags/{uuid.uuid4()}"
    act = builders.flag(flag_id, f"{ctx.base_url}/{INSTANCE_ACTOR}", objects, comment)
    inboxes = await deliver_to(ctx, s, [target], act, visibility=Audience.DIRECT, signer=None,
                               object_uri=flag_id, text=comment)
    return bool(inboxes)


async def file_report(ctx: NodeContext, reporter: Account, req: ReportRequest) -> Report:
    """Keep the report for this node's moderators; forward it when asked and the account is
    another node's. Unknown account or post: NotFound; bad values: Invalid; nothing is written."""
    comment, category, ids = _checked(req)
    if req.account_id == reporter.id:
        raise Invalid("Validation failed: you cannot report yourself")
    await ctx.limits.post_by(ctx.db, reporter.id)  # a report is charged as a post is
    async with ctx.db.session() as s:
        target = await s.get(Account, req.account_id)
        if target is None or target.suspended or (target.domain is None and target.disabled):
            raise NotFound("Record not found")
        posts = await _reported_posts(ctx, s, reporter, target, ids)
        report = Report(number=await next_report_number(s), reporter_id=reporter.id, target_id=target.id,
                        post_ids=json.dumps([p.id for p in posts]), comment=comment, uri=None, resolved=False,
                        resolution="", created_at=utcnow(), category=category, rule_ids="[]", forwarded=False)
        s.add(report)
        await s.flush()
        if req.forward and target.domain is not None:
            report.forwarded = await _forward(ctx, s, target, posts, comment)
        return report


async def target_of(ctx: NodeContext, report: Report) -> Account:
    async with ctx.db.reader() as s:
        target = await s.get(Account, report.target_id)
    if target is None:
        raise NotFound("Record not found")
    return target
