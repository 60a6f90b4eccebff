"""Filters in the settings: the signed-in person's filters (list, create, edit, delete), with
their keywords, contexts, action and expiry, through node/filters.py as the client API's
`/api/v2/filters` goes; and the timelines of the web UI honour them (web/ui/views.py)."""

from __future__ import annotations

from aiohttp import web

from node import filters
from node.filters import FilterChange, FilterView, KeywordChange
from node.filters_match import FilterAction, FilterContext
from storage.errors import Invalid
from web.ui.core import Page, page

CONTEXTS = [
    (FilterContext.HOME, "Home timeline"),
    (FilterContext.NOTIFICATIONS, "Notifications"),
    (FilterContext.PUBLIC, "Shared timelines (organisation, this node, federated, hashtags)"),
    (FilterContext.THREAD, "Threads"),
    (FilterContext.ACCOUNT, "Profiles"),
]
ACTIONS = [
    (FilterAction.WARN, "Warn", "Show the post collapsed, with the filter's title and a Show anyway button."),
    (FilterAction.HIDE, "Hide", "Never show the post."),
]
EXPIRIES = [("", "Never"), ("1800", "30 minutes"), ("3600", "1 hour"), ("21600", "6 hours"),
            ("43200", "12 hours"), ("86400", "1 day"), ("604800", "1 week")]


def _keywords(p: Page) -> list[str]:
    return [line.strip() for line in p.field("keywords").splitlines() if line.strip()]


def _change(p: Page, existing: FilterView | None) -> FilterChange:
    whole = p.field("whole_word") == "on"
    wanted = list(dict.fromkeys(_keywords(p)))
    changes: list[KeywordChange] = []
    kept: set[str] = set()
    for kw in existing.keywords if existing else []:
        if kw.keyword in wanted:
            kept.add(kw.keyword)
            changes.append(KeywordChange(id=kw.id, whole_word=whole))
        else:
            changes.append(KeywordChange(id=kw.id, destroy=True))
    changes += [KeywordChange(keyword=k, whole_word=whole) for k in wanted if k not in kept]
    expiry = p.field("expires_in")
    if expiry not in [value for value, _ in EXPIRIES] and expiry != "keep":
        raise Invalid("choose when the filter expires from the list")
    return FilterChange(
        title=p.field("title"),
        contexts=tuple(p.form.getall("context", [])),
        action=p.field("action") or FilterAction.WARN.value,
        expires_in=None if expiry == "keep" else int(expiry or 0),
        keywords=tuple(changes),
    )


def _form(p: Page, view: FilterView | None, error: str | None = None, status: int = 200) -> web.Response:
    """The form, filled from the filter, or (after a refusal) from what was sent."""
    if error is not None:
        title, chosen = p.field("title"), set(p.form.getall("context", []))
        keywords, whole_word = p.field("keywords"), p.field("whole_word") == "on"
    elif view is not None:
        title, chosen = view.row.title, set(view.contexts)
        keywords, whole_word = "\n".join(k.keyword for k in view.keywords), all(k.whole_word for k in view.keywords)
    else:
        title, chosen, keywords, whole_word = "", {FilterContext.HOME.value, FilterContext.PUBLIC.value}, "", True
    return p.render(
        "filter_form.html", status, title="Edit filter" if view else "New filter", view=view, error=error,
        contexts=CONTEXTS, actions=ACTIONS, expiries=EXPIRIES, title_value=title, chosen=chosen,
        keywords=keywords, whole_word=whole_word,
    )


@page()
async def list_page(p: Page) -> web.StreamResponse:
    views = await filters.list_filters(p.ctx, p.user)
    return p.render("filters.html", title="Filters", views=views, now=filters.now(),
                    labels=dict(CONTEXTS), done=p.request.query.get("done"))


@page()
async def new_page(p: Page) -> web.StreamResponse:
    return _form(p, None)


@page()
async def create(p: Page) -> web.StreamResponse:
    try:
        await filters.create_filter(p.ctx, p.user, _change(p, None))
    except Invalid as exc:
        return _form(p, None, exc.reason, 422)
    return p.redirect("/settings/filters?done=saved")


@page()
async def edit_page(p: Page) -> web.StreamResponse:
    return _form(p, await filters.get_filter(p.ctx, p.user, p.path_id("id", "filter")))


@page()
async def update(p: Page) -> web.StreamResponse:
    filter_id = p.path_id("id", "filter")
    view = await filters.get_filter(p.ctx, p.user, filter_id)
    try:
        await filters.update_filter(p.ctx, p.user, filter_id, _change(p, view))
    except Invalid as exc:
        return _form(p, view, exc.reason, 422)
    return p.redirect("/settings/filters?done=saved")


@page()
async def delete(p: Page) -> web.StreamResponse:
    await filters.delete_filter(p.ctx, p.user, p.path_id("id", "filter"))
    return p.redirect("/settings/filters?done=deleted")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/settings/filters", list_page)
    r.add_get("/settings/filters/new", new_page)
    r.add_post("/settings/filters", create)
    r.add_get("/settings/filters/{id}", edit_page)
    r.add_post("/settings/filters/{id}", update)
    r.add_post("/settings/filters/{id}/delete", delete)
