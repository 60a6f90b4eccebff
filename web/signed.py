"""One door for signed requests: whatever the route — inbox, actor, note, collection, a
well-known document, a page — a request that carries an HTTP signature is first judged by its
signer's host (node.admission) and refused with 403 when the policy does not admit it, before
the route's handler runs, so before any key is fetched. A new route is covered without a line
of its own. Unsigned requests pass untouched: they are anonymous readers."""

from __future__ import annotations

from aiohttp import web

from federation.signatures import SignatureError, parse_signature
from node import metrics
from node.admission import admit_signer
from storage.errors import Forbidden
from web.keys import CTX

SIGNATURE_HEADERS = ("Signature", "Signature-Input")


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
    return await handler(request)
