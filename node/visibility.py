"""Who may see a post: the audience's rule (node/audience.py `Audience.may_see`), as a
Python check for one post and as SQL for lists. The author always sees their own posts.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select, true

from node.audience import Audience, audience_of
from node.organization import OrgDomains
from storage.models import Account, Follow, Mention, Post

# The audiences anyone may see.
ANYONE = Audience.where(lambda a: a.rules.anyone_may_see)


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
    audience = audience_of(post.visibility)
    return audience.may_see(
        follower=follows_author,
        mentioned=mentioned,
        # Asked only of the audiences that care (it matches the viewer's domain to the policy).
        in_organization=audience.rules.organization_may_see and in_organization(viewer, org_domains),
        local_user=viewer is not None and viewer.domain is None,
        local_post=post.local,
    )


def visible_clause(viewer: Account | None, org_domains: OrgDomains) -> ColumnElement[bool]:
    """SQL for "`Post` is visible to `viewer`" — the list form of `can_view`, written from the
    same rules: for each audience, the facts about the viewer that let them see it."""
    clauses: list[ColumnElement[bool]] = [Post.visibility.in_(ANYONE)]
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
    member = in_organization(viewer, org_domains)
    clauses.append(Post.account_id == viewer.id)
    for audience in Audience:
        r = audience.rules
        if r.anyone_may_see:
            continue
        if r.organization_may_see and member:
            clauses.append(Post.visibility == audience)  # whoever else it names
            continue
        facts: list[ColumnElement[bool]] = []
        if r.followers_may_see:
            facts.append(follows)
        if r.mentioned_may_see:
            facts.append(mentioned)
        if r.local_users_may_see and viewer.domain is None:
            facts.append(Post.local.is_(True))
        if facts:
            clauses.append(and_(Post.visibility == audience, or_(*facts)))
    return and_(or_(*clauses), not_suspended())


def not_suspended() -> ColumnElement[bool]:
    """SQL: the `Post`'s author is neither suspended by this node's staff (node/moderation.py)
    nor disabled (here, by `atrium user disable` or SCIM; or by its own node, which said so in
    its actor: node/remote.py). A sub-select over the partial index ix_accounts_hidden: the set
    is small, and the predicate is written as the index's (`= true`, not `IS true`) so the
    planner can use it."""
    return Post.account_id.not_in(
        select(Account.id).where((Account.suspended == true()) | (Account.disabled == true()))
    )


def in_shared_timelines() -> ColumnElement[bool]:
    """SQL: the `Post` may appear in shared timelines: its author is neither suspended nor
    silenced (node/moderation.py) nor disabled."""
    return Post.account_id.not_in(  # ix_accounts_unlisted, as above
        select(Account.id).where(
            (Account.suspended == true()) | (Account.silenced == true()) | (Account.disabled == true())
        )
    )


def timeline_visibilities(viewer: Account | None, org_domains: OrgDomains) -> tuple[Audience, ...]:
    """The audiences a viewer sees in shared timelines (local, organisation, hashtag): the
    listed ones the viewer may see without following or being mentioned."""
    if viewer is None:
        return _LISTED_FOR[False, False]
    return _LISTED_FOR[in_organization(viewer, org_domains), viewer.domain is None]


def _listed_for(member: bool, local: bool) -> tuple[Audience, ...]:
    return Audience.where(
        lambda a: a.rules.listed
        and a.may_see(follower=False, mentioned=False, in_organization=member, local_user=local, local_post=True)
    )


# (in the organisation, a local user) -> the listed audiences they may see; worked out once.
_LISTED_FOR = {(member, local): _listed_for(member, local) for member in (False, True) for local in (False, True)}
