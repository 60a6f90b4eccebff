"""Every failure answers with a status and a one-line reason; no traceback reaches a client."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from storage.errors import DATABASE_AWAY, WRITE_CONFLICT, AtriumError

log = logging.getLogger(__name__)


def json_error(status: int, reason: str, **headers: str) -> web.Response:
    return web.json_response({"error": reason}, status=status, headers=headers or None)


@web.middleware
async def error_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except AtriumError as exc:  # also FetchError, InvalidActivity, SignatureError
        # An error may name headers the client needs (a 429's Retry-After).
        return json_error(exc.status, exc.reason, **getattr(exc, "headers", {}))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_error(exc.status, exc.reason)
    except HttpProcessingError as exc:
        # A body aiohttp cannot parse (e.g. a multipart part with a malformed header) read by
        # any handler: the client's fault, so a 4xx, not a 500.
        return json_error(exc.code if 400 <= exc.code < 500 else 400, "the request body is malformed")
    except WRITE_CONFLICT as exc:
        # Two requests raced to make the same thing (the loser's insert met a unique key):
        # nothing of the loser was written; it may look again and retry.
        log.info("write conflict: %s", str(exc).splitlines()[0][:200])
        return json_error(409, "the request conflicts with a concurrent change; try again")
    except DATABASE_AWAY as exc:
        # The database went away: say so and let the client retry; nothing was half-written
        # because every write is one transaction.
        log.warning("database unavailable: %s", exc)
        return json_error(503, "the node's database is unavailable; try again", **{"Retry-After": "5"})
    except Exception:  # noqa: BLE001
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal error")
