"""What a page shows for a post or an account: plain view objects built from node calls."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from node import audience_words, filters, node_names, outbox, posts
from node.audience import Audience, audience_of
from node.context import NodeContext
from node.filters_match import FilterContext
from node.polls import PollView
from node.post_views import extras
from node.sanitize import relink
from storage.errors import NotFound
from storage.models import Account, Post
from web.ui.attachments import MediaView, media_views


def profile_path(account: Account) -> str:
    return f"/@{account.acct()}"


def full_handle(ctx: NodeContext, account: Account) -> str:
    return f"@{account.username}@{account.domain or ctx.domain}"


@dataclass(frozen=True)
class PostView:
    post: Post
    author: Account
    boosted_by: Account | None
    mine: bool
    liked: bool
    boosted: bool
    boostable: bool
    tags: list[str] = field(default_factory=list)
    kept_from: list[audience_words.KeptFrom] = field(default_factory=list)
    content_html: str = ""  # the stored HTML, its mentions pointing to this node's pages
    bookmarked: bool = False
    media: list[MediaView] = field(default_factory=list)  # its attachments, in order
    filtered: list[str] = field(default_factory=list)  # titles of the reader's `warn` filters it matches
    pinned: bool = False  # pinned to the reader's own profile (node/pins.py)
    pin_label: bool = False  # shown among a profile's pinned posts, labelled so
    poll: PollView | None = None  # its poll as the reader sees it (node/polls.py)

    @property
    def pinnable(self) -> bool:
        """Whether its author may pin it to their profile (node/pins.py has the rules)."""
        return self.mine and self.post.visibility != Audience.DIRECT

    @property
    def id(self) -> int:
        return self.post.id

    @property
    def path(self) -> str:
        return f"{profile_path(self.author)}/{self.post.id}"

    @property
    def author_path(self) -> str:
        return profile_path(self.author)


def local_mention_links(ctx: NodeContext, post: Post, mentioned: list[Account]) -> str:
    """The post's HTML with each link to a person it mentions (the addresses their node and
    ours give them) opening that person's page here, where the reader is signed in; the
    stored HTML keeps the links their node serves, for federation and the client API."""
    hrefs: dict[str, str] = {}
    for account in mentioned:
        here = profile_path(account)
        known = [account.url, account.actor_uri]
        if account.domain is None:
            known += [ctx.profile_url(account.username), ctx.actor_uri(account.username)]
        hrefs.update((url, here) for url in known if url)
    return relink(post.content_html, hrefs)


def open_web_may_see(ctx: NodeContext, viewer: Account | None, post: Post) -> bool:
    """A page read without signing in is read by the open web: the trust policy's content
    rules keep from it what they keep from any reader trusted `public` (as the client API and
    the ActivityPub routes do)."""
    return viewer is not None or outbox.open_web_may_see(ctx, post)


async def post_views(
    ctx: NodeContext, viewer: Account | None, page: list[Post], context: FilterContext | None = None
) -> list[PostView]:
    """Each post of a page (a boost shown as its original, marked with who boosted it). Read
    in a filter `context`, the reader's filters apply as in the client API: a `hide` match is
    left out, a `warn` one is marked with its filters' titles."""
    shown: list[tuple[Post, Account | None]] = []
    for p in page:
        if p.reblog_of_id is None:
            if open_web_may_see(ctx, viewer, p):
                shown.append((p, None))
            continue
        try:
            original = await posts.get_post(ctx, viewer, p.reblog_of_id)
        except NotFound:
            continue  # the original is gone or hidden from this viewer
        if open_web_may_see(ctx, viewer, original):
            shown.append((original, p.account))
    more = await extras(ctx, viewer, [p.id for p, _ in shown])
    kept_of = {p.id: await audience_words.kept_from(ctx, p) for p, _ in shown if viewer is not None and viewer.id == p.account_id}
    # The peers the notes name, by their names: those not known yet are asked (a signed-in
    # author's own page; node.node_names says how rarely).
    unnamed = {k.domain for kept in kept_of.values() for k in kept if k.name is None}
    if unnamed:
        names = await node_names.learn_unknown(ctx, unnamed)
        kept_of = {i: [replace(k, name=k.name or names.get(k.domain)) for k in kept] for i, kept in kept_of.items()}
    active = await filters.active(ctx, viewer) if context is not None else []
    out = []
    for p, booster in shown:
        titles: list[str] = []
        if active and context is not None:
            alts = [m.description for m in more.media.get(p.id, []) if m.description]
            found = filters.judge(active, context, p, p, alts)
            if found is None:
                continue
            titles = [m.filter.title for m in found]
        mine = viewer is not None and viewer.id == p.account_id
        kept = kept_of.get(p.id, [])
        out.append(
            PostView(
                post=p,
                author=p.account,
                boosted_by=booster,
                mine=mine,
                liked=p.id in more.liked,
                boosted=p.id in more.boosted,
                boostable=audience_of(p.visibility).rules.boostable,
                tags=more.tags.get(p.id, []),
                kept_from=kept,
                content_html=local_mention_links(ctx, p, more.mentions.get(p.id, [])),
                bookmarked=p.id in more.bookmarked,
                media=media_views(ctx, more.media.get(p.id, [])),
                filtered=titles,
                pinned=p.id in more.pinned,
                poll=more.polls.get(p.id),
            )
        )
    return out
