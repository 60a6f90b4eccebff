"""The thin inbound path: verify, check origins, ask the policy, dedupe, queue. Nothing heavy
happens here; the `inbox` worker (node.inbox) does the rest.

    size cap (web) → charged to the client address → signature parsed → key id on a peer the
    policy does not admit refused before any fetch, audited (node.admission; the web layer asks
    it of every signed request first) → signer's key (node.signers, else the database, else
    fetched) → signature, digest, date verified (a failing key is re-fetched once,
    rate-limited) → signer is the actor, ids on the actor's origin → charged to the verified
    peer domain → inbound policy → dedupe on (actor origin, activity id), logged, audited and
    queued with the other requests of the moment in one transaction → 202

The two limits (node/ratelimit.py) are in-process: no database round trip per request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from federation import jsonld
from federation.addresses import FetchError
from federation.parsing import InvalidActivity, origin, parse_activity
from federation.signatures import ParsedSignature, SignatureError, parse_signature, verify_request
from federation.vocab import id_of
from node import admission, audit, inbox_log, metrics, peers, remote
from node.context import NodeContext
from node.queues import INBOX
from storage.errors import AtriumError, Forbidden

__all__ = ["INBOX", "Received", "Unauthorized", "check_origins", "parse_body", "receive"]
MAX_DEPTH = 64
HEARD_EVERY = 1.0  # seconds


class Unauthorized(AtriumError):
    status = 401


@dataclass(frozen=True)
class Received:
    outcome: str  # "queued" | "duplicate"
    activity_id: str


def _depth_ok(doc: object) -> bool:
    """No value deeper than MAX_DEPTH: level by level, without recursion (a recursive walk was
    a third of the body's parse)."""
    level, depth = [doc], 0
    while level:
        if depth > MAX_DEPTH:
            return False
        below: list[object] = []
        for value in level:
            if isinstance(value, dict):
                below.extend(value.values())
            elif isinstance(value, list):
                below.extend(value)
        level, depth = below, depth + 1
    return True


def parse_body(body: bytes) -> object:
    """The activity in one compacted ActivityStreams shape, whatever JSON-LD form it came in
    (contexts from the bundle only, never fetched; unknown ones read by plain JSON shape)."""
    try:
        doc = json.loads(body)
    except RecursionError as exc:  # deeper than the JSON parser itself will go
        raise InvalidActivity(f"the activity nests deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise InvalidActivity("the body is not JSON") from exc
    if not _depth_ok(doc):
        raise InvalidActivity(f"the activity nests deeper than {MAX_DEPTH} levels")
    if not isinstance(doc, dict):
        raise InvalidActivity("an activity must be a JSON object")
    try:
        return jsonld.normalize(doc).document
    except jsonld.JsonLdRejected as exc:
        raise InvalidActivity(f"the activity is unusable JSON-LD: {exc}") from exc


def check_origins(activity_type: str, actor: str, activity_id: str, obj: object) -> None:
    """Impersonation guards: the activity, and any object it creates or changes, live on the
    actor's own origin. (Like, Announce, Flag, Accept… name others' objects: not checked here.)"""
    actor_origin = origin(actor)
    if origin(activity_id) != actor_origin:
        raise Forbidden("the activity's id is not on the actor's origin")
    if activity_type in ("Create", "Update") and isinstance(obj, dict):
        object_id = id_of(obj)
        if object_id is None or origin(object_id) != actor_origin:
            raise Forbidden("the object's id is not on the actor's origin")
        author = id_of(obj.get("attributedTo"))
        if author is not None and author != actor and obj.get("type") not in ("Person", "Service", "Application", "Group", "Organization"):
            raise Forbidden("the object is attributed to someone other than the actor")


async def receive(
    ctx: NodeContext, method: str, url: str, headers: Mapping[str, str], body: bytes, client: str,
    parsed: ParsedSignature | None = None,
) -> Received:
    """`client` is the request's client address (web/client.py), charged before anything is
    read: a flood from one address costs no key fetch and no signature check. The key id
    names a domain nobody has proven yet, so nothing is charged to it. `parsed`: the request's
    signature headers, when the caller has parsed them already."""
    ctx.limits.inbox_from(client)
    if parsed is None:
        try:
            parsed = parse_signature(headers)
        except SignatureError as exc:
            raise Unauthorized(f"signature: {exc.reason}") from exc
    try:
        # Refused before any fetch: a blocked peer cannot make us talk to it (audited there).
        await admission.admit_signer(ctx, parsed.key_id, f"signed {method} {urlsplit(url).path}")
    except Forbidden:
        metrics.inbox(ctx, "refused")
        raise
    metrics.decision(ctx, "in", True)
    hit = ctx.signers.get(parsed.key_id)
    if hit is not None:
        signer, key = hit.account, hit.key
    else:
        try:
            signer, key = await remote.actor_by_key_id(ctx, parsed.key_id), None
        except (FetchError, remote.PeerUnavailable, InvalidActivity) as exc:
            raise Unauthorized(f"could not get the signer's key: {getattr(exc, 'reason', exc)}") from exc
    try:
        verify_request(method, url, headers, body, key or ctx.signers.put(parsed.key_id, signer).key, parsed=parsed)
    except SignatureError as first:
        try:
            refreshed = await remote.actor_by_key_id(ctx, parsed.key_id, refresh=True)
        except (FetchError, remote.PeerUnavailable, InvalidActivity) as exc:
            raise Unauthorized(f"signature: {first.reason}") from exc
        if refreshed.public_key_pem == signer.public_key_pem:
            raise Unauthorized(f"signature: {first.reason}") from first
        try:
            verify_request(method, url, headers, body, ctx.signers.put(parsed.key_id, refreshed).key, parsed=parsed)
        except SignatureError as exc:
            raise Unauthorized(f"signature: {exc.reason}") from exc
        signer = refreshed
    activity = parse_activity(parse_body(body))
    if activity.actor != signer.actor_uri:
        raise Forbidden("the signer is not the activity's actor")
    # Verified: the signer's key is on this domain and signed this request. Only now may a
    # delivery spend the peer's allowance, so a forged key id never spends another's.
    ctx.limits.inbox_by(remote.domain_of(activity.actor))
    if signer.suspended:  # suspended by this node's moderators (node/moderation.py)
        await audit.record_now(ctx.db, direction="in", peer=signer.domain or "", obj=activity.id,
                               decision="refused", rule="moderation:suspended", reason=f"{signer.acct()} is suspended")
        metrics.inbox(ctx, "refused")
        raise Forbidden("this account is suspended on this node")
    check_origins(activity.type, activity.actor, activity.id, activity.object)
    actor_domain = remote.domain_of(activity.actor)
    decision = ctx.policy().inbound(actor_domain)
    if not decision.allowed:
        await audit.record_now(ctx.db, direction="in", peer=actor_domain, obj=activity.id,
                               decision="refused", rule=decision.rule, reason=decision.reason)
        metrics.inbox(ctx, "refused")
        raise Forbidden(f"{actor_domain} is not admitted by this node's policy")
    await _heard_from(ctx, actor_domain)
    outcome = await ctx.inbox_writes.submit(inbox_log.Accepted(
        origin=origin(activity.actor), activity_id=activity.id, type=activity.type, actor=activity.actor,
        raw=activity.raw, peer=actor_domain, rule=decision.rule,
        reason=f"{activity.type} from a peer trusted as {decision.trust}"))
    metrics.inbox(ctx, outcome)
    return Received(outcome, activity.id)


async def _heard_from(ctx: NodeContext, domain: str) -> None:
    """A peer that sent a valid signed request is alive (node.peers.heard_from); looked at
    no more than once a second per peer, so a busy peer costs no read per request."""
    now = time.monotonic()
    if now - ctx.peers_heard.get(domain, float("-inf")) >= HEARD_EVERY:
        ctx.peers_heard[domain] = now
        await peers.heard_from(ctx.db, domain)
