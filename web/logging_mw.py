"""Request ids and the process's log format (`--log-format json|text`, `log.format`).

Every request gets an id — the client's or a proxy's `X-Request-Id` when it is a sane token,
else a fresh one — echoed in the response's `X-Request-Id` and carried by every log record
written while the request is handled, so one request's lines can be found across a log.

The JSON formatter is written here rather than taken from python-json-logger: one object
per line with fixed keys is all a log shipper needs, and it is twenty lines.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from aiohttp import web

REQUEST_ID_HEADER = "X-Request-Id"
LOG_FORMATS = ("text", "json")
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger("atrium.access")


class RequestIdFilter(logging.Filter):
    """Give every record the id of the request being handled (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and any extras
    a caller passed (`log.info(..., extra={"status": 200})`)."""

    RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        out.update({k: v for k, v in vars(record).items() if k not in self.RESERVED})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure(fmt: str, level: int = logging.INFO) -> None:
    """Send the process's logs to stderr in `fmt` (`text` or `json`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic announces its context at INFO each time the readiness check reads the revision.
    logging.getLogger("alembic").setLevel(logging.WARNING)


@web.middleware
async def request_id_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    given = request.headers.get(REQUEST_ID_HEADER, "")
    rid = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
    token = request_id.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # redirects and the like are raised: tag them too
            exc.headers[REQUEST_ID_HEADER] = rid
            status = exc.status
            raise
        if not response.prepared:  # a stream already sent its headers
            response.headers[REQUEST_ID_HEADER] = rid
        status = response.status
        return response
    finally:
        access_log.info(
            "%s %s %s", request.method, request.path, status,
            extra={"method": request.method, "path": request.path, "status": status,
                   "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
        )
        request_id.reset(token)
