"""The question a delivery asks the trust policy: at fan-out, and again when it is sent.

At fan-out (node.outbox) each recipient's domain is asked `Policy.outbound(visibility,
domain, text)` with the post's audience and text. The `deliver` job then carries that audience
and the post's id (`node.queues.Delivery`), and when the job runs the same question is asked
again (`recheck`) under the policy in force then, with the post's audience and text as they
are then — read for all the deliveries in flight at once (`read_many`, one query per batch,
together with their ordering checks). So a peer downgraded, or a content rule added, after the
fan-out stops what was queued for it; a peer upgraded meanwhile gets no more than was queued.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, null, select, union_all

from node.audience import Audience
from node.domains import NO_CANONICAL_RULE, canonical_domain
from node.policy import Decision, Policy
from node.queues import Delivery
from node.sanitize import html_to_text
from node.trust import Trust
from storage import jobs
from storage.db import Database
from storage.errors import Invalid
from storage.models import Post
from storage.models.media import MediaAttachment

# The question deliveries queued before they carried their audience were asked at delivery.
LEGACY_VISIBILITY = Audience.DIRECT


def decide(policy: Policy, visibility: str, stored: str, text: str) -> tuple[str, Decision]:
    """The canonical domain of a stored account (or delivery) and the policy's decision for
    it. A row stored before the canonical form last changed keeps its old spelling
    (`[::ffff:7f00:1]:9301`), so the policy is asked about today's form of it; a spelling that
    is no longer a domain is refused."""
    try:
        domain = canonical_domain(stored)
    except Invalid as exc:
        return stored, Decision(False, Trust.BLOCKED, NO_CANONICAL_RULE, exc.reason)
    return domain, policy.outbound(visibility, domain, text)


def text_of(source: str, content_html: str) -> str:
    """What content rules read: the text as written, or as shown for a post from elsewhere."""
    return source or html_to_text(content_html)


def stamp(edited_at: datetime | None) -> str | None:
    """A post's version, as a delivery carries it."""
    return edited_at.isoformat() if edited_at is not None else None


@dataclass(frozen=True)
class PostNow:
    """A post as it is when its delivery is sent."""

    visibility: str
    source: str
    content_html: str
    edited_at: datetime | None
    media_text: str = ""  # its attachments' alt texts and file names (node.media_out)

    def text(self) -> str:
        text = text_of(self.source, self.content_html)
        return f"{text}\n{self.media_text}" if self.media_text else text


@dataclass(frozen=True)
class Asked:
    """What one delivery reads before it is sent."""

    job_id: int
    ordering_key: str | None  # must an earlier job of this key finish first?
    post_id: int | None  # the post it is about, read again


@dataclass(frozen=True)
class Found:
    earlier_unfinished: bool
    post: PostNow | None  # None: not asked, or deleted since


# The reads of a batch of deliveries, built once (building them cost more than running them):
# posts as rows (id, visibility, source, content_html, edited_at, media text, NULL) and the first
# unfinished job of each ordering key as rows (job id, NULL, NULL, NULL, NULL, NULL, key), together
# in one UNION ALL when a batch needs both. The posts come first: their columns' types read the
# results. A post's media text is its attachments' alt texts and file names, one per line.
_MEDIA_TEXT = (
    select(func.aggregate_strings(MediaAttachment.description + " " + func.coalesce(MediaAttachment.file_name, ""), "\n"))
    .where(MediaAttachment.post_id == Post.id, MediaAttachment.position >= 0)  # not those an edit dropped
    .scalar_subquery()
)
_POSTS = select(Post.id, Post.visibility, Post.source, Post.content_html, Post.edited_at,
                _MEDIA_TEXT.label("media_text"), null().label("key")).where(Post.id.in_(bindparam("ids", expanding=True)))
_FIRSTS = jobs.first_unfinished(bindparam("keys", expanding=True)).subquery()
_ORDERS = select(_FIRSTS.c.first_id.label("id"), null(), null(), null(), null(), null(),
                 _FIRSTS.c.ordering_key.label("key"))
_BOTH = union_all(_POSTS, _ORDERS)


async def read_many(db: Database, asked: list[Asked]) -> list[Found]:
    """The ordering checks and the posts of many deliveries, in one statement (a GroupCommit's
    batch reader, node.context): the two reads of a batch are one round trip, which — more than
    the reading itself — is what a read costs a busy node."""
    keys = list({a.ordering_key for a in asked if a.ordering_key})
    ids = list({a.post_id for a in asked if a.post_id is not None})
    first: dict[str, int] = {}
    posts: dict[int, PostNow] = {}
    if keys or ids:
        statement = _BOTH if keys and ids else _ORDERS if keys else _POSTS
        async with db.reader() as s:
            rows = await (await s.connection()).execute(statement, {"keys": keys, "ids": ids})
            for row in rows:
                if row.key is None:
                    posts[row.id] = PostNow(row.visibility, row.source, row.content_html, row.edited_at,
                                            (row.media_text or "").strip())
                else:
                    first[row.key] = row.id
    return [
        Found(a.ordering_key is not None and a.ordering_key in first and first[a.ordering_key] < a.job_id,
              posts.get(a.post_id) if a.post_id is not None else None)
        for a in asked
    ]


def recheck(policy: Policy, delivery: Delivery, post: PostNow | None) -> tuple[str, Decision]:
    """The policy's decision for `delivery` now, with the canonical domain it was asked about;
    `post` is its post as read now (None: it has none, or it was deleted since)."""
    if delivery.visibility is None:
        return decide(policy, LEGACY_VISIBILITY, delivery.domain, "")
    visibility = post.visibility if post is not None else delivery.visibility
    if not policy.rules:
        # Only content rules read the text: without them, spare reading it.
        return decide(policy, visibility, delivery.domain, "")
    domain, decision = decide(policy, visibility, delivery.domain, post.text() if post is not None else "")
    if decision.allowed and delivery.carries_post and (post is None or stamp(post.edited_at) != delivery.version):
        # Edited or deleted since this activity was built: the text it carries is not today's.
        sent = sent_text(delivery.body)
        if sent:
            domain, decision = decide(policy, visibility, delivery.domain, sent)
    return domain, decision


def sent_text(body: str) -> str:
    """The text of the post an activity carries (a Create's or Update's object), as shown, with
    the names (alt text) of the attachments it carries."""
    try:
        activity = json.loads(body)
    except ValueError:
        return ""
    obj = activity.get("object") if isinstance(activity, dict) else None
    if not isinstance(obj, dict):
        return ""
    content = obj.get("content")
    text = html_to_text(content) if isinstance(content, str) else ""
    attached = obj.get("attachment")
    names = [a["name"] for a in attached if isinstance(a, dict) and isinstance(a.get("name"), str)] if isinstance(attached, list) else []
    return "\n".join([text, *names]) if names else text
