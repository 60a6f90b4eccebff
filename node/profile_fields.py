"""Profile fields: what a profile says of who someone is, and to whom.

Three kinds, shown in this order:
- the company directory's attributes of a local account (the `Account` columns SCIM fills:
  title, department, location public; organization, employee number and manager
  organisation-only), read-only to the person;
- the person's own fields (Mastodon's `fields`, at most `MAX_FIELDS`, with Mastodon's limits:
  a name of at most 255 characters, a value of at most 255), each public or organisation-only,
  kept as typed and rendered as HTML (escaped, links made) when shown;
- a remote account's fields, as its actor document's `PropertyValue` attachments said them
  (values sanitised HTML), an organisation-only one marked `audience_scope` by its Atrium node.

Organisation-only fields go to this node's own viewers (a signed-in person, an API token) and
to peers the trust policy admits for `organization` — the question a post of that audience
asks (`Policy.outbound(Audience.ORGANIZATION, domain)`) — and to no one else: not to the open
web, not to a partner. A remote account's organisation-only fields are shown to this node's
own viewers only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.builders import PropertyValue
from federation.parsing import PropertyField
from node import text
from node.audience import Audience
from node.context import NodeContext
from node.federate import queue_fanout
from node.queues import ActorUpdated
from node.sanitize import html_to_text, sanitize_html
from storage.errors import Invalid, NotFound
from storage.models import Account, AccountField, FieldScope, FieldSource

MAX_FIELDS = 4  # Mastodon's default (`max_profile_fields`)
MAX_NAME = 255
MAX_VALUE = 255  # Mastodon's limits for a local field
MAX_REMOTE_FIELDS = 16  # a peer's document: the first ones kept, the rest ignored
MAX_REMOTE_VALUE = 2048  # characters of a peer's value kept (HTML, before sanitising)

# The company directory's attributes of an account: (column, the name people read, scope).
DIRECTORY: tuple[tuple[str, str, FieldScope], ...] = (
    ("title", "Title", FieldScope.PUBLIC),
    ("department", "Department", FieldScope.PUBLIC),
    ("location", "Location", FieldScope.PUBLIC),
    ("organization", "Organization", FieldScope.ORGANIZATION),
    ("employee_number", "Employee number", FieldScope.ORGANIZATION),
    ("manager", "Manager", FieldScope.ORGANIZATION),
)
# Scopes as the API and the settings form spell them.
SCOPES = {FieldScope.PUBLIC.value: FieldScope.PUBLIC, FieldScope.ORGANIZATION.value: FieldScope.ORGANIZATION}


@dataclass(frozen=True)
class FieldView:
    """One field as it is shown: its name (plain text), its value as safe HTML and as text."""

    name: str
    value_html: str
    value_text: str
    scope: FieldScope
    source: FieldSource
    verified_at: datetime | None = None

    @property
    def organization_only(self) -> bool:
        return self.scope is FieldScope.ORGANIZATION


@dataclass(frozen=True)
class FieldInput:
    """A field as a person sends it; `scope` None keeps the scope the field had (a Mastodon app
    knows nothing of scopes: resending the fields must not make an organisation-only one public)."""

    name: str
    value: str
    scope: FieldScope | None = None


def parse_scope(raw: str | None) -> FieldScope | None:
    """A scope as sent (None or "" for none); anything else is refused with its reason."""
    if raw is None or raw == "":
        return None
    scope = SCOPES.get(raw.strip().lower())
    if scope is None:
        raise Invalid(f"unknown field scope {raw[:40]!r}: use public or organization")
    return scope


def _one_line(value: str) -> str:
    return " ".join(value.split())


def check_fields(fields: Sequence[FieldInput]) -> list[FieldInput]:
    """The fields to keep (blank ones dropped, whitespace folded), or Invalid with the reason."""
    kept = [FieldInput(_one_line(f.name), _one_line(f.value), f.scope) for f in fields]
    kept = [f for f in kept if f.name or f.value]
    if len(kept) > MAX_FIELDS:
        raise Invalid(f"at most {MAX_FIELDS} profile fields")
    for f in kept:
        if "\x00" in f.name + f.value:  # no database stores it (PostgreSQL refuses it)
            raise Invalid("a profile field may not contain a NUL character")
        if not f.name:
            raise Invalid("a profile field needs a name")
        if len(f.name) > MAX_NAME:
            raise Invalid(f"a profile field's name is at most {MAX_NAME} characters")
        if len(f.value) > MAX_VALUE:
            raise Invalid(f"a profile field's value is at most {MAX_VALUE} characters")
    return kept


def value_html(value: str, base_url: str) -> str:
    """A local field's value (as typed) as the HTML clients show: escaped, links made, no
    paragraph around it (as Mastodon's)."""
    html = text.render(value, resolve_mention=lambda _: None, tag_url=lambda tag: f"{base_url}/tags/{tag}")
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return html


def _view(ctx: NodeContext, row: AccountField, local: bool) -> FieldView:
    scope = SCOPES.get(row.scope, FieldScope.ORGANIZATION)  # an unknown stored scope: the narrow one
    if local:
        return FieldView(row.name, value_html(row.value, ctx.base_url), row.value, scope,
                         FieldSource(row.source), row.verified_at)
    return FieldView(row.name, row.value, html_to_text(row.value), scope, FieldSource(row.source), row.verified_at)


def directory_fields(account: Account) -> list[FieldView]:
    """The directory's attributes of a local account that are filled, in DIRECTORY's order."""
    if account.domain is not None:
        return []
    out = []
    for column, name, scope in DIRECTORY:
        value = getattr(account, column) or ""
        if value.strip():
            out.append(FieldView(name, escape(value, quote=False), value, scope, FieldSource.DIRECTORY))
    return out


async def _rows(s: AsyncSession, ids: Iterable[int]) -> dict[int, list[AccountField]]:
    found: dict[int, list[AccountField]] = {}
    wanted = list(set(ids))
    if not wanted:
        return found
    rows = await s.scalars(
        select(AccountField).where(AccountField.account_id.in_(wanted)).order_by(AccountField.account_id, AccountField.position)
    )
    for row in rows:
        found.setdefault(row.account_id, []).append(row)
    return found


async def fields_of(
    ctx: NodeContext, accounts: Sequence[Account], *, organization: bool
) -> dict[int, list[FieldView]]:
    """Each account's fields as a viewer is shown them (one query for them all): with the
    organisation-only ones when `organization` (a viewer of this node), else only public ones."""
    async with ctx.db.reader() as s:
        rows = await _rows(s, (a.id for a in accounts))
    out: dict[int, list[FieldView]] = {}
    for account in accounts:
        views = directory_fields(account) + [_view(ctx, r, account.domain is None) for r in rows.get(account.id, [])]
        out[account.id] = [v for v in views if organization or not v.organization_only]
    return out


async def own_fields(ctx: NodeContext, account_id: int) -> list[FieldView]:
    """The fields a person wrote themselves (what they may edit), in order, every scope."""
    async with ctx.db.reader() as s:
        rows = (await _rows(s, [account_id])).get(account_id, [])
    return [_view(ctx, r, True) for r in rows if r.source == FieldSource.USER]


async def set_fields(ctx: NodeContext, account_id: int, fields: Sequence[FieldInput]) -> bool:
    """Replace a local person's own fields (the directory's stay); followers' nodes get an
    `Update` of the actor when anything changed. Checked first: nothing is written on Invalid.
    True when something changed."""
    kept = check_fields(fields)
    async with ctx.db.session() as s:
        account = await s.get(Account, account_id)
        if account is None or account.domain is not None:
            raise NotFound("no such local account")
        rows = (await _rows(s, [account_id])).get(account_id, [])
        own = [r for r in rows if r.source == FieldSource.USER]
        others = [r for r in rows if r.source != FieldSource.USER]
        by_name = {r.name: SCOPES.get(r.scope, FieldScope.ORGANIZATION) for r in own}
        new: list[tuple[str, str, FieldScope]] = []
        for i, f in enumerate(kept):
            scope = f.scope or by_name.get(f.name) or (
                SCOPES.get(own[i].scope, FieldScope.ORGANIZATION) if i < len(own) else FieldScope.PUBLIC)
            new.append((f.name, f.value, scope))
        if new == [(r.name, r.value, SCOPES.get(r.scope, FieldScope.ORGANIZATION)) for r in own]:
            return False
        await s.execute(delete(AccountField).where(AccountField.account_id == account_id,
                                                   AccountField.source == FieldSource.USER))
        start = max((r.position for r in others), default=-1) + 1
        s.add_all(AccountField(account_id=account_id, position=start + i, name=name, value=value, scope=scope,
                               source=FieldSource.USER) for i, (name, value, scope) in enumerate(new))
        await queue_fanout(s, ActorUpdated(account_id))
    return True


async def store_remote(s: AsyncSession, account: Account, fields: Sequence[PropertyField]) -> None:
    """A remote account's fields, replaced by what its document says now: names plain text,
    values sanitised HTML, both cut to their limits."""
    await s.execute(delete(AccountField).where(AccountField.account_id == account.id))
    s.add_all(
        AccountField(account_id=account.id, position=i, name=html_to_text(f.name).replace("\x00", "")[:MAX_NAME],
                     value=sanitize_html(f.value_html[:MAX_REMOTE_VALUE]),
                     scope=FieldScope.ORGANIZATION if f.organization_only else FieldScope.PUBLIC,
                     source=FieldSource.USER)
        for i, f in enumerate(fields[:MAX_REMOTE_FIELDS])
    )


def property_values(views: Sequence[FieldView], *, organization: bool) -> list[PropertyValue]:
    """The fields an actor document carries to a reader: the organisation-only ones only when
    `organization` (the reader is admitted for them), each marked `audience_scope` so that the
    receiving Atrium node keeps it to its own people."""
    return [PropertyValue(v.name, v.value_html, Audience.ORGANIZATION.value if v.organization_only else None)
            for v in views if organization or not v.organization_only]


def organization_peer(ctx: NodeContext, domain: str | None) -> bool:
    """May a peer (None: the open web) receive organisation-only fields? The question a post of
    the organisation's audience asks of it."""
    return domain is not None and ctx.policy().outbound(Audience.ORGANIZATION, domain).allowed


async def all_fields(ctx: NodeContext, account: Account) -> list[FieldView]:
    """Every field of one account, organisation-only ones included (each says its scope)."""
    return (await fields_of(ctx, [account], organization=True))[account.id]

