"""One door for signed requests: whatever the route — inbox, actor, note, collection, a
well-known document, a page — a request that carries an HTTP signature is first judged by its
signer's host (node.admission) and refused with 403 when the policy does not admit it, before
the route's handler runs, so before any key is fetched. A new route is covered without a line
of its own. Unsigned requests pass untouched: they are anonymous readers."""

from __future__ import annotations

from aiohttp import web

from federation.signatures import ParsedSignature, SignatureError, load_public_key_pem, parse_signature, verify_request
from node import metrics, remote
from node.admission import admit_signer
from storage.errors import AtriumError, Forbidden
from storage.models import Account
from web.keys import CTX

SIGNATURE_HEADERS = ("Signature", "Signature-Input")
# The request's parsed signature headers, once admitted.
PARSED = web.RequestKey("atrium.parsed_signature", ParsedSignature)


def _signed(request: web.Request) -> bool:
    if any(name in request.headers for name in SIGNATURE_HEADERS):
        return True
    return request.headers.get("Authorization", "")[:10].lower() == "signature "


@web.middleware
async def signed_request_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    if not _signed(request):
        return await handler(request)
    try:
        parsed = parse_signature(request.headers)
    except SignatureError:
        # Unreadable, so it names no signer: the handler judges it as before (an inbox
        # answers 401, a read is served as to an anonymous reader).
        return await handler(request)
    ctx = request.app[CTX]
    try:
        await admit_signer(ctx, parsed.key_id, f"signed {request.method} {request.path}")
    except Forbidden:
        if request.method == "POST":  # a delivery to an inbox, refused here rather than there
            metrics.inbox(ctx, "refused")
        raise
    request[PARSED] = parsed  # the inbox verifies it without parsing it again
    return await handler(request)


async def signed_reader(request: web.Request) -> Account | None:
    """The remote actor a signed read (GET, HEAD) comes from, verified; None for an unsigned
    request. A signer the policy does not admit was refused with 403 before the handler ran
    (the middleware above); asked again here so that no key is ever fetched from it, whoever
    calls this. Handlers pass it uncalled (node.ap_reads.Reader), so a request for nothing
    fetches no key."""
    if "Signature" not in request.headers and "Signature-Input" not in request.headers:
        return None
    try:
        parsed = parse_signature(request.headers)
    except SignatureError:
        return None  # an unusable signature is no signature: the request is anonymous
    ctx = request.app[CTX]
    await admit_signer(ctx, parsed.key_id, f"signed {request.method} {request.path}")
    target = f"{ctx.base_url}{request.raw_path}"
    try:
        signer = await remote.actor_by_key_id(ctx, parsed.key_id)
        try:
            verify_request(request.method, target, request.headers, None, load_public_key_pem(signer.public_key_pem or ""))
        except SignatureError:
            # The peer may have rotated its key (same key id): re-fetch it once, as the inbox does.
            signer = await remote.actor_by_key_id(ctx, parsed.key_id, refresh=True)
            verify_request(request.method, target, request.headers, None, load_public_key_pem(signer.public_key_pem or ""))
    except (AtriumError, ValueError):  # ValueError: a key that does not load
        return None  # an unusable signature is no signature: the request is anonymous
    return signer
