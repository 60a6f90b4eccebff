"""Names of nodes as people read them: this node's display name ("Acme Engineering", given by
`atrium init --name` or an admin, kept as a shared setting every process reads) and the name
each peer gives itself (its instance actor's `name`, or its NodeInfo `metadata.nodeName`).

The domain stays wherever an address needs it (handles, links); a name is for the words
around them. A node without a name is shown by its domain, as before.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select

from federation.fetch import FetchBudget
from federation.gate import Purpose
from federation.parsing import IncomingActor, host_of, origin
from node import shared_settings
from node.domains import canonical_domain
from node.federate import queue_fanout
from node.queues import InstanceUpdated
from storage.db import insert_ignoring_conflicts
from storage.errors import AtriumError, Invalid
from storage.models import PeerName, utcnow

if TYPE_CHECKING:
    from node.context import NodeContext

MAX_CHARS = 100
# How long another process may still show the old name after an admin changed it.
OWN_NAME_TTL = 5.0
# Peers whose names a page may ask for at once, and how long a peer that gave none (or could
# not be asked) is left alone by this process.
LEARN_AT_ONCE = 4
ASK_AGAIN_AFTER = 3600.0
NODEINFO_SCHEMAS = (
    "http://nodeinfo.diaspora.software/ns/schema/2.1",
    "http://nodeinfo.diaspora.software/ns/schema/2.0",
)


def clean(raw: str) -> str:
    """A name as stored: one line, spaces collapsed, at most MAX_CHARS characters. Empty means
    "no name" (the domain is shown). Invalid for control or format characters."""
    name = " ".join(raw.split())
    if len(name) > MAX_CHARS:
        raise Invalid(f"a node's name is at most {MAX_CHARS} characters (this one has {len(name)})")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in name):
        raise Invalid("a node's name may not hold control or invisible characters")
    return name


async def own_name(ctx: NodeContext) -> str:
    """This node's display name, else its domain: read again at most every OWN_NAME_TTL s."""
    now = time.monotonic()
    if now - ctx.own_name.read_at > OWN_NAME_TTL:
        found = await shared_settings.read(ctx.db, shared_settings.NAME)
        ctx.own_name.value, ctx.own_name.read_at = (found.value if found else ""), now
    return ctx.display_name


async def set_own_name(ctx: NodeContext, raw: str, *, source: str) -> bool:
    """Give the node a new display name (audited); its peers learn it by an Update of the
    instance actor, queued in the same transaction. Whether it changed."""
    name = clean(raw)
    async with ctx.db.session() as s:
        _, changed = await shared_settings.publish_in(s, shared_settings.NAME, name, source=source)
        if changed:
            await queue_fanout(s, InstanceUpdated())
    ctx.own_name.value, ctx.own_name.read_at = name, time.monotonic()
    return changed


# --- peers ------------------------------------------------------------------------------------


async def peer_names(ctx: NodeContext, domains: Iterable[str]) -> dict[str, str]:
    """The names known of these peers' domains (those with none are left out)."""
    out: dict[str, str] = {}
    missing: list[str] = []
    for domain in set(domains):
        found, name = ctx.peer_names.get(domain)
        if not found:
            missing.append(domain)
        elif name:
            out[domain] = name
    if missing:
        async with ctx.db.reader() as s:
            rows = {r.domain: r.name for r in await s.scalars(select(PeerName).where(PeerName.domain.in_(missing)))}
        for domain in missing:
            if ctx.peer_names.put(domain, rows.get(domain)):
                out[domain] = rows[domain]
    return out


async def peer_name(ctx: NodeContext, domain: str) -> str | None:
    return (await peer_names(ctx, [domain])).get(domain)


async def remember_peer(ctx: NodeContext, domain: str, raw: str) -> str | None:
    """Keep what `domain` calls itself; a name that is only its domain again, or unusable,
    is not a name. The name kept, or None."""
    try:
        name = clean(" ".join(raw.split())[:MAX_CHARS])
    except Invalid:
        return None
    if not name or name.lower() in (domain.lower(), domain.split(":")[0].lower()):
        return None
    async with ctx.db.session() as s:
        await s.execute(insert_ignoring_conflicts(s, PeerName).values(domain=domain, name=name, updated_at=utcnow()))
        row = await s.get(PeerName, domain, with_for_update=True, populate_existing=True)
        assert row is not None
        if row.name != name:
            row.name, row.updated_at = name, utcnow()
    ctx.peer_names.put(domain, name)
    return name


async def learn_unknown(ctx: NodeContext, domains: Iterable[str]) -> dict[str, str]:
    """The names of these peers, asking a few whose names are not known yet for them (their
    NodeInfo, `learn_from_nodeinfo`): only peers the policy lets this node contact (so no
    page audits a refusal each time it is shown), each at most once an hour."""
    wanted = sorted(set(domains))
    known = await peer_names(ctx, wanted)
    policy = ctx.policy()
    ask = [d for d in wanted if d not in known and not ctx.peer_names_asked.get(d)[0] and policy.contact(d).allowed][
        :LEARN_AT_ONCE
    ]
    for domain in ask:
        ctx.peer_names_asked.put(domain, None)
        name = await learn_from_nodeinfo(ctx, domain, FetchBudget(2))
        if name is not None:
            known[domain] = name
    return known


def is_instance_actor(actor: IncomingActor) -> bool:
    """The actor that speaks for a whole server (Atrium's and Mastodon's `/actor`): an
    Application or Service named after its host."""
    return actor.type in ("Application", "Service") and actor.username.lower() in (
        host_of(actor.id).lower(),
        host_of(actor.id).split(":")[0].lower(),
    )


async def learn_from_actor(ctx: NodeContext, actor: IncomingActor) -> None:
    """A peer's instance actor was fetched or updated: its `name` is the peer's name."""
    if is_instance_actor(actor):
        await remember_peer(ctx, canonical_domain(host_of(actor.id)), actor.name)


async def learn_from_nodeinfo(ctx: NodeContext, domain: str, budget: FetchBudget | None = None) -> str | None:
    """Ask a peer's NodeInfo for its name (`metadata.nodeName`), when a person is about to read
    about the peer and its name is not known. Two requests, each through the gate (purpose
    `nodeinfo`, so the policy is asked about the host first); the document must be on the
    peer's own origin. Best effort: a refusal or failure leaves the domain shown."""
    if ctx.fetcher is None:
        return None
    known = await peer_name(ctx, domain)
    if known is not None:
        return known
    base = f"{'http' if ctx.scheme == 'http' else 'https'}://{domain}"
    try:
        index = await ctx.fetcher.fetch_json(f"{base}/.well-known/nodeinfo", purpose=Purpose.NODEINFO, budget=budget)
        links = index.get("links")
        href = next(
            (
                link["href"]
                for schema in NODEINFO_SCHEMAS
                for link in (links if isinstance(links, list) else [])
                if isinstance(link, dict) and link.get("rel") == schema and isinstance(link.get("href"), str)
            ),
            None,
        )
        if href is None or origin(href) != origin(base):
            return None
        document = await ctx.fetcher.fetch_json(href, purpose=Purpose.NODEINFO, budget=budget)
    except AtriumError:  # a refusal, a failed fetch or an unusable document alike
        return None
    metadata = document.get("metadata")
    name = metadata.get("nodeName") if isinstance(metadata, dict) else None
    if not isinstance(name, str):
        ctx.peer_names.put(domain, None)
        return None
    return await remember_peer(ctx, domain, name[:1000])
