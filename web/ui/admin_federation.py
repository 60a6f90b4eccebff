"""The trust policy in force with its decision log, and federation health (admins only)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from aiohttp import web

from node import audit, peers, policy_edit, shared_settings
from node.queues import DELIVER, INBOX
from storage.models import AuditEntry
from web.ui.core import Page, page

ADMINS = ("admin",)
LOG_PAGE = 50
# The time filter's choices: query value -> (how far back, as the page says it).
WINDOWS = {
    "1h": (timedelta(hours=1), "the last hour"),
    "24h": (timedelta(days=1), "the last 24 hours"),
    "7d": (timedelta(days=7), "the last 7 days"),
    "30d": (timedelta(days=30), "the last 30 days"),
}


@dataclass(frozen=True)
class LogFilter:
    """The decision log's filters as asked in the query, each bad value dropped with a reason."""

    direction: str = ""
    decision: str = ""
    peer: str = ""
    when: str = ""
    before: int | None = None
    problems: tuple[str, ...] = ()

    def query(self, **changes: object) -> str:
        """The query string of these filters, with `changes` applied (paging)."""
        values = {"direction": self.direction, "decision": self.decision, "peer": self.peer, "when": self.when,
                  "before": self.before, **changes}
        return urlencode([(k, str(v)) for k, v in values.items() if v])


def read_filter(query: Mapping[str, str]) -> LogFilter:
    problems = []
    values = {k: query.get(k, "").strip() for k in ("direction", "decision", "peer", "when", "before")}
    for name, allowed in (("direction", audit.DIRECTIONS), ("decision", audit.DECISIONS), ("when", tuple(WINDOWS))):
        if values[name] and values[name] not in allowed:
            problems.append(f"{name} must be one of {', '.join(allowed)} (not {values[name][:40]!r})")
            values[name] = ""
    if len(values["peer"]) > 255:
        problems.append("peer is at most 255 characters")
        values["peer"] = ""
    raw = values.pop("before")
    before = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
    if raw and before is None:
        problems.append(f"before must be an entry number (not {raw[:40]!r})")
    return LogFilter(before=before, problems=tuple(problems), **values)


@dataclass
class LogGroup:
    """Entries in a row that say the same thing (one peer, one decision, one rule): shown once,
    with how many and the objects they were about."""

    first: AuditEntry
    entries: list[AuditEntry] = field(default_factory=list)

    def same(self, e: AuditEntry) -> bool:
        f = self.first
        return (e.direction, e.decision, e.peer, e.rule, e.reason) == (f.direction, f.decision, f.peer, f.rule, f.reason)


def group_log(entries: list[AuditEntry]) -> list[LogGroup]:
    groups: list[LogGroup] = []
    for e in entries:
        if groups and groups[-1].same(e):
            groups[-1].entries.append(e)
        else:
            groups.append(LogGroup(e, [e]))
    return groups


@page(roles=ADMINS)
async def policy_page(p: Page) -> web.StreamResponse:
    f = read_filter(p.request.query)
    since = datetime.now(UTC) - WINDOWS[f.when][0] if f.when else None
    log = await audit.recent(p.ctx.db, limit=LOG_PAGE, before=f.before, direction=f.direction or None,
                             decision=f.decision or None, peer=f.peer or None, since=since)
    shared = await shared_settings.read(p.ctx.db, shared_settings.POLICY)
    disk = await asyncio.to_thread(policy_edit.read_file, p.ctx.policy_file) if p.ctx.policy_file else None
    saved = p.request.query.get("saved", "")
    return p.render(
        "admin/policy.html", 400 if f.problems else 200, title="Trust policy", policy=p.ctx.policy(),
        saved=saved if saved.isdigit() and len(saved) < 12 else "", unchanged=bool(p.request.query.get("unchanged")),
        policy_file=p.ctx.policy_file, disk_differs=disk is not None and disk.text != (shared.value if shared else ""),
        shared=shared, groups=group_log(log), shown=len(log),
        filters=f, directions=audit.DIRECTIONS, decisions=audit.DECISIONS, windows=WINDOWS,
        older=f.query(before=log[-1].id) if len(log) == LOG_PAGE else None,
        newest=f.query(before=None) if f.before is not None else None,
    )


@page(roles=ADMINS)
async def federation_page(p: Page) -> web.StreamResponse:
    all_peers = await peers.all_peers(p.ctx.db)
    policy = p.ctx.policy()
    return p.render(
        "admin/federation.html", title="Federation health",
        delivery=await peers.queue_counts(p.ctx.db, DELIVER), inbox=await peers.queue_counts(p.ctx.db, INBOX),
        dead=[x for x in all_peers if x.dead],
        failing=[x for x in all_peers if not x.dead and x.consecutive_failures > 0],
        healthy=[x for x in all_peers if not x.dead and x.consecutive_failures == 0],
        trust_of=lambda domain: policy.trust_of(domain)[0], backlog=await peers.backlog(p.ctx.db, DELIVER),
    )


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/admin/policy", policy_page)
    r.add_get("/admin/federation", federation_page)
