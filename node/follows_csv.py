"""Follows as CSV, as Mastodon exports and imports them: the accounts a person follows
(`Account address,Show boosts,Notify on new posts,Languages`) and their followers (`Account
address`), and a following list imported through the normal follow (node/follows.py), so the
trust policy decides each one.

An import checks the whole file first: one line that is not an account address refuses it all,
with every bad line listed, and nothing is followed. A well-formed file is followed line by line;
what the policy refused or a peer could not answer is reported beside what was followed.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select

from node import community_accounts, remote
from node.context import NodeContext
from node.export_records import handle
from storage.errors import AtriumError, Invalid
from storage.models import Account, Follow

FOLLOWING_HEADER = ("Account address", "Show boosts", "Notify on new posts", "Languages")
FOLLOWERS_HEADER = ("Account address",)
MAX_LINES = 1000
MAX_BYTES = 256 * 1024
ADDRESS = re.compile(r"@?([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})@([A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?)")
BOOLEANS = {"true", "false", ""}


def _csv(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


async def _accounts(ctx: NodeContext, account: Account, *, following: bool) -> list[Account]:
    mine, other = (Follow.follower_id, Follow.target_id) if following else (Follow.target_id, Follow.follower_id)
    async with ctx.db.reader() as s:
        rows = await s.scalars(select(Account).join(Follow, other == Account.id)
                               .where(mine == account.id, Follow.state == "accepted").order_by(Follow.id))
        return list(rows.unique())


async def following_csv(ctx: NodeContext, account: Account) -> str:
    """The accounts `account` follows, in Mastodon's columns (every boost shown, no notification,
    all languages: what a follow here is)."""
    return _csv(FOLLOWING_HEADER, [(handle(ctx, a), "true", "false", "") for a in await _accounts(ctx, account, following=True)])


async def followers_csv(ctx: NodeContext, account: Account) -> str:
    return _csv(FOLLOWERS_HEADER, [(handle(ctx, a),) for a in await _accounts(ctx, account, following=False)])


@dataclass(frozen=True)
class BadLine:
    number: int
    text: str
    reason: str


class BadCsv(Invalid):
    """A following list with lines that are not account addresses: nothing was imported."""

    def __init__(self, lines: list[BadLine]) -> None:
        shown = "; ".join(f"line {b.number}: {b.reason}" for b in lines[:5])
        more = f" (and {len(lines) - 5} more)" if len(lines) > 5 else ""
        super().__init__(f"nothing was imported: {len(lines)} bad lines: {shown}{more}")
        self.lines = lines


def parse_following(data: bytes) -> list[tuple[int, str]]:
    """(line number, `user@domain`) of each account of a following list; `BadCsv` listing every
    bad line, or `Invalid` for a file that is no CSV text at all."""
    if len(data) > MAX_BYTES:
        raise Invalid(f"the file is too large: at most {MAX_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the file is not UTF-8 text (a CSV export of follows)") from None
    if "\x00" in text:
        raise Invalid("the file is not a CSV text file")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise Invalid(f"the file is not CSV: {exc}") from None
    found: list[tuple[int, str]] = []
    bad: list[BadLine] = []
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].casefold() == FOLLOWING_HEADER[0].casefold():
            continue
        shown = ",".join(row)[:120]
        match = ADDRESS.fullmatch(cells[0])
        if match is None:
            bad.append(BadLine(number, shown, f"{cells[0][:60]!r} is not an account address (user@domain)"))
        elif len(cells) > 1 and cells[1].casefold() not in BOOLEANS:
            bad.append(BadLine(number, shown, f"Show boosts must be true or false, not {cells[1][:20]!r}"))
        else:
            found.append((number, f"{match.group(1)}@{match.group(2).lower()}"))
    if bad:
        raise BadCsv(bad)
    if len(found) > MAX_LINES:
        raise Invalid(f"the file lists {len(found)} accounts: at most {MAX_LINES} at once")
    return found


@dataclass
class Imported:
    followed: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)  # waiting for the account (or its node) to accept
    already: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (address, reason)


async def _target(ctx: NodeContext, address: str) -> Account:
    if address.partition("@")[2] == ctx.domain:
        found = await remote.known_handle(ctx, address)
        if found is None:
            raise Invalid("no such account here")
        return found
    return await remote.resolve_handle(ctx, address)


async def import_following(ctx: NodeContext, account: Account, data: bytes) -> Imported:
    """Follow every account of a following list (node/follows.py `follow`, so the policy applies)."""
    lines = parse_following(data)
    done = Imported()
    async with ctx.db.reader() as s:
        before = set(await s.scalars(select(Follow.target_id).where(Follow.follower_id == account.id)))
    for address in dict.fromkeys(a for _, a in lines):
        try:
            target = await _target(ctx, address)
            if target.id == account.id:
                raise Invalid("that is you")
            if target.id in before:
                done.already.append(address)
                continue
            made = await community_accounts.follow_account(ctx, account, target.id)
        except AtriumError as exc:
            done.refused.append((address, exc.reason))
            continue
        (done.followed if made.state == "accepted" else done.requested).append(address)
    return done
