"""Who may see a post: one rule, as a Python check for one post and as SQL for lists.

| visibility     | who may see it on this node                                        |
|----------------|--------------------------------------------------------------------|
| public         | anyone                                                             |
| unlisted       | anyone (kept out of public timelines)                              |
| followers      | the author, accepted followers, mentioned accounts                 |
| direct         | the author and mentioned accounts                                  |
| organization   | local users and users on peers trusted as `organization` (by any   |
|                | rule the policy decides with: exact, wildcard, default_trust)      |
| local          | local users, for posts written on this node                        |
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from node.organization import OrgDomains
from storage.models import Account, Follow, Mention, Post

VISIBILITIES = ("public", "unlisted", "followers", "direct", "organization", "local")
# Visibilities that may appear in shared (non-home) timelines, for a viewer that may see them.
TIMELINE_VISIBILITIES = ("public", "organization", "local")


def in_organization(viewer: Account | None, org_domains: OrgDomains) -> bool:
    return viewer is not None and (viewer.domain is None or org_domains.contains(viewer.domain))


def can_view(
    viewer: Account | None,
    post: Post,
    *,
    follows_author: bool,
    mentioned: bool,
    org_domains: OrgDomains,
) -> bool:
    if viewer is not None and viewer.id == post.account_id:
        return True
    v = post.visibility
    if v in ("public", "unlisted"):
        return True
    if v == "followers":
        return follows_author or mentioned
    if v == "direct":
        return mentioned
    if v == "organization":
        return in_organization(viewer, org_domains) or mentioned
    if v == "local":
        return viewer is not None and viewer.domain is None and post.local
    return False


def visible_clause(viewer: Account | None, org_domains: OrgDomains) -> ColumnElement[bool]:
    """SQL for "`Post` is visible to `viewer`" — the list form of `can_view`."""
    clauses: list[ColumnElement[bool]] = [Post.visibility.in_(("public", "unlisted"))]
    if viewer is None:
        return and_(or_(*clauses), not_suspended())
    mentioned = exists(
        select(Mention.post_id).where(Mention.post_id == Post.id, Mention.account_id == viewer.id)
    )
    follows = exists(
        select(Follow.id).where(
            Follow.follower_id == viewer.id,
            Follow.target_id == Post.account_id,
            Follow.state == "accepted",
        )
    )
    clauses += [
        Post.account_id == viewer.id,
        and_(Post.visibility == "followers", or_(follows, mentioned)),
        and_(Post.visibility == "direct", mentioned),
        and_(
            Post.visibility == "organization",
            true() if in_organization(viewer, org_domains) else mentioned,
        ),
        and_(Post.visibility == "local", Post.local.is_(True))
        if viewer.domain is None
        else false(),
    ]
    return and_(or_(*clauses), not_suspended())


def not_suspended() -> ColumnElement[bool]:
    """SQL: the `Post`'s author is not suspended by this node's staff (node/moderation.py).
    A sub-select over the partial index ix_accounts_suspended: the set is small, and the
    predicate is written as the index's (`= true`, not `IS true`) so the planner can use it."""
    return Post.account_id.not_in(select(Account.id).where(Account.suspended == true()))


def in_shared_timelines() -> ColumnElement[bool]:
    """SQL: the `Post` may appear in shared timelines: its author is neither suspended nor
    silenced (node/moderation.py)."""
    return Post.account_id.not_in(  # ix_accounts_moderated, as above
        select(Account.id).where((Account.suspended == true()) | (Account.silenced == true()))
    )


def timeline_visibilities(viewer: Account | None, org_domains: OrgDomains) -> tuple[str, ...]:
    """The visibilities a viewer sees in shared timelines (local, organisation, hashtag)."""
    if viewer is None:
        return ("public",)
    if viewer.domain is None:
        return TIMELINE_VISIBILITIES
    if org_domains.contains(viewer.domain):
        return ("public", "organization")
    return ("public",)
