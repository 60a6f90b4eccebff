"""Profiles (local and remote), follow / unfollow, block and mute, follow requests, followers and following,
and the signed-in person's own settings: profile, pictures, posting and reading preferences, password."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from aiohttp import web

from federation.addresses import FetchError
from node import (
    accounts,
    audience_words,
    avatars,
    blocks,
    community_accounts,
    community_ap,
    follows,
    mutes,
    node_names,
    pins,
    preferences,
    profile_fields,
    profiles,
    relationships,
    remote,
    sessions,
    timelines,
)
from node.audience import Audience
from node.filters_match import FilterContext
from node.pagination import Page as Cursor
from storage.errors import AtriumError, Forbidden, Invalid, NotFound, RateLimited
from storage.models import Account, FieldSource
from web.client import client_address
from web.ui.core import Page, cookies_of, page, set_cookie
from web.ui.pages_auth import too_many
from web.ui.risky import confirm_page, needs_confirming
from web.ui.views import full_handle, post_views, profile_path


class NotKnownHere(NotFound):
    """An anonymous visitor asked for a remote account this node does not store. Looking it
    up would make the node contact its host, which only a signed-in person may ask for."""

    def __init__(self, handle: str) -> None:
        super().__init__(f"{handle} is not known on this node")
        self.handle = handle


async def _account(p: Page) -> Account:
    handle = p.request.match_info["handle"].lstrip("@")
    if "@" not in handle:
        account = await accounts.get_local(p.ctx, handle)
    elif p.me is None:
        found = await remote.known_handle(p.ctx, handle)
        if found is None:
            raise NotKnownHere(handle)
        account = found
    else:
        try:
            account = await remote.resolve_handle(p.ctx, handle)
        except FetchError as exc:  # refused at the gate, or the peer failed: a page, not a traceback
            raise AtriumError(f"{handle} could not be looked up: {exc.reason}", status=exc.status) from exc
    if account.disabled or account.suspended:
        raise NotFound("no such user")
    if p.me is None and await community_ap.hidden_from_open_web(p.ctx, [account]):
        raise NotFound(f"no such user: {account.username}")  # a community the open web may not know of
    return account


def _not_known(p: Page, exc: NotKnownHere) -> web.Response:
    return p.render("unknown_account.html", 404, title="Not found", handle=exc.handle,
                    signin="/signin?next=" + quote(p.request.path_qs, safe="/"))


def _account_id(p: Page) -> int:
    return p.path_id("account_id", "account")


async def _relationship(p: Page, account: Account) -> relationships.Relationship:
    if p.me is None or p.me.id == account.id:
        return relationships.Relationship(id=account.id)
    return await relationships.relationship(p.ctx, p.me, account.id)


@page(signed_in=False)
async def profile(p: Page) -> web.StreamResponse:
    try:
        account = await _account(p)
    except NotKnownHere as exc:
        return _not_known(p, exc)
    if account.is_group and account.domain is None:  # a community of this node has a page of its own
        return p.redirect(f"/communities/{account.username}")
    if account.is_group:  # a peer's community: its page here shows what this node knows of it
        return p.redirect(f"/communities/{account.acct()}")
    node_name = None
    if (domain := account.domain) is not None:
        if p.me is not None:  # only a signed-in person's visit may make the node contact a host
            account = await profiles.first_look(p.ctx, account)
            node_name = (await node_names.learn_unknown(p.ctx, [domain])).get(domain)
        else:
            node_name = await node_names.peer_name(p.ctx, domain)
    cursor = Cursor.parse(max_id=p.request.query.get("max_id"))
    raw = await timelines.account(p.ctx, p.me, account.id, cursor)
    # Pinned posts first, on the first page, labelled; not again among the posts below.
    pinned = [] if cursor.max_id is not None else [
        replace(v, pin_label=True)
        for v in await post_views(p.ctx, p.me, await pins.pinned(p.ctx, p.me, account.id), FilterContext.ACCOUNT)]
    shown_pinned = {v.id for v in pinned}
    # A visitor who is not signed in is the open web: the public fields only. The directory's
    # public attributes (title, department, location) are in the header, not again below.
    fields = [f for f in (await profile_fields.fields_of(p.ctx, [account], organization=p.me is not None))[account.id]
              if not (f.source is FieldSource.DIRECTORY and not f.organization_only)]
    return p.render(
        "profile.html",
        fields=fields,
        title=account.display_name or account.username,
        account=account,
        handle=full_handle(p.ctx, account),
        node_of_account=node_name or account.domain or p.ctx.display_name,
        counts=await profiles.counts(p.ctx, account),
        rel=await _relationship(p, account),
        pinned=pinned,
        posts=[v for v in await post_views(p.ctx, p.me, raw, FilterContext.ACCOUNT) if v.id not in shown_pinned],
        older=raw[-1].id if len(raw) >= cursor.limit else None,
    )


async def _people_page(p: Page, which: str) -> web.StreamResponse:
    try:
        account = await _account(p)
    except NotKnownHere as exc:
        return _not_known(p, exc)
    cursor = Cursor.parse(max_id=p.request.query.get("max_id"), limit=40)
    listing = follows.followers if which == "followers" else follows.following
    people = await listing(p.ctx, account.id, cursor)
    title = f"{'Followers of' if which == 'followers' else 'Followed by'} {account.display_name or account.username}"
    return p.render("people.html", title=title, account=account, people=people, which=which)


@page(signed_in=False)
async def followers_page(p: Page) -> web.StreamResponse:
    return await _people_page(p, "followers")


@page(signed_in=False)
async def following_page(p: Page) -> web.StreamResponse:
    return await _people_page(p, "following")


@page()
async def follow(p: Page) -> web.StreamResponse:
    target = await accounts.get_account(p.ctx, _account_id(p))
    await community_accounts.follow_account(p.ctx, p.user, target.id)
    return p.redirect(p.next_url(profile_path(target)))


@page()
async def unfollow(p: Page) -> web.StreamResponse:
    target = await accounts.get_account(p.ctx, _account_id(p))
    await follows.unfollow(p.ctx, p.user, target.id)
    return p.redirect(p.next_url(profile_path(target)))


@page()
async def block(p: Page) -> web.StreamResponse:
    """Block, after the page that says what a block does and asks once more."""
    target = await accounts.get_account(p.ctx, _account_id(p))
    back = p.next_url(profile_path(target))
    if needs_confirming(p, "block"):
        return confirm_page(p, "block", f"@{target.acct()}", back)
    await blocks.block(p.ctx, p.user, target.id)
    return p.redirect(back)


@page()
async def mute(p: Page) -> web.StreamResponse:
    """Mute at once: private to the one who mutes, and undone as easily from the same page."""
    target = await accounts.get_account(p.ctx, _account_id(p))
    await mutes.mute(p.ctx, p.user, target.id)
    return p.redirect(p.next_url(profile_path(target)))


@page()
async def requests_page(p: Page) -> web.StreamResponse:
    people = await follows.follow_requests(p.ctx, p.user, Cursor(limit=40))
    return p.render("requests.html", title="Follow requests", people=people)


@page()
async def answer_request(p: Page) -> web.StreamResponse:
    follower_id = _account_id(p)
    if p.request.match_info["answer"] == "approve":
        await follows.approve(p.ctx, p.user, follower_id)
    else:
        await follows.reject(p.ctx, p.user, follower_id)
    return p.redirect("/follow_requests")


async def _settings(p: Page, status: int = 200, *, error: str | None = None, done: str | None = None,
                    fields: list[profile_fields.FieldInput] | None = None) -> web.Response:
    """The settings page; `fields` as the person sent them when they are shown again with an error."""
    own = [profile_fields.FieldInput(f.name, f.value_text, f.scope)
           for f in await profile_fields.own_fields(p.ctx, p.user.id)] if fields is None else fields
    slots = own + [profile_fields.FieldInput("", "")] * (profile_fields.MAX_FIELDS - len(own))
    return p.render("settings.html", status, title="Your profile", account=p.user, error=error,
                    done=done or p.request.query.get("done"), fields=slots[:profile_fields.MAX_FIELDS],
                    directory=profile_fields.directory_fields(p.user), max_field=profile_fields.MAX_VALUE,
                    prefs=await preferences.of(p.ctx, p.user.id),
                    audiences=audience_words.audiences(p.ctx), expand_media=preferences.EXPAND_MEDIA)


@page()
async def settings_form(p: Page) -> web.StreamResponse:
    return await _settings(p)


def _field_inputs(p: Page) -> list[profile_fields.FieldInput]:
    """The form's field rows (`field_name_N`, `field_value_N`, `field_scope_N`), in order."""
    return [profile_fields.FieldInput(p.field(f"field_name_{i}"), p.field(f"field_value_{i}"),
                                      profile_fields.parse_scope(p.field(f"field_scope_{i}") or None))
            for i in range(profile_fields.MAX_FIELDS)]


@page()
async def save_preferences(p: Page) -> web.StreamResponse:
    """How new posts start and how posts are shown: the row the client API's preferences read."""
    try:
        await preferences.update(p.ctx, p.user.id, preferences.Change(
            audience=Audience.parse(p.field("default_audience")),
            sensitive=p.field("default_sensitive") == "on",
            language=p.field("default_language"),
            expand_media=p.field("expand_media", "default"),
            expand_spoilers=p.field("expand_spoilers") == "on",
        ))
    except Invalid as exc:
        return await _settings(p, exc.status, error=exc.reason)
    return p.redirect("/settings?done=preferences")


@page()
async def save_profile(p: Page) -> web.StreamResponse:
    """The texts, the lock and the fields: all checked before anything is written."""
    sent: list[profile_fields.FieldInput] | None = None
    try:
        sent = _field_inputs(p)
        profile_fields.check_fields(sent)
        await accounts.update_profile(
            p.ctx, p.user.id, display_name=p.field("display_name").strip(), bio=p.field("bio"),
            locked=p.field("locked") == "on",
        )
        await profile_fields.set_fields(p.ctx, p.user.id, sent)
    except Invalid as exc:
        return await _settings(p, exc.status, error=exc.reason, fields=sent)
    return p.redirect("/settings?done=profile")


@page(files=avatars.PICTURE_FIELDS)
async def save_pictures(p: Page) -> web.StreamResponse:
    """The avatar and header: a file chosen replaces one, "Remove" brings the default back."""
    try:
        for name, role in avatars.PICTURE_FIELDS.items():
            if p.field(f"remove_{name}") == "on":
                await avatars.set_picture(p.ctx, p.user, role, None)
            elif name in p.files:
                await avatars.set_picture(p.ctx, p.user, role, p.files[name])
    except Invalid as exc:
        return await _settings(p, exc.status, error=exc.reason)
    return p.redirect("/settings?done=pictures")


@page()
async def change_password(p: Page) -> web.StreamResponse:
    new = p.field("new_password")
    if new != p.field("new_password_again"):
        return await _settings(p, 422, error="The two new passwords differ.")
    if len(new) < 8:
        return await _settings(p, 422, error="Choose a password of at least 8 characters.")
    try:
        await accounts.authenticate(p.ctx, p.user.username, p.field("current_password"),
                                    client=client_address(p.request))
    except RateLimited as exc:
        response = await _settings(p, 429, error=too_many(exc))
        response.headers.update(exc.headers)
        return response
    except Forbidden:
        return await _settings(p, 403, error="Your current password is not right.")
    account = await accounts.set_password(p.ctx, p.user.username, new)
    # Every other session is void now (credentials_version moved); this browser gets a new one.
    token, _ = await sessions.create(p.ctx, account, p.request.headers.get("User-Agent", ""))
    response = p.redirect("/settings?done=password")
    set_cookie(response, p.ctx, cookies_of(p.ctx).session, token, max_age=int(sessions.LIFETIME.total_seconds()))
    return response


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/@{handle}", profile)
    r.add_get("/@{handle}/followers", followers_page)
    r.add_get("/@{handle}/following", following_page)
    r.add_post(r"/accounts/{account_id:\d+}/follow", follow)
    r.add_post(r"/accounts/{account_id:\d+}/unfollow", unfollow)
    r.add_post(r"/accounts/{account_id:\d+}/block", block)
    r.add_post(r"/accounts/{account_id:\d+}/mute", mute)
    r.add_get("/follow_requests", requests_page)
    r.add_post(r"/follow_requests/{account_id:\d+}/{answer:approve|reject}", answer_request)
    r.add_get("/settings", settings_form)
    r.add_post("/settings/profile", save_profile)
    r.add_post("/settings/preferences", save_preferences)
    r.add_post("/settings/pictures", save_pictures)
    r.add_post("/settings/password", change_password)
