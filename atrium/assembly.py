"""What every process of a node is assembled from, whether it serves (`atrium serve`,
atrium/server.py) or runs one command (the CLI) or acts on a node in a test: its context from
the settings, the schema check, the media store, and the outbound gate (`federating`).

Kept apart from atrium/server.py, which imports the whole web application: a CLI command such
as `atrium user create` loads only what it uses, in a third of the time.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

from federation.addresses import AddressPolicy
from federation.signatures import sign_request
from node import contact, loops, oidc
from node.actors import key_id
from node.context import MediaRemote, NodeContext
from node.instance import get_instance
from node.keys_rotation import InstanceKey
from node.policy import PolicyStore
from node.ratelimit import Limits
from node.settings import POLICY_FILE, SETTINGS_FILE, Settings, parse_networks
from storage import migrate
from storage.db import Database
from storage.errors import AtriumError, Invalid
from storage.media_s3 import S3Location, S3Store
from storage.media_store import LocalStore, MediaStore, StoreKind

ROLES = ("all", "web", "worker")  # of `atrium serve --role`
# The longest a rotated instance key takes to reach a running process. Slower than the policy:
# a policy change is a boundary that must hold at once, a rotation only changes which of two
# valid keys signs our fetches (peers that cached the old one still accept it, the others
# refetch the actor and retry later), and a read a second of an idle node was a fifth of its CPU.
KEY_SYNC_SECONDS = 5.0


async def check_schema(db: Database) -> None:
    current = await migrate.current_revision(db)
    head = migrate.head_revision()
    if current is None:
        raise AtriumError("the database is empty: run `atrium init` (or `atrium migrate`)")
    if current != head:
        raise AtriumError(f"the database schema is at {current}, the code needs {head}: run `atrium migrate`")


def media_store_for(settings: Settings, kind: StoreKind | None = None) -> MediaStore:
    """The media store `media.storage` names (or `kind`: `atrium media migrate` makes the one it
    copies to): DATA_DIR/media, or the S3 bucket of `media.s3.*`. Makes no connection."""
    kind = kind or settings.media_storage
    if kind == StoreKind.LOCAL:
        return LocalStore(settings.data_dir / "media")
    if settings.s3_bucket is None:
        raise Invalid(f"{settings.data_dir / SETTINGS_FILE}: the s3 media store needs media.s3.bucket")
    return S3Store(S3Location(
        bucket=settings.s3_bucket,
        region=settings.s3_region,
        endpoint=settings.s3_endpoint,
        prefix=settings.s3_prefix,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key(),
    ))


def context_for(settings: Settings, db: Database, store: PolicyStore | None = None) -> NodeContext:
    """A context on the node; without `store` the policy is read from the local policy.toml
    (the CLI, tests acting on a node); `serve` passes one that follows the shared policy."""
    policies = store or PolicyStore(settings.data_dir / POLICY_FILE)
    return NodeContext(
        db=db,
        domain=settings.domain,
        scheme=settings.scheme,
        max_post_chars=settings.max_post_chars,
        limits=Limits.from_settings(settings),
        trusted_proxies=parse_networks(settings.trusted_proxies),
        proxy_header=settings.proxy_header,
        second_factor_roles=frozenset(settings.second_factor_roles),
        admin_groups=settings.admin_groups, moderator_groups=settings.moderator_groups,
        policy=lambda: policies.policy,
        policy_file=policies.path,
        media=media_store_for(settings),
        media_limits=settings.media_limits(),
        media_remote=MediaRemote(settings.media_remote),
        oidc=oidc.provider_for(settings.oidc, partial(settings.oidc.client_secret, settings.data_dir), settings.base_url,
                               admin_groups=settings.admin_groups, moderator_groups=settings.moderator_groups)
        if settings.oidc else None,
        password_sign_in=settings.password_sign_in,
        admin_password_sign_in=settings.admin_password_sign_in,
    )


@asynccontextmanager
async def federating(ctx: NodeContext, settings: Settings) -> AsyncIterator[NodeContext]:
    """Give `ctx` its outbound gate (the node's only HTTP session: address-guarded, and asking
    the trust policy before every request) and a fetcher signing as the instance actor."""
    address_policy = AddressPolicy.for_node(
        settings.allowed_private_networks, scheme=settings.scheme, domain=settings.domain
    )
    client_tls = ssl.create_default_context()
    if settings.ca_file:
        client_tls.load_verify_locations(cafile=str(settings.path(settings.ca_file)))
    instance = await get_instance(ctx.db)
    # Held, not fixed: `atrium keys rotate --instance` reaches a running process (`follow`).
    instance_key = InstanceKey(instance.private_key_pem)
    instance_key_id = key_id(ctx, None)

    def signer(method: str, url: str, headers: Mapping[str, str]) -> Mapping[str, str]:
        return sign_request(method, url, headers, None, instance_key_id, instance_key.key)

    contact.open_gate(ctx, address_policy, signer=signer, ssl_context=client_tls)
    try:
        async with loops.running(instance_key.syncing(ctx.db, KEY_SYNC_SECONDS)):
            yield ctx
    finally:
        await contact.close_gate(ctx)
