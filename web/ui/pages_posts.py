"""Compose (with reply, content warning, audience and attachments), the thread view, edit,
delete, and the like / boost actions. Every action is a plain form POST that redirects back,
so it works without JavaScript."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from node import audience_words, interactions, moderation, pins, posts, preferences, retention, scheduled
from node.context import NodeContext
from node.posts import NewPost
from storage.errors import Invalid, NotFound, RateLimited
from storage.ids import parse_id
from storage.models import Account, Post, utcnow
from web.ui.attachments import COMPOSER_FILES, Attachments, MediaView
from web.ui.core import Page, page
from web.ui.pages_polls import poll_of, typed
from web.ui.pages_scheduled import form_time
from web.ui.risky import confirm_page, excerpt, needs_confirming
from web.ui.views import open_web_may_see, post_views, profile_path


def _post_id(p: Page) -> int:
    return p.path_id("post_id", "post")


async def _compose_page(
    p: Page, status: int, *, error: str | None, reply_to: object = None, kept: dict[int, MediaView] | None = None
) -> web.Response:
    prefs = await preferences.of(p.ctx, p.user.id)  # the person's own defaults
    return p.render(
        "compose.html",
        status,
        title="New post",
        audiences=audience_words.audiences(p.ctx),
        chosen=p.field("visibility") or p.request.query.get("visibility") or prefs.web_audience,
        text=p.field("text"),
        summary=p.field("summary"),
        reply_to=reply_to,
        error=error,
        next=p.next_url(),
        kept=kept or {},
        sensitive=bool(p.field("sensitive")) if p.request.method == "POST" else prefs.sensitive,
        scheduled_at=p.field("scheduled_at"),
        poll=typed(p),
    )


@page()
async def compose_form(p: Page) -> web.StreamResponse:
    return await _compose_page(p, 200, error=None)


@page(files=COMPOSER_FILES)
async def create(p: Page) -> web.StreamResponse:
    reply = p.field("in_reply_to")
    attachments = Attachments()
    try:
        # Each file is uploaded as the client API's are (node.media), then attached by the post.
        await attachments.take(p)
        new = NewPost(
            text=p.field("text"),
            visibility=p.field("visibility") or (await preferences.of(p.ctx, p.user.id)).web_audience,
            summary=p.field("summary").strip(),
            sensitive=bool(p.field("sensitive")) and bool(attachments.ids),
            in_reply_to_id=parse_id(reply) if reply else None,
            media_ids=attachments.ids,
            poll=None if reply else poll_of(p),
        )
        if p.field("scheduled_at").strip() and not reply:
            if new.poll is not None:
                raise Invalid("a scheduled post cannot carry a poll")
            # Kept for later (node/scheduled.py); the publisher posts it through post_as then.
            await scheduled.schedule(p.ctx, p.user, new, form_time(p.field("scheduled_at"), p.field("tz_offset")))
            return p.redirect("/scheduled")
        # The client API posts through the same call: one allowance, one idempotency.
        post = await posts.post_as(p.ctx, p.user, new, p.field("post_key") or None)
    except RateLimited as exc:
        response = await _compose_page(p, exc.status, error=exc.reason, kept=attachments.kept)
        response.headers.update(exc.headers)
        return response
    except Invalid as exc:
        # Bad input loses nothing: the form comes back with what was typed, and the files
        # uploaded so far wait in their slots.
        return await _compose_page(p, exc.status, error=exc.reason, kept=attachments.kept)
    return p.redirect(p.next_url(f"{profile_path(p.user)}/{post.id}") + f"#post-{post.id}")


@page(signed_in=False)
async def thread(p: Page) -> web.StreamResponse:
    post = await posts.get_post(p.ctx, p.me, _post_id(p))
    if post.reblog_of_id is not None:
        post = await posts.get_post(p.ctx, p.me, post.reblog_of_id)
    if not open_web_may_see(p.ctx, p.me, post):
        raise NotFound("no such post")
    canonical = f"{profile_path(post.account)}/{post.id}"
    if p.request.path != canonical:
        return p.redirect(canonical)
    ancestors, descendants = await posts.context(p.ctx, p.me, post.id)
    views = await post_views(p.ctx, p.me, [*ancestors, post, *descendants])
    focus = next(v for v in views if v.id == post.id)
    # A reply keeps an inward-facing parent's audience; otherwise it defaults to the parent's.
    return p.render(
        "thread.html",
        title=f"Post by {post.account.display_name or post.account.username}",
        ancestors=views[: len(ancestors)],
        focus=focus,
        descendants=views[len(ancestors) + 1 :],
        audiences=audience_words.audiences(p.ctx),
        chosen=post.visibility,
        reply_text=f"@{post.account.acct()} " if p.me is not None and p.me.id != post.account_id else "",
        history=await posts.history(p.ctx, p.me, post.id) if post.edited_at else [],
        # The staff see how long the post is kept ([retention] of the policy, legal holds).
        retention=retention.describe(await retention.expiry(p.ctx, post), utcnow()) if moderation.is_staff(p.me) else None,
    )


@page()
async def edit_form(p: Page) -> web.StreamResponse:
    post = await posts.get_post(p.ctx, p.me, _post_id(p))
    if post.account_id != p.user.id or post.reblog_of_id is not None:
        raise NotFound("no such post of yours")
    return await _edit_page(p, 200, post, text=post.source, summary=post.summary, sensitive=post.sensitive, error=None)


async def _edit_page(p: Page, status: int, post: Post, *, text: str, summary: str, sensitive: bool, error: str | None) -> web.Response:
    """The edit form: the text and warning change; the attachments stay (shown, with the sensitive flag)."""
    views = await post_views(p.ctx, p.me, [post])
    return p.render("edit.html", status, title="Edit post", post=post, text=text, summary=summary, sensitive=sensitive,
                    media=views[0].media if views else [], error=error)


@page()
async def edit(p: Page) -> web.StreamResponse:
    post_id = _post_id(p)
    # The sensitive flag is asked only of a post with attachments (the form says whether it had any).
    sensitive = bool(p.field("sensitive")) if p.field("has_media") else None
    try:
        post = await posts.edit_post(p.ctx, p.user, post_id, p.field("text"), summary=p.field("summary").strip(), sensitive=sensitive)
    except Invalid as exc:
        post = await posts.get_post(p.ctx, p.me, post_id)
        return await _edit_page(p, exc.status, post, text=p.field("text"), summary=p.field("summary"),
                                sensitive=bool(sensitive), error=exc.reason)
    return p.redirect(f"{profile_path(p.user)}/{post.id}")


@page()
async def delete(p: Page) -> web.StreamResponse:
    post_id = _post_id(p)
    if needs_confirming(p, "delete"):
        post = await posts.deletable(p.ctx, p.user, post_id)
        return confirm_page(p, "delete", "this post", p.next_url("/"), quote=excerpt(post))
    await posts.delete_post(p.ctx, p.user, post_id)
    return p.redirect(p.next_url("/"))


ACTIONS: dict[str, Callable[[NodeContext, Account, int], Awaitable[Post]]] = {
    "like": interactions.like,
    "unlike": interactions.unlike,
    "boost": interactions.boost,
    "unboost": interactions.unboost,
    "pin": pins.pin,
    "unpin": pins.unpin,
}


@page()
async def act(p: Page) -> web.StreamResponse:
    action = ACTIONS.get(p.request.match_info["action"])
    if action is None:
        raise NotFound("no such action")
    post_id = _post_id(p)
    await action(p.ctx, p.user, post_id)
    return p.redirect(p.next_url("/") + f"#post-{post_id}")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/compose", compose_form)
    r.add_post("/posts", create)
    r.add_get(r"/@{handle}/{post_id:\d+}", thread)
    r.add_get(r"/posts/{post_id:\d+}/edit", edit_form)
    r.add_post(r"/posts/{post_id:\d+}/edit", edit)
    r.add_post(r"/posts/{post_id:\d+}/delete", delete)
    r.add_post(r"/posts/{post_id:\d+}/{action}", act)
