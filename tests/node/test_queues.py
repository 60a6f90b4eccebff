"""Every queue's jobs are typed records (node.queues): written and read in the JSON shape the
queue has always held, dispatched through one table per queue, and a payload that does not
parse is a recorded failure of its job — not a traceback, not a retry."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from node import contact
from node.context import NodeContext
from node.delivery import handle_delivery
from node.inbox import handle_inbox
from node.outbox import FANOUT_DISPATCH, handle_fanout
from node.queues import (
    DELIVER,
    FANOUT,
    FANOUT_KINDS,
    INBOX,
    ActorUpdated,
    Boosted,
    Delivery,
    InboxJob,
    InstanceUpdated,
    MalformedJob,
    PostCreated,
    PostDeleted,
    PostEdited,
    Record,
    Unboosted,
    parse_fanout,
)
from node.workers import JobWorker
from storage import jobs
from storage.db import Database
from storage.models import Job
from tests.factory import LOOPBACK, node_context

EVERY_FANOUT: list[Record] = [
    PostCreated(1), PostEdited(2), PostDeleted("https://n.example/users/a/statuses/3", 4, "followers", (5, 6)),
    Boosted(7, 8, "https://n.example/users/b/statuses/9/activity"), Unboosted(7, 8, "https://n.example/x"),
    ActorUpdated(10), InstanceUpdated(),
]


@pytest.mark.parametrize("record", EVERY_FANOUT, ids=lambda r: type(r).__name__)
def test_a_fanout_record_reads_back_as_itself(record: Record) -> None:
    assert parse_fanout(record.to_json()) == record


def test_deliveries_and_inbox_jobs_read_back_as_themselves() -> None:
    delivery = Delivery("https://p.example/inbox", "p.example", None, '{"type": "Create"}', "https://n.example/1",
                        "organization", 12, True, "2026-11-25T10:00:00+00:00")
    assert Delivery.from_json(delivery.to_json()) == delivery
    job = InboxJob("https://p.example/users/x", {"type": "Follow", "id": "https://p.example/1"})
    assert InboxJob.from_json(job.to_json()) == job


def test_every_fanout_kind_has_its_handler() -> None:
    assert set(FANOUT_DISPATCH) == set(FANOUT_KINDS.values())


# What the queues held before their jobs were typed, as that code wrote it: a node upgraded
# with these in its queue handles them.
OLD_SHAPES: list[tuple[str, bytes, Record]] = [
    (FANOUT, json.dumps({"kind": "Create", "post_id": 1}).encode(), PostCreated(1)),
    (FANOUT, json.dumps({"kind": "Update", "post_id": 1}).encode(), PostEdited(1)),
    (FANOUT, json.dumps({"kind": "Delete", "uri": "https://n.example/s/1", "author_id": 2, "visibility": "public",
                         "mention_ids": [3]}).encode(), PostDeleted("https://n.example/s/1", 2, "public", (3,))),
    (FANOUT, json.dumps({"kind": "Announce", "booster_id": 1, "original_id": 2, "announce_uri": "u"}).encode(),
     Boosted(1, 2, "u")),
    (FANOUT, json.dumps({"kind": "UndoAnnounce", "booster_id": 1, "original_id": 2, "announce_uri": "u"}).encode(),
     Unboosted(1, 2, "u")),
    (FANOUT, json.dumps({"kind": "ActorUpdate", "account_id": 5}).encode(), ActorUpdated(5)),
    (FANOUT, json.dumps({"kind": "InstanceUpdate"}).encode(), InstanceUpdated()),
    (DELIVER, json.dumps({"inbox": "https://p.example/inbox", "domain": "p.example", "signer": 4, "body": "{}",
                          "object": "https://n.example/s/1"}).encode(),
     Delivery("https://p.example/inbox", "p.example", 4, "{}", "https://n.example/s/1")),
    (INBOX, json.dumps({"actor": "https://p.example/u", "activity": {"type": "Like"}}).encode(),
     InboxJob("https://p.example/u", {"type": "Like"})),
]


@pytest.mark.parametrize("queue, payload, record", OLD_SHAPES, ids=lambda v: v if isinstance(v, str) else "")
def test_a_job_queued_before_jobs_were_typed_still_reads(queue: str, payload: bytes, record: Record) -> None:
    read = {FANOUT: parse_fanout, DELIVER: Delivery.from_json, INBOX: InboxJob.from_json}[queue](payload)
    assert read == record
    # and a delivery queued then is asked at delivery what it was asked then (node.delivery_check)
    if isinstance(read, Delivery):
        assert (read.visibility, read.post_id, read.carries_post) == (None, None, False)


MALFORMED: dict[str, list[bytes]] = {
    FANOUT: [b"not json", b"[1]", b'{"kind": "Explode"}', b'{"post_id": 1}', b'{"kind": "Create"}',
             b'{"kind": "Create", "post_id": "1"}', b'{"kind": "Delete", "uri": "u", "author_id": 1, '
             b'"visibility": "public", "mention_ids": ["x"]}', b'{"kind": "Create", "post_id": true}'],
    DELIVER: [b"\xff\xfe", b'{"inbox": "i", "domain": "d", "body": "{}"}', b'{"inbox": 1, "domain": "d", "signer": null, "body": "{}"}',
              b'{"inbox": "i", "domain": "d", "signer": null, "body": "{}", "carries_post": "yes"}'],
    INBOX: [b'{"actor": "a"}', b'{"actor": "a", "activity": [1]}', b"null"],
}


@pytest.mark.parametrize("queue, payload", [(q, p) for q, ps in MALFORMED.items() for p in ps])
def test_a_payload_that_does_not_parse_is_malformed(queue: str, payload: bytes) -> None:
    with pytest.raises(MalformedJob):
        {FANOUT: parse_fanout, DELIVER: Delivery.from_json, INBOX: InboxJob.from_json}[queue](payload)


@pytest.fixture
async def ctx(db: Database) -> AsyncIterator[NodeContext]:
    ctx = node_context(db, "n.example")
    contact.open_gate(ctx, LOOPBACK)
    yield ctx
    await contact.close_gate(ctx)


async def test_a_malformed_job_of_any_queue_fails_once_with_its_reason_and_no_traceback(
    ctx: NodeContext, caplog: pytest.LogCaptureFixture
) -> None:
    # Given one malformed job of each kind in each queue
    ids = {await jobs.enqueue(ctx.db, queue, payload): queue for queue, payloads in MALFORMED.items() for payload in payloads}
    worker = JobWorker(ctx.db, {
        FANOUT: lambda job: handle_fanout(ctx, job),
        DELIVER: lambda job: handle_delivery(ctx, job),
        INBOX: lambda job: handle_inbox(ctx, job),
    })
    # When the worker runs them
    with caplog.at_level(logging.INFO):
        assert await worker.run_once() == len(ids)
    # Then each failed for good at its first attempt, its reason kept, and nothing was logged
    # as a crash
    async with ctx.db.reader() as s:
        rows = list(await s.scalars(select(Job).where(Job.id.in_(ids))))
    assert {(r.status, r.attempts) for r in rows} == {("failed", 1)}
    assert all(r.last_error and "job" in r.last_error for r in rows), [r.last_error for r in rows]
    assert [r for r in caplog.records if r.exc_info is not None or r.levelno >= logging.ERROR] == []
