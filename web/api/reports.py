"""`POST /api/v1/reports`: report an account (of this node or another) with some of its posts
to this node's moderators, and with `forward` a copy to the account's own node (node/reports.py).
The answer is Mastodon's Report entity."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node import reports
from node.context import NodeContext
from node.moderation import reported_post_ids
from storage.errors import Invalid, NotFound
from storage.ids import parse_id
from storage.models import Report
from web.api.accounts import render_account
from web.api.auth import ctx_of, flag, params, require_user, text_param
from web.api.serializers import JSON, timestamp


def _list(value: Any, name: str, cap: int) -> list[str]:
    """A list parameter (`name[]` in a form, a JSON array, or one value), capped before it is read."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    if len(items) > cap:
        raise Invalid(f"Validation failed: at most {cap} {name}")
    return [str(v) for v in items]


def _ids(raw: list[str]) -> list[int]:
    out = []
    for item in raw:
        value = parse_id(item)
        if value is None:
            raise NotFound("Record not found")
        out.append(value)
    return out


async def report_json(ctx: NodeContext, report: Report) -> JSON:
    """Mastodon's Report entity, as the reporter sees it."""
    target = await reports.target_of(ctx, report)
    return {
        "id": str(report.id),
        "action_taken": report.resolved,
        "action_taken_at": None,
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": timestamp(report.created_at),
        "status_ids": [str(i) for i in reported_post_ids(report)],
        "rule_ids": None,
        "target_account": await render_account(ctx, target),
    }


async def create_report(request: web.Request) -> web.Response:
    reporter = await require_user(request, "write:reports")
    ctx = ctx_of(request)
    p = await params(request)
    account_id = parse_id(text_param(p, "account_id") or "")
    if account_id is None:
        raise NotFound("Record not found")
    comment = text_param(p, "comment") or ""
    req = reports.ReportRequest(
        account_id=account_id,
        status_ids=_ids(_list(p.get("status_ids"), "status_ids", reports.MAX_STATUSES)),
        comment=comment,
        category=text_param(p, "category") or "other",
        rule_ids=_list(p.get("rule_ids"), "rule_ids", 20),
        forward=bool(flag(p, "forward", False)),
    )
    report = await reports.file_report(ctx, reporter, req)
    return web.json_response(await report_json(ctx, report))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/reports", create_report)
    app.router.add_post("/api/v1/reports/", create_report)  # Mastodon.py's spelling
