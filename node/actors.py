"""This node's actors as ActivityPub sees them: URIs, actor documents, the instance actor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from federation.builders import ActorData, actor_to_ap
from federation.group_ap import group_to_ap
from node import accounts, avatars, node_names, profile_fields, text
from node.context import NodeContext
from node.instance import get_instance
from node.profile_fields import FieldView
from storage.models import Account, MediaRole

Reader = Callable[[], Awaitable[Account | None]]  # a request's verified remote signer, if any
INSTANCE_ACTOR = "actor"  # the instance actor's path segment: /actor
# Every local person is discoverable (their actor documents say so, and the client API shows
# it): a node of one organisation has no per-account setting to hide from its directory.
LOCAL_DISCOVERABLE = True


def followers_uri(ctx: NodeContext, username: str) -> str:
    return f"{ctx.actor_uri(username)}/followers"


def key_id(ctx: NodeContext, account: Account | None) -> str:
    """The key id this node signs with for `account` (None: the instance actor)."""
    if account is None:
        return f"{ctx.base_url}/{INSTANCE_ACTOR}#main-key"
    return f"{ctx.actor_uri(account.username)}#main-key"


def account_uri(ctx: NodeContext, account: Account) -> str:
    """The ActivityPub id of any account, local or remote."""
    if account.domain is None:
        return ctx.actor_uri(account.username)
    assert account.actor_uri is not None
    return account.actor_uri


async def person_document(
    ctx: NodeContext, account: Account, *, organization: bool = False, fields: Sequence[FieldView] | None = None
) -> dict[str, object]:
    """A local person's actor document; with their organisation-only profile fields when
    `organization` (the reader is admitted for them, asked by the caller of the trust policy).
    `fields`: every field of the account, when the caller read them already."""
    account = await accounts.ensure_keys(ctx, account.id)
    views = fields if fields is not None else await profile_fields.all_fields(ctx, account)
    base = ctx.actor_uri(account.username)
    assert account.public_key_pem is not None
    return actor_to_ap(
        ActorData(
            id=base,
            type="Person",
            username=account.username,
            name=account.display_name,
            # The bio is kept as typed: render it as a post's text is, so it carries no markup.
            summary_html=text.render(account.bio, resolve_mention=lambda _: None, tag_url=ctx.tag_url),
            url=ctx.profile_url(account.username),
            shared_inbox=f"{ctx.base_url}/inbox",
            public_key_pem=account.public_key_pem,
            locked=account.locked,
            published=account.created_at,
            suspended=account.disabled or account.suspended,
            discoverable=LOCAL_DISCOVERABLE,
            icon=avatars.picture_of(ctx.base_url, account, MediaRole.AVATAR),
            image=avatars.picture_of(ctx.base_url, account, MediaRole.HEADER),
            fields=profile_fields.property_values(views, organization=organization),
        )
    )


async def served_person_document(ctx: NodeContext, account: Account, reader: Reader) -> dict[str, object]:
    """The actor document as served to a request: organisation-only fields only to a signed
    fetch from a peer the policy admits for the organisation's audience. The reader (a
    verified signer, fetching its key when unknown) is asked only when the account has such
    fields."""
    views = await profile_fields.all_fields(ctx, account)
    organization = False
    if any(v.organization_only for v in views):
        signer = await reader()
        organization = signer is not None and profile_fields.organization_peer(ctx, signer.domain)
    return await person_document(ctx, account, organization=organization, fields=views)


async def instance_document(ctx: NodeContext) -> dict[str, object]:
    """The Application actor that signs the node's own fetches."""
    instance = await get_instance(ctx.db)
    base = f"{ctx.base_url}/{INSTANCE_ACTOR}"
    return actor_to_ap(
        ActorData(
            id=base,
            type="Application",
            username=ctx.domain,
            name=await node_names.own_name(ctx),  # the node's display name, else its domain
            summary_html="",
            url=f"{ctx.base_url}/",
            shared_inbox=f"{ctx.base_url}/inbox",
            public_key_pem=instance.public_key_pem,
            locked=True,
            published=instance.created_at,
        )
    )


async def group_document(ctx: NodeContext, account: Account) -> dict[str, object]:
    """A local community's actor document: a `Group` (FEP-1b12), in Lemmy's shape. Served only
    where the community may reach (node/community_ap.py `visible_to`)."""
    person = await person_document(ctx, account)
    return group_to_ap(person, ctx.actor_uri(account.username))
