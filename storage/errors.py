"""Errors that carry the HTTP status they should become and a reason for the user."""

from __future__ import annotations


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
