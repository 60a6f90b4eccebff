"""Legal holds: which accounts are held, under which case. The one question every removal
asks (retention, a person's own delete, account deletion): `held_account_ids`.

Placing and releasing holds (each change in the audit trail, direction "admin"), and the shape
of a sealed post's snapshot (`Snapshot`: what node/sealing.py writes and an export reads).
`atrium hold` (atrium/cli_hold.py) and the admin page (web/ui/admin_holds.py) build on these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node import audit
from node.accounts import find_local
from node.context import NodeContext
from storage.errors import Conflict, Invalid, NotFound
from storage.models import Account, LegalHold, utcnow

MAX_CASE = 128
MAX_REASON = 2000


class SnapshotPost(TypedDict):
    id: int
    uri: str
    url: str | None
    visibility: str
    source: str
    content_html: str
    summary: str
    sensitive: bool
    language: str | None
    in_reply_to_uri: str | None
    created_at: str  # ISO 8601, UTC
    edited_at: str | None


class SnapshotEdit(TypedDict):
    """An earlier version of the post, oldest first (the post itself is the last version)."""

    created_at: str
    source: str
    content_html: str
    summary: str
    sensitive: bool
    media_ids: list[int]  # ids among the snapshot's `media`


class SnapshotMedia(TypedDict):
    id: int
    kind: str
    content_type: str
    store_key: str | None  # kept in the media store while a sealed post names it
    preview_key: str | None
    description: str
    file_name: str | None


class Snapshot(TypedDict):
    """`SealedPost.snapshot`, as JSON: the post, its edit history, every attachment it had
    (those an edit dropped too), whom it mentioned (`user@domain`) and its hashtags."""

    post: SnapshotPost
    edits: list[SnapshotEdit]
    media: list[SnapshotMedia]
    mentions: list[str]
    tags: list[str]


async def held_account_ids(s: AsyncSession, account_ids: Iterable[int]) -> set[int]:
    """The accounts among `account_ids` under at least one hold not yet released."""
    ids = set(account_ids)
    if not ids:
        return set()
    rows = await s.scalars(
        select(LegalHold.account_id).where(LegalHold.account_id.in_(ids), LegalHold.released_at.is_(None))
    )
    return set(rows)


async def is_held(s: AsyncSession, account_id: int) -> bool:
    return bool(await held_account_ids(s, [account_id]))


async def accounts_of_case(s: AsyncSession, case_name: str, *, active_only: bool = True) -> list[int]:
    """The accounts a case holds (now, or ever with `active_only=False`), oldest hold first."""
    query = select(LegalHold.account_id).where(LegalHold.case_name == case_name)
    if active_only:
        query = query.where(LegalHold.released_at.is_(None))
    rows = await s.scalars(query.order_by(LegalHold.created_at))
    return list(dict.fromkeys(rows))


@dataclass(frozen=True)
class Hold:
    """One hold in force, as the CLI and the admin page list it."""

    id: int
    case_name: str
    username: str
    reason: str
    created_by: str
    created_at: datetime


def _case(case: str) -> str:
    case = " ".join(case.split())
    if not case:
        raise Invalid("a hold needs a case name")
    if len(case) > MAX_CASE:
        raise Invalid(f"a case name has at most {MAX_CASE} characters")
    return case


async def _held_local(s: AsyncSession, username: str) -> Account:
    name = username.strip().removeprefix("@")
    if "@" in name:
        raise Invalid(f"{name} is an account of another node: only this node's accounts can be held")
    account = await find_local(s, name)
    if account is None:
        raise NotFound(f"no account {name!r} on this node")
    return account


async def _record(s: AsyncSession, action: str, case: str, account: Account, by: str, reason: str = "") -> None:
    await audit.record(s, direction="admin", peer="", obj=f"accounts/{account.username}", decision="accepted",
                       rule=f"admin:{action}", reason=f"case {case!r} by {by}" + (f": {reason}" if reason else ""))


async def place_hold(ctx: NodeContext, case: str, username: str, reason: str, by: str) -> Hold:
    """Hold a local account under `case`; Conflict when that case already holds it."""
    case, reason = _case(case), reason.strip()[:MAX_REASON]
    async with ctx.db.session() as s:
        account = await _held_local(s, username)
        already = await s.scalar(select(LegalHold.id).where(
            LegalHold.case_name == case, LegalHold.account_id == account.id, LegalHold.released_at.is_(None)))
        if already is not None:
            raise Conflict(f"@{account.username} is already held under the case {case!r}")
        row = LegalHold(case_name=case, account_id=account.id, reason=reason, created_by=by[:64], created_at=utcnow())
        s.add(row)
        await s.flush()
        await _record(s, "place-hold", case, account, by, reason)
        return Hold(row.id, case, account.username, reason, row.created_by, row.created_at)


async def release_hold(ctx: NodeContext, case: str, username: str | None, by: str) -> list[str]:
    """Release `case`'s hold of one account, or of every account it holds (`username` None);
    the usernames released. NotFound when there is nothing to release."""
    case = _case(case)
    async with ctx.db.session() as s:
        query = select(LegalHold).where(LegalHold.case_name == case, LegalHold.released_at.is_(None))
        if username is not None:
            account = await _held_local(s, username)
            query = query.where(LegalHold.account_id == account.id)
        rows = list(await s.scalars(query.order_by(LegalHold.created_at)))
        if not rows:
            whom = f"@{username.strip().removeprefix('@')}" if username is not None else "any account"
            raise NotFound(f"nothing to release: the case {case!r} holds {whom} no longer (or never did)")
        now, released = utcnow(), []
        for row in rows:
            row.released_at, row.released_by = now, by[:64]
            held = await s.get(Account, row.account_id)
            assert held is not None  # RESTRICT: a held account's row stays
            await _record(s, "release-hold", case, held, by)
            released.append(held.username)
        return released


async def list_holds(ctx: NodeContext) -> list[Hold]:
    """Every hold in force, by case then oldest first."""
    async with ctx.db.reader() as s:
        rows = (await s.execute(
            select(LegalHold, Account.username).join(Account, Account.id == LegalHold.account_id)
            .where(LegalHold.released_at.is_(None)).order_by(LegalHold.case_name, LegalHold.created_at)
        )).all()
    return [Hold(h.id, h.case_name, name, h.reason, h.created_by, h.created_at) for h, name in rows]
