"""A job handler's expected failures end the job with its reason; retrying is for what may pass.

Expected: a contact the policy refused, an invalid document, a signature refused, something
refused or gone — an error of ours (one family, `AtriumError`) with a 4xx status. Retried: a peer failing (5xx), the database away, a bug.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from federation.addresses import FetchError
from federation.gate import ContactRefused, Purpose
from federation.parsing import InvalidActivity
from federation.signatures import SignatureError
from node.workers import JobWorker
from storage import jobs
from storage.db import Database
from storage.errors import Forbidden, NotFound, Unavailable
from storage.models import Job

FAILURES: dict[bytes, Exception] = {
    b"refused": ContactRefused("move-check refused: x is blocked", rule='peers."x"', host="x", purpose=Purpose.MOVE_CHECK),
    b"invalid": InvalidActivity("Move names no target"),
    b"unsigned": SignatureError("the object's signature does not verify"),
    b"forbidden": Forbidden("an actor may move only itself"),
    b"gone": NotFound("no such account"),
    b"peer-failed": FetchError("http://x/a answered 500", 502),
    b"database-away": Unavailable("the database is unavailable"),
    b"bug": KeyError("a bug in the handler"),
}


async def test_expected_failures_end_the_job_and_the_rest_are_retried(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a queue whose handler fails in each way
    async def handler(job: jobs.ClaimedJob) -> None:
        raise FAILURES[job.payload]

    ids = {payload: await jobs.enqueue(db, "q", payload) for payload in FAILURES}
    # When the worker runs them once
    with caplog.at_level(logging.INFO, logger="node.workers"):
        assert await JobWorker(db, {"q": handler}).run_once() == len(FAILURES)
    async with db.reader() as s:
        rows = {row.payload: row for row in await s.scalars(select(Job).where(Job.id.in_(ids.values())))}
    # Then the expected failures are failed at once, their reason kept, with no traceback
    for payload in (b"refused", b"invalid", b"unsigned", b"forbidden", b"gone"):
        row = rows[payload]
        assert (row.status, row.attempts) == ("failed", 1), payload
        assert str(FAILURES[payload].args[0]) in (row.last_error or "")
    ended = [r for r in caplog.records if "ended" in r.getMessage()]
    assert len(ended) == 5 and all(r.exc_info is None for r in ended)
    # And what may pass — a peer failing, the database away, a bug — waits for a retry
    for payload in (b"peer-failed", b"database-away", b"bug"):
        assert rows[payload].status == "pending", payload
