"""Reports and moderation: the open and resolved reports, one report with its actions (remove a
post, suspend or silence the account, answer the reporter), accounts under moderation, and the
form a user reports a post with."""

from __future__ import annotations

from aiohttp import web

from node import accounts, moderation, node_names, posts, reports
from storage.errors import Invalid, NotFound
from storage.models import Account
from web.ui.core import Page, page
from web.ui.risky import confirm_page, excerpt, needs_confirming
from web.ui.views import profile_path

MODERATORS = ("moderator", "admin")


def _id(p: Page, name: str) -> int:
    raw = p.request.match_info[name]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise NotFound("no such item")
    return int(raw)


def _with_done(back: str, done: str) -> str:
    """Back to the page the form was on, saying what was done (shown as a status line)."""
    path = back.split("#", 1)[0]
    return path + ("&" if "?" in path else "?") + f"done={done}"


async def _nodes(p: Page, views: list[moderation.ReportView]) -> dict[str, str]:
    """The names of the nodes that forwarded these reports (a Flag from a peer), by domain."""
    return await node_names.peer_names(p.ctx, {v.reporter.domain for v in views if v.reporter.domain})


@page(roles=MODERATORS)
async def reports_page(p: Page) -> web.StreamResponse:
    resolved = p.request.query.get("state") == "resolved"
    rows = await moderation.list_reports(p.ctx, p.user, resolved=resolved)
    return p.render("admin/reports.html", title="Resolved reports" if resolved else "Open reports",
                    reports=rows, resolved=resolved, nodes=await _nodes(p, rows))


@page(roles=MODERATORS)
async def report_page(p: Page) -> web.StreamResponse:
    view = await moderation.get_report(p.ctx, p.user, _id(p, "report_id"))
    return p.render("admin/report.html", title=f"Report #{view.report.number}", r=view,
                    done=p.request.query.get("done"), error=None, nodes=await _nodes(p, [view]))


@page(roles=MODERATORS)
async def resolve(p: Page) -> web.StreamResponse:
    report_id = _id(p, "report_id")
    try:
        await moderation.resolve_report(p.ctx, p.user, report_id, p.field("answer"))
    except Invalid as exc:
        view = await moderation.get_report(p.ctx, p.user, report_id)
        return p.render("admin/report.html", exc.status, title=f"Report #{view.report.number}", r=view, done=None,
                        error=exc.reason, nodes=await _nodes(p, [view]))
    return p.redirect(f"/admin/reports/{report_id}?done=resolved")


@page(roles=MODERATORS)
async def remove_post(p: Page) -> web.StreamResponse:
    post_id = _id(p, "post_id")
    if needs_confirming(p, "remove"):
        post = await posts.deletable(p.ctx, p.user, post_id)
        return confirm_page(p, "remove", f"this post by @{post.account.acct()}", p.next_url("/admin/reports"),
                            quote=excerpt(post))
    await moderation.remove_post(p.ctx, p.user, post_id, p.field("reason"))
    return p.redirect(_with_done(p.next_url("/admin/reports"), "removed"))


@page(roles=MODERATORS)
async def moderate(p: Page) -> web.StreamResponse:
    action = p.request.match_info["action"]
    if needs_confirming(p, action):
        account = await accounts.get_account(p.ctx, _id(p, "account_id"))
        return confirm_page(p, action, f"@{account.acct()}", p.next_url("/admin/accounts"))
    await moderation.moderate_account(p.ctx, p.user, _id(p, "account_id"), action, p.field("reason"))
    return p.redirect(_with_done(p.next_url("/admin/accounts"), action))


@page(roles=MODERATORS)
async def accounts_page(p: Page) -> web.StreamResponse:
    """Accounts under moderation, and a look-up of any account (local, or remote by handle)."""
    q = p.request.query.get("q", "").strip()
    found = None
    error = None
    if q:
        try:
            found = await moderation.find_account(p.ctx, p.user, q)
        except (NotFound, Invalid) as exc:
            error = exc.reason
    return p.render("admin/accounts.html", title="Accounts", q=q, found=found, error=error,
                    moderated=await moderation.moderated_accounts(p.ctx, p.user),
                    done=p.request.query.get("done"), profile_path=profile_path)


async def _node_of(p: Page, account: Account) -> str | None:
    """The name of a remote account's node (its domain when it gave none); None for a local one."""
    if account.domain is None:
        return None
    return await node_names.peer_name(p.ctx, account.domain) or account.domain


async def _report_form(p: Page, post_id: int, status: int = 200, **extra: object) -> web.StreamResponse:
    post = await posts.get_post(p.ctx, p.user, post_id)
    title = str(extra.pop("title", "Report a post"))
    values: dict[str, object] = {"error": None, "sent": False, "forwarded": False, "forward": False, **extra}
    return p.render("admin/report_new.html", status, title=title, post=post,
                    node_of_target=await _node_of(p, post.account), **values)


@page()
async def report_form(p: Page) -> web.StreamResponse:
    return await _report_form(p, _id(p, "post_id"))


@page()
async def file_report(p: Page) -> web.StreamResponse:
    """The report form: to this node's moderators, and when asked (unchecked at first, as in
    Mastodon) a copy to the node of the post's author (node/reports.py)."""
    post_id = _id(p, "post_id")
    post = await posts.get_post(p.ctx, p.user, post_id)
    forward = p.field("forward") == "1"
    try:
        report = await reports.file_report(p.ctx, p.user, reports.ReportRequest(
            account_id=post.account_id, status_ids=[post_id], comment=p.field("comment"), forward=forward))
    except Invalid as exc:
        return await _report_form(p, post_id, exc.status, error=exc.reason, forward=forward)
    return await _report_form(p, post_id, title=f"Report #{report.number} sent", sent=True, number=report.number,
                              forwarded=report.forwarded, forward=forward)


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/admin/reports", reports_page)
    r.add_get(r"/admin/reports/{report_id:\d+}", report_page)
    r.add_post(r"/admin/reports/{report_id:\d+}/resolve", resolve)
    r.add_post(r"/admin/posts/{post_id:\d+}/remove", remove_post)
    r.add_get("/admin/accounts", accounts_page)
    r.add_post(r"/admin/accounts/{account_id:\d+}/{action:(un)?(suspend|silence)}", moderate)
    r.add_get(r"/report/{post_id:\d+}", report_form)
    r.add_post(r"/report/{post_id:\d+}", file_report)
