"""Errors that carry the HTTP status they should become and a reason for the user."""

from __future__ import annotations

import math

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError


class AtriumError(Exception):
    """Base error: `status` is the HTTP status a handler should answer with, `reason` the text."""

    status: int = 400

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status


class NotFound(AtriumError):
    status = 404


class Forbidden(AtriumError):
    status = 403


class Conflict(AtriumError):
    status = 409


class Invalid(AtriumError):
    status = 422


class Unavailable(AtriumError):
    """The database or another dependency cannot be reached."""

    status = 503


class RateLimited(AtriumError):
    """429 with the seconds to wait in Retry-After (RFC 9110 §10.2.3, an integer)."""

    status = 429

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = max(1, math.ceil(retry_after))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


# What a database that is restarting, unreachable or locked past the busy timeout raises: an
# outage (retry later, 503), not a bug. Named here so that callers above `node/` (the web's
# error middleware) tell it apart without importing SQLAlchemy.
DATABASE_AWAY = (OperationalError, DBAPIError, ConnectionError, OSError)
# Two writers raced for the same unique key: nothing of the loser was written (409).
WRITE_CONFLICT = (IntegrityError,)
