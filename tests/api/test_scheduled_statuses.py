"""Scheduled statuses through the client API and the publisher, on a node in-process
(web/api/scheduled_statuses.py, node/scheduled.py, node/scheduled_publisher.py).

The publisher is stepped (`run_once`) with a clock the test moves, so nothing waits five
minutes; docs/architecture.md ("Background loops").
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from node import accounts, media_prune, posts, scheduled
from node.context import NodeContext
from node.posts import NewPost
from node.scheduled_publisher import ScheduledPublisher
from storage.models import Post, ScheduledStatus, utcnow
from tests import media_files
from tests.api.conftest import SignIn, auth
from web.keys import CTX

Client = TestClient[Any, Any]
JSON = dict[str, Any]


def _ctx(api: Client) -> NodeContext:
    return api.server.app[CTX]


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def _schedule(api: Client, token: str, when: datetime | str, **data: Any) -> tuple[int, JSON]:
    body = {"status": "later", "scheduled_at": when if isinstance(when, str) else _iso(when), **data}
    resp = await api.post("/api/v1/statuses", json=body, headers=auth(token))
    return resp.status, await resp.json()


async def _posts_by(ctx: NodeContext, username: str) -> list[Post]:
    alice = await accounts.get_local(ctx, username)
    async with ctx.db.reader() as s:
        return list(await s.scalars(select(Post).where(Post.account_id == alice.id)))


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


async def test_scheduled_at_answers_a_scheduled_status_and_posts_nothing_yet(api: Client, sign_in: SignIn) -> None:
    # Given alice signed in
    token = await sign_in("alice")
    when = utcnow() + timedelta(hours=2)
    # When she posts with scheduled_at two hours ahead, followers only, with a content warning
    status, body = await _schedule(api, token, when, status="quarterly numbers", visibility="private",
                                   spoiler_text="numbers", language="en")
    # Then the answer is a ScheduledStatus with her parameters, and no post exists yet
    assert status == 200, body
    assert set(body) >= {"id", "scheduled_at", "params", "media_attachments"}
    assert body["params"]["text"] == "quarterly numbers" and body["params"]["visibility"] == "private"
    assert body["params"]["spoiler_text"] == "numbers" and body["params"]["language"] == "en"
    assert datetime.fromisoformat(body["scheduled_at"]) == when.replace(microsecond=when.microsecond // 1000 * 1000)
    assert await _posts_by(_ctx(api), "alice") == []
    # And the list, one, a new time and a cancel are hers
    resp = await api.get("/api/v1/scheduled_statuses", headers=auth(token))
    assert [s["id"] for s in await resp.json()] == [body["id"]]
    resp = await api.get(f"/api/v1/scheduled_statuses/{body['id']}", headers=auth(token))
    assert (await resp.json())["id"] == body["id"]
    later = when + timedelta(days=1)
    resp = await api.put(f"/api/v1/scheduled_statuses/{body['id']}", json={"scheduled_at": _iso(later)},
                         headers=auth(token))
    assert resp.status == 200 and (await resp.json())["scheduled_at"].startswith(later.strftime("%Y-%m-%dT%H:%M"))
    resp = await api.delete(f"/api/v1/scheduled_statuses/{body['id']}", headers=auth(token))
    assert resp.status == 200 and await resp.json() == {}
    resp = await api.get(f"/api/v1/scheduled_statuses/{body['id']}", headers=auth(token))
    assert resp.status == 404


async def test_the_list_pages_with_a_link_header(api: Client, sign_in: SignIn) -> None:
    # Given alice scheduled three posts
    token = await sign_in("alice")
    ids = [(await _schedule(api, token, utcnow() + timedelta(hours=1 + i)))[1]["id"] for i in range(3)]
    # When she lists two at a time
    resp = await api.get("/api/v1/scheduled_statuses?limit=2", headers=auth(token))
    first = [s["id"] for s in await resp.json()]
    # Then the newest two come first and the Link header's next page has the third
    assert first == ids[::-1][:2]
    nxt = resp.links["next"]["url"]
    resp = await api.get(nxt.path_qs, headers=auth(token))
    assert [s["id"] for s in await resp.json()] == ids[:1]


@pytest.mark.parametrize("when", ["yesterday", "2026-13-45T25:00:00Z", "", "1" * 80, "0001-01-01T00:00:00"])
async def test_garbage_and_past_dates_are_422_and_nothing_is_kept(api: Client, sign_in: SignIn, when: str) -> None:
    # Given alice; When she schedules with a date that is none, or long past
    token = await sign_in("alice")
    status, body = await _schedule(api, token, when)
    # Then 422 (an empty one posts at once, as Mastodon treats a blank), and nothing scheduled
    if when == "":
        assert status == 422 or "scheduled_at" not in body, body
    else:
        assert status == 422, body
        assert "error" in body
    resp = await api.get("/api/v1/scheduled_statuses", headers=auth(token))
    assert await resp.json() == []


async def test_less_than_five_minutes_ahead_is_422(api: Client, sign_in: SignIn) -> None:
    # Given alice; When she schedules four minutes ahead, Then Mastodon's rule refuses it
    token = await sign_in("alice")
    status, body = await _schedule(api, token, utcnow() + timedelta(minutes=4))
    assert status == 422 and "5 minutes" in body["error"]
    # And six minutes ahead is fine
    status, body = await _schedule(api, token, utcnow() + timedelta(minutes=6))
    assert status == 200, body


async def test_the_daily_and_total_limits(api: Client, sign_in: SignIn) -> None:
    # Given alice has 25 posts scheduled on one day
    ctx = _ctx(api)
    token = await sign_in("alice")
    alice = await accounts.get_local(ctx, "alice")
    day = (utcnow() + timedelta(days=2)).replace(hour=1, minute=0, second=0, microsecond=0)
    for i in range(scheduled.MAX_PER_DAY):
        await scheduled.schedule(ctx, alice, NewPost(f"d{i}"), day + timedelta(minutes=i))
    # When she schedules a 26th that day, Then 422 with Mastodon's reason; another day is fine
    status, body = await _schedule(api, token, day + timedelta(hours=3))
    assert status == 422 and "Daily limit" in body["error"]
    # Given 300 in all (spread over days)
    base = day + timedelta(days=1)
    for i in range(scheduled.MAX_PENDING - scheduled.MAX_PER_DAY):
        await scheduled.schedule(ctx, alice, NewPost(f"t{i}"), base + timedelta(days=i // 20, minutes=i % 20))
    # When she schedules the 301st, Then 422
    status, body = await _schedule(api, token, base + timedelta(days=400))
    assert status == 422 and "Total limit" in body["error"]
    async with ctx.db.reader() as s:
        assert await s.scalar(select(func.count()).select_from(ScheduledStatus)) == scheduled.MAX_PENDING


async def test_anothers_scheduled_post_is_404_every_way(api: Client, sign_in: SignIn) -> None:
    # Given alice scheduled a post
    alice, bob = await sign_in("alice"), await sign_in("bob")
    _, body = await _schedule(api, alice, utcnow() + timedelta(hours=1))
    path = f"/api/v1/scheduled_statuses/{body['id']}"
    # When bob reads, re-times or cancels it, Then 404 each time, and his list is empty
    assert (await api.get(path, headers=auth(bob))).status == 404
    resp = await api.put(path, json={"scheduled_at": _iso(utcnow() + timedelta(hours=3))}, headers=auth(bob))
    assert resp.status == 404
    assert (await api.delete(path, headers=auth(bob))).status == 404
    assert await (await api.get("/api/v1/scheduled_statuses", headers=auth(bob))).json() == []
    # And without a token, 401; with read only, no write; odd ids are 404
    assert (await api.get(path)).status == 401
    reader = await sign_in("alice", scope="read")
    resp = await api.put(path, json={"scheduled_at": _iso(utcnow() + timedelta(hours=3))}, headers=auth(reader))
    assert resp.status == 403
    assert (await api.get("/api/v1/scheduled_statuses/99999999999999999999", headers=auth(alice))).status == 404
    assert (await api.get("/api/v1/scheduled_statuses/abc", headers=auth(alice))).status == 404
    # And alice's is untouched
    assert (await api.get(path, headers=auth(alice))).status == 200


async def test_the_publisher_posts_it_once_when_due_and_not_before(api: Client, sign_in: SignIn) -> None:
    # Given alice scheduled a post with a picture for an hour ahead
    ctx = _ctx(api)
    token = await sign_in("alice")
    form = aiohttp.FormData()
    form.add_field("file", media_files.picture("PNG", (64, 64)), filename="a.png", content_type="image/png")
    picture = await (await api.post("/api/v2/media", data=form, headers=auth(token))).json()
    when = utcnow() + timedelta(hours=1)
    status, body = await _schedule(api, token, when, status="launch day", media_ids=[picture["id"]])
    assert status == 200 and body["media_attachments"][0]["id"] == picture["id"]
    # And the upload is reserved: another post cannot take it, media prune keeps it
    resp = await api.post("/api/v1/statuses", json={"status": "x", "media_ids": [picture["id"]]}, headers=auth(token))
    assert resp.status == 422
    report = await media_prune.prune(ctx, older_than=timedelta(0), now=utcnow() + timedelta(days=1))
    assert report.orphaned_uploads == 0
    clock = Clock()
    publisher = ScheduledPublisher(ctx, clock=clock)
    # When the publisher runs before the time, Then nothing is posted, and it sleeps until the time
    assert await publisher.run_once() == 0 and await _posts_by(ctx, "alice") == []
    assert 60 >= publisher._pause_after(0) > 1
    # When the clock passes the time and it runs twice
    clock.now = when + timedelta(seconds=1)
    assert await publisher.run_once() == 1
    assert await publisher.run_once() == 0
    # Then exactly one post exists, with the picture, and the scheduled one is gone
    made = await _posts_by(ctx, "alice")
    assert [p.source for p in made] == ["launch day"]
    shown = await (await api.get(f"/api/v1/statuses/{made[0].id}", headers=auth(token))).json()
    assert [m["id"] for m in shown["media_attachments"]] == [picture["id"]]
    assert (await api.get(f"/api/v1/scheduled_statuses/{body['id']}", headers=auth(token))).status == 404


async def test_two_publishers_post_it_once(api: Client, sign_in: SignIn) -> None:
    # Given five posts due
    ctx = _ctx(api)
    alice = await accounts.get_local(ctx, "alice")
    when = utcnow() + timedelta(minutes=10)
    for i in range(5):
        await scheduled.schedule(ctx, alice, NewPost(f"p{i}"), when)
    clock = Clock()
    clock.now = when + timedelta(seconds=1)
    # When two publishers (two worker processes' worth) run at the same moment
    one, two = ScheduledPublisher(ctx, clock=clock), ScheduledPublisher(ctx, clock=clock)
    counts = await asyncio.gather(one.run_once(), two.run_once(), one.run_once(), two.run_once())
    # Then each post was made exactly once
    assert sum(counts) == 5
    assert sorted(p.source for p in await _posts_by(ctx, "alice")) == [f"p{i}" for i in range(5)]


async def test_a_crash_after_posting_makes_no_second_post(api: Client, sign_in: SignIn) -> None:
    # Given a due post that a publisher posted, but crashed before removing the row
    ctx = _ctx(api)
    alice = await accounts.get_local(ctx, "alice")
    when = utcnow() + timedelta(minutes=10)
    row = await scheduled.schedule(ctx, alice, NewPost("once"), when)
    from node.scheduled_publisher import LEASE, idempotency_key

    await posts.post_as(ctx, alice, scheduled.post_of(row), idempotency_key(row.id))
    # When the lease has run out and another publisher claims it
    clock = Clock()
    clock.now = when + LEASE + timedelta(seconds=1)
    await ScheduledPublisher(ctx, clock=clock).run_once()
    # Then there is still one post, and the row is gone
    assert [p.source for p in await _posts_by(ctx, "alice")] == ["once"]
    async with ctx.db.reader() as s:
        assert await s.get(ScheduledStatus, row.id) is None


async def test_a_reply_whose_parent_is_gone_is_kept_with_its_reason(api: Client, sign_in: SignIn) -> None:
    # Given alice scheduled a reply to bob's post, and bob deleted it
    ctx = _ctx(api)
    alice, bob = await accounts.get_local(ctx, "alice"), await accounts.get_local(ctx, "bob")
    parent = await posts.create_post(ctx, bob, NewPost("question?"))
    when = utcnow() + timedelta(minutes=10)
    row = await scheduled.schedule(ctx, alice, NewPost("answer", in_reply_to_id=parent.id), when)
    await posts.delete_post(ctx, bob, parent.id)
    # When it comes due
    clock = Clock()
    clock.now = when + timedelta(seconds=1)
    publisher = ScheduledPublisher(ctx, clock=clock)
    assert await publisher.run_once() == 0
    # Then nothing was posted; it is kept, failed, with the reason, and never tried again
    assert await _posts_by(ctx, "alice") == []
    kept = await scheduled.one(ctx, alice, row.id)
    assert kept.failed_at is not None and kept.failure
    clock.now += timedelta(hours=1)
    assert await publisher.run_once() == 0
    token = await sign_in("alice")
    shown = await (await api.get(f"/api/v1/scheduled_statuses/{row.id}", headers=auth(token))).json()
    assert shown["failure"] == kept.failure


async def test_a_failed_posts_uploads_stay_reserved(api: Client, sign_in: SignIn) -> None:
    # Given alice scheduled a reply with a picture, and the post she replies to was deleted
    ctx = _ctx(api)
    token = await sign_in("alice")
    bob = await accounts.get_local(ctx, "bob")
    parent = await posts.create_post(ctx, bob, NewPost("question?"))
    form = aiohttp.FormData()
    form.add_field("file", media_files.picture("PNG", (32, 32)), filename="a.png", content_type="image/png")
    picture = await (await api.post("/api/v2/media", data=form, headers=auth(token))).json()
    when = utcnow() + timedelta(minutes=10)
    status, body = await _schedule(api, token, when, media_ids=[picture["id"]], in_reply_to_id=str(parent.id))
    assert status == 200, body
    await posts.delete_post(ctx, bob, parent.id)
    # When it comes due and cannot be posted
    clock = Clock()
    clock.now = when + timedelta(seconds=1)
    assert await ScheduledPublisher(ctx, clock=clock).run_once() == 0
    # Then its picture is still reserved for it: no other post takes it, media prune keeps it
    resp = await api.post("/api/v1/statuses", json={"status": "x", "media_ids": [picture["id"]]}, headers=auth(token))
    assert resp.status == 422
    report = await media_prune.prune(ctx, older_than=timedelta(0), now=utcnow() + timedelta(days=1))
    assert report.orphaned_uploads == 0
    # And cancelling it frees the picture
    assert (await api.delete(f"/api/v1/scheduled_statuses/{body['id']}", headers=auth(token))).status == 200
    resp = await api.post("/api/v1/statuses", json={"status": "x", "media_ids": [picture["id"]]}, headers=auth(token))
    assert resp.status == 200


async def test_a_disabled_authors_post_is_not_made(api: Client, sign_in: SignIn) -> None:
    # Given alice scheduled a post and was then disabled
    ctx = _ctx(api)
    alice = await accounts.get_local(ctx, "alice")
    when = utcnow() + timedelta(minutes=10)
    row = await scheduled.schedule(ctx, alice, NewPost("from beyond"), when)
    await accounts.disable(ctx, "alice")
    # When it comes due, Then no post, and it is kept with the reason
    clock = Clock()
    clock.now = when + timedelta(seconds=1)
    assert await ScheduledPublisher(ctx, clock=clock).run_once() == 0
    assert await _posts_by(ctx, "alice") == []
    async with ctx.db.reader() as s:
        kept = await s.get(ScheduledStatus, row.id)
    assert kept is not None and "disabled" in (kept.failure or "")


async def test_scheduling_wakes_a_running_publisher(api: Client, sign_in: SignIn) -> None:
    # Given a running publisher, asleep with nothing scheduled (its fallback an hour)
    ctx = _ctx(api)
    alice = await accounts.get_local(ctx, "alice")
    clock = Clock()
    publisher = ScheduledPublisher(ctx, clock=clock, fallback=3600)
    publisher.start()
    try:
        await asyncio.sleep(0.2)
        # When a post is scheduled in this process, and the clock moves past its time
        when = utcnow() + timedelta(minutes=6)
        clock.now = when + timedelta(seconds=1)
        await scheduled.schedule(ctx, alice, NewPost("woken"), when, now=utcnow())

        async def posted() -> bool:
            return bool(await _posts_by(ctx, "alice"))

        # Then it wakes and posts it at once, not after its hour
        for _ in range(50):
            if await posted():
                break
            await asyncio.sleep(0.1)
        assert await posted()
    finally:
        publisher.stop()
        await publisher.join()
