"""A peer's pinned posts, read from its actor's `featured` collection (as Mastodon does) when a
signed-in person first opens that profile here (node/profiles.py `first_look`), and shown
first on it as this node's own pins are.

The collection is fetched through the outbound gate (`Purpose.COLLECTION`: the trust policy
is asked about the host first) within the profile's fetch budget, and signed as this node, so
the peer lists what it lets this node have. Only embedded notes of that very person, on their
own origin, are taken; a note narrower than the organisation (followers, direct) is never
taken from a collection; a peer's claim of `organization` is judged by its trust as the inbox
judges it (`store_note`); an item given by id only counts if the post is here already (no
request for each).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from federation.fetch import FetchBudget
from federation.gate import Purpose
from federation.parsing import InvalidActivity, ap_to_post, origin
from node.audience import Audience
from node.context import NodeContext
from node.inbox.notes import store_note
from storage.errors import AtriumError
from storage.models import MAX_PINS, Account, PinnedPost, Post, Tombstone, utcnow

NOTE_TYPES = ("Note", "Article", "Page", "Question")


async def _post_of(ctx: NodeContext, account: Account, item: Any) -> int | None:
    """The id here of one item of the collection: known already, or stored now; None if unusable."""
    uri = item.get("id") if isinstance(item, dict) else item
    if not isinstance(uri, str) or origin(uri) != origin(account.actor_uri or ""):
        return None
    async with ctx.db.reader() as s:
        known = await s.scalar(select(Post.id).where(Post.uri == uri, Post.account_id == account.id))
        if known is not None or await s.get(Tombstone, uri) is not None:
            return known
    if not isinstance(item, dict) or item.get("type") not in NOTE_TYPES:
        return None
    try:
        note = ap_to_post(item)
    except InvalidActivity:
        return None
    if note.attributed_to != account.actor_uri:
        return None
    audience = Audience.addressed(note.to, note.cc, account.followers_uri, note.scope)
    if not (audience.rules.anyone_may_see or audience is Audience.ORGANIZATION):
        return None
    # Context for the profile, not news: no home timeline, no notification.
    return (await store_note(ctx, note, account, [], notify_people=False)).id


async def read_featured(ctx: NodeContext, account: Account, document: dict[str, Any], budget: FetchBudget) -> None:
    """Replace the peer's pins here with those its `featured` collection lists now. A refusal
    or failure keeps what is known."""
    uri = document.get("featured")
    if ctx.fetcher is None or not isinstance(uri, str) or origin(uri) != origin(account.actor_uri or ""):
        return
    try:
        collection = await ctx.fetcher.fetch_object(uri, purpose=Purpose.COLLECTION, budget=budget)
    except AtriumError:
        return
    items = collection.get("orderedItems", collection.get("items"))
    if not isinstance(items, list):
        return
    found: list[int] = []
    for item in items[:MAX_PINS]:
        try:
            post_id = await _post_of(ctx, account, item)
        except AtriumError:
            continue  # one unusable note does not cost the others
        if post_id is not None and post_id not in found:
            found.append(post_id)
    now = utcnow()
    async with ctx.db.session() as s:
        await s.execute(delete(PinnedPost).where(PinnedPost.account_id == account.id))
        for n, post_id in enumerate(found):  # the collection's order: its first the latest pin
            s.add(PinnedPost(account_id=account.id, post_id=post_id, pinned_by=None, created_at=now - timedelta(seconds=n)))
