"""What the node's staff do: manage local users (admins), and handle reports, remove posts,
suspend or silence local and remote accounts (moderators and admins).

Every action is recorded in the audit trail (direction "admin") in the same transaction as
the change, so the record and the action commit together.

Suspended: the account's posts are hidden everywhere on this node (timelines, threads, the
client API, ActivityPub serving), a local one cannot sign in, and a remote one's inbound
activities are refused (node/inbound.py). Silenced: its posts stay out of the shared timelines
(local, federated, organisation, hashtags); its followers still see them at home.

Answering a reporter: a local reporter gets the answer as a direct post from the moderator
(a real message, seen in their notifications); a remote reporter's answer is kept on the
report and in the audit trail only — nothing is federated (ActivityPub has no reply to a Flag).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node import audit, posts
from node.accounts import check_username, create_user, find_local, refuse_deleted
from node.audience import Audience
from node.context import NodeContext
from node.domains import canonical_domain
from node.federate import queue_fanout
from node.queues import ActorUpdated
from storage.db import lock_for_transaction
from storage.errors import Conflict, Forbidden, Invalid, NotFound
from storage.models import ROLES, Account, Post, Report, utcnow

STAFF = ("moderator", "admin")
ACCOUNT_ACTIONS = ("suspend", "unsuspend", "silence", "unsilence")
MAX_ANSWER = 2000
MAX_COMMENT = 2000
_REPORT_NUMBER_LOCK = 0x5245504F5254  # "REPORT": the advisory lock numbering reports


def is_staff(account: Account | None) -> bool:
    return account is not None and account.domain is None and account.role in STAFF


def require(actor: Account, *roles: str) -> None:
    if actor.domain is not None or actor.role not in roles:
        raise Forbidden("this is for the node's " + " and ".join(f"{r}s" for r in roles))


async def _record(s: AsyncSession, actor: Account, *, target: str, action: str, reason: str, peer: str = "") -> None:
    await audit.record(
        s, direction="admin", peer=peer, obj=target, decision="accepted", rule=f"admin:{action}",
        reason=f"by @{actor.username}" + (f": {reason}" if reason else ""),
    )


def _acct_ref(account: Account) -> str:
    return f"accounts/{account.acct()}"


# Users (admins only) ---------------------------------------------------------------------


async def add_user(ctx: NodeContext, admin: Account, username: str, password: str, role: str, email: str | None) -> Account:
    require(admin, "admin")
    check_username(username)
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise Invalid("the password needs at least 8 characters")
    account = await create_user(ctx, username, password, role=role, email=email or None)
    async with ctx.db.session() as s:
        await _record(s, admin, target=_acct_ref(account), action="create-user", reason=f"role {role}")
    return account


async def _local_for_admin(s: AsyncSession, admin: Account, username: str) -> Account:
    require(admin, "admin")
    account = await find_local(s, username)
    if account is None:
        raise NotFound(f"no such user: {username}")
    if account.id == admin.id:
        raise Conflict("you cannot change your own account here (ask another admin)")
    return account


async def set_disabled(ctx: NodeContext, admin: Account, username: str, disabled: bool) -> Account:
    """Disable (sign-in refused, sessions and tokens void, peers told) or enable a local user."""
    async with ctx.db.session() as s:
        account = await _local_for_admin(s, admin, username)
        refuse_deleted(account)
        if account.disabled != disabled:
            account.disabled = disabled
            if disabled:
                account.credentials_version += 1
            await queue_fanout(s, ActorUpdated(account.id))
        await _record(s, admin, target=_acct_ref(account), action="disable-user" if disabled else "enable-user", reason="")
        return account


async def change_role(ctx: NodeContext, admin: Account, username: str, role: str) -> Account:
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    async with ctx.db.session() as s:
        account = await _local_for_admin(s, admin, username)
        before, account.role = account.role, role
        await _record(s, admin, target=_acct_ref(account), action="set-role", reason=f"{before} -> {role}")
        return account


# Moderation (moderators and admins) --------------------------------------------------------


async def remove_post(ctx: NodeContext, moderator: Account, post_id: int, reason: str = "") -> Post:
    """Delete a post of anyone's (a local one is also deleted at the peers that have it)."""
    require(moderator, *STAFF)
    post = await posts.delete_post(ctx, moderator, post_id)
    async with ctx.db.session() as s:
        await _record(s, moderator, target=post.uri or f"posts/{post.id}", action="remove-post",
                      reason=reason[:MAX_ANSWER], peer=post.account.domain or "")
    return post


async def moderate_account(ctx: NodeContext, moderator: Account, account_id: int, action: str, reason: str = "") -> Account:
    """Suspend, silence or lift either, for a local or a remote account."""
    require(moderator, *STAFF)
    if action not in ACCOUNT_ACTIONS:
        raise Invalid(f"unknown action {action!r}: one of {', '.join(ACCOUNT_ACTIONS)}")
    async with ctx.db.session() as s:
        account = await s.get(Account, account_id)
        if account is None:
            raise NotFound("no such account")
        if account.id == moderator.id:
            raise Conflict("you cannot moderate your own account")
        if is_staff(account) and moderator.role != "admin":
            raise Forbidden("only an admin may moderate the node's staff")
        if action in ("suspend", "unsuspend"):
            account.suspended = action == "suspend"
            if account.is_local:
                if account.suspended:
                    account.credentials_version += 1  # its sessions and tokens end now
                await queue_fanout(s, ActorUpdated(account.id))  # peers learn of it
        else:
            account.silenced = action == "silence"
        await _record(s, moderator, target=_acct_ref(account), action=action, reason=reason[:MAX_ANSWER],
                      peer=account.domain or "")
    ctx.signers.forget_actor(account.actor_uri)  # its next request is judged on the new state
    return account


async def moderated_accounts(ctx: NodeContext, moderator: Account, limit: int = 200) -> list[Account]:
    """Accounts currently suspended or silenced, oldest first."""
    require(moderator, *STAFF)
    async with ctx.db.reader() as s:
        rows = await s.scalars(
            select(Account).where(Account.suspended.is_(True) | Account.silenced.is_(True)).order_by(Account.id).limit(limit)
        )
        return list(rows)


async def find_account(ctx: NodeContext, moderator: Account, handle: str) -> Account:
    """A local (`name`) or known remote (`name@domain`) account; no fetch: what this node has
    never heard of has nothing here to moderate."""
    require(moderator, *STAFF)
    user, _, domain = handle.strip().lstrip("@").partition("@")
    if not user:
        raise Invalid("type a username, or user@domain for someone on another server")
    remote = canonical_domain(domain) if domain else None
    if remote == ctx.domain:
        remote = None
    stmt = select(Account).where(func.lower(Account.username) == user.lower())
    stmt = stmt.where(Account.domain.is_(None) if remote is None else Account.domain == remote)
    async with ctx.db.reader() as s:
        account = await s.scalar(stmt)
    if account is None:
        raise NotFound(f"no account {handle.strip()!r} is known to this node")
    return account


# Reports -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportView:
    report: Report
    reporter: Account
    target: Account
    posts: list[Post]
    missing_posts: int  # reported posts since removed


async def next_report_number(s: AsyncSession) -> int:
    """The number the report about to be added in `s` takes: one more than the last. Writers
    numbering reports wait for each other until their transaction ends, so two reports
    filed at once never take the same number (the unique constraint is the backstop)."""
    await lock_for_transaction(s, _REPORT_NUMBER_LOCK)
    last = await s.scalar(select(func.max(Report.number)))
    return (last or 0) + 1


async def file_report(ctx: NodeContext, reporter: Account, post_id: int, comment: str) -> Report:
    """A local user reports a post they can see to this node's moderators."""
    if len(comment) > MAX_COMMENT:
        raise Invalid(f"the comment is too long: at most {MAX_COMMENT} characters")
    async with ctx.db.session() as s:
        post = await posts.load_visible(ctx, s, reporter, post_id)
        if post.account_id == reporter.id:
            raise Invalid("you cannot report your own post")
        report = Report(number=await next_report_number(s), reporter_id=reporter.id, target_id=post.account_id,
                        post_ids=json.dumps([post.id]),
                        comment=comment.strip(), uri=None, resolved=False, resolution="", created_at=utcnow())
        s.add(report)
        await s.flush()
        return report


def reported_post_ids(report: Report) -> list[int]:
    """The ids of the posts a report names (a malformed list reads as none)."""
    try:
        ids = json.loads(report.post_ids or "[]")
    except ValueError:
        return []
    return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


async def _view(s: AsyncSession, report: Report) -> ReportView:
    ids = reported_post_ids(report)
    found = list((await s.scalars(select(Post).where(Post.id.in_(ids)).order_by(Post.id))).unique()) if ids else []
    reporter = await s.get(Account, report.reporter_id)
    target = await s.get(Account, report.target_id)
    assert reporter is not None and target is not None  # foreign keys cascade on delete
    return ReportView(report, reporter, target, found, len(ids) - len(found))


async def list_reports(ctx: NodeContext, moderator: Account, *, resolved: bool, limit: int = 50) -> list[ReportView]:
    require(moderator, *STAFF)
    async with ctx.db.reader() as s:
        rows = await s.scalars(
            select(Report).where(Report.resolved.is_(resolved)).order_by(Report.id.desc()).limit(limit)
        )
        return [await _view(s, r) for r in rows.all()]


async def get_report(ctx: NodeContext, moderator: Account, report_id: int) -> ReportView:
    require(moderator, *STAFF)
    async with ctx.db.reader() as s:
        report = await s.get(Report, report_id)
        if report is None:
            raise NotFound("no such report")
        return await _view(s, report)


async def resolve_report(ctx: NodeContext, moderator: Account, report_id: int, answer: str) -> ReportView:
    """Close a report, with an answer to the reporter (see the module's note on how it travels)."""
    require(moderator, *STAFF)
    answer = answer.strip()
    if len(answer) > MAX_ANSWER:
        raise Invalid(f"the answer is too long: at most {MAX_ANSWER} characters")
    async with ctx.db.session() as s:
        report = await s.get(Report, report_id, with_for_update=True)
        if report is None:
            raise NotFound("no such report")
        if report.resolved:
            raise Conflict("this report is already resolved")
        reporter = await s.get(Account, report.reporter_id)
        report.resolved = True
        report.resolution = f"resolved by @{moderator.username}" + (f": {answer}" if answer else "")
        await _record(s, moderator, target=f"reports/{report.id}", action="resolve-report",
                      reason=answer, peer=(reporter.domain or "") if reporter else "")
    if answer and reporter is not None and reporter.is_local and not reporter.suspended:
        await posts.create_post(ctx, moderator, posts.NewPost(
            text=f"@{reporter.username} About your report #{report.number}: {answer}", visibility=Audience.DIRECT))
    return await get_report(ctx, moderator, report_id)
