"""The leak sweep: every route the node's router serves, asked by every kind of reader, about a
post of every audience. Each post carries a canary string of its own; a canary may appear only
in an answer to a reader its audience and the trust policy admit (ADMITS, written by hand).

Routes come from the router of the application the node serves (`web.app.create_app`; the
worker's `web.health.ops_app` serves a subset of it), so a new route is swept without anyone
listing it (the machinery: tests/security/sweep.py):
- GET routes are all asked (HEAD is the same handler without a body), by every reader, each
  asking as its kind does. Path parameters are filled from `World.fillers`, keyed by the
  parameter's name (every value is tried), and some routes also get the queries in QUERIES.
  A route with a parameter no filler knows fails `test_every_route_the_node_serves_is_swept`.
- A GET answering a live event stream is kept open; a second set of posts is then written,
  and what the streams carried is judged like any answer. The WebSocket endpoint is joined
  too, subscribed to every stream (WEBSOCKET_STREAMS).
- Every other method must be named in OTHER_METHODS: asked (with a body whose fields are
  filled like paths) where its answer can carry a post, or left out with the reason; a route
  missing from the table fails the same test.

Posts (POSTS): alice's, one of each visibility, and a public one whose text the policy's
content rule keeps from readers trusted below `organization`; each has an attachment whose
bytes carry the post's canary too (`/media/{key}` is swept like every route). Readers: an anonymous one;
carol, a local outsider signed in to the web UI (cookie and form token); dave, a local
outsider with an API token; signed requests from pat on a partner peer, from sam on an
organisation peer (admitted by the wildcard `*.acme.localhost`), from mallory on a blocked
peer; and bob, the audience itself (he follows alice, and her direct post mentions him), whose
answers show that the sweep is not blind. The policy (POLICY), allowlist mode:

    [peers."*.acme.localhost"]  trust = "organization"   # sam's node, sales.acme.localhost
    [peers."partner.localhost"] trust = "partner"        # pat's
    [peers."blocked.localhost"] trust = "blocked"        # mallory's
    [[rules]] name = "confidential", pattern = "(?i)confidential", below = "organization"

The peers are fake servers on 127.0.0.1 known by `*.localhost` names (tests/security/readers.py);
the node never needs to contact them. The scenario runs once per database engine (a
module-scoped fixture); the tests read its record.
"""
from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections import defaultdict
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from federation.vocab import AP_CONTENT_TYPE
from node import accounts, bookmarks, communities, lists, moderation, posts
from node.context import NodeContext
from node.policy import parse_policy
from node.posts import NewPost
from storage.db import Database
from storage.media_store import LocalStore
from storage.models import Account, Follow, Notification, utcnow
from tests.conftest import ENGINES
from tests.factory import free_port, running_node
from tests.federation.fake_peer import public_pem
from tests.media_files import PNG, stored_media
from tests.policy.harness import database_url
from tests.security.conftest import PASSWORD, sign_in
from tests.security.readers import LoopbackNames, NamedPeer, running_named_peer, web_sign_in
from tests.security.sweep import (
    STATIC_FILE,
    Asked,
    Fill,
    LeftOut,
    Live,
    Plan,
    Reader,
    Route,
    ask_all,
    close_streams,
    join_websocket,
    plan,
    served_routes,
    static_files,
)
from web.health import ops_app

# alice's posts, one of each audience, each carrying its canary: (visibility, more text). The
# last is public, but the policy's content rule keeps its text below `organization`.
POSTS = {
    "public": ("public", ""),
    "unlisted": ("unlisted", ""),
    "followers": ("followers", ""),
    "direct": ("direct", " @bob"),
    "organization": ("organization", ""),
    "local": ("local", ""),
    "confidential": ("public", " CONFIDENTIAL"),
    # written to COMMUNITY, an `organization` community of alice's (so it takes that audience);
    # the community's description carries the first phase's canary of this row too
    "community": ("public", ""),
}
COMMUNITY = "sweepguild"
READERS = ("anonymous", "outsider_web", "outsider_token", "partner_peer", "org_peer", "blocked_peer", "audience")
TAG = "leaksweep"
WORD = "sweepword"  # in every post: what the searches ask for (a canary is never in a URL: pages echo queries)
HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"  # as a browser asks
JSON = "application/json"
POLICY = """
mode = "allowlist"
[peers."*.acme.localhost"]
trust = "organization"
[peers."partner.localhost"]
trust = "partner"
[peers."blocked.localhost"]
trust = "blocked"
[[rules]]
name = "confidential"
pattern = "(?i)confidential"
below = "organization"
"""
PEERS = {"partner_peer": ("partner.localhost", "pat"), "org_peer": ("sales.acme.localhost", "sam"),
         "blocked_peer": ("blocked.localhost", "mallory")}

Y, N, MAY = "yes", "no", "may"
# (reader) -> may the canary of each of alice's posts reach that reader, anywhere? `Y`: it may,
# and the sweep must find it somewhere (else the sweep is blind); `N`: never; `MAY`: it may and
# need not. From docs/policy.md and node/visibility.py: a peer's signature counts only on the
# ActivityPub routes (elsewhere it is the open web); the organisation peer gets organisation
# posts, no peer gets local ones; the open web is a reader trusted `public`, so the content
# rule keeps the confidential post from it as from the partner; a blocked peer reads what the
# open web reads and no more (whether its signed reads are refused outright is the policy's
# to say, not this sweep's).
# fmt: off
ADMITS: dict[str, tuple[str, ...]] = {
    #                  public unlisted followers direct organization local confidential community
    "anonymous":      (Y,     Y,       N,        N,     N,           N,    N,           N),
    "outsider_web":   (Y,     Y,       N,        N,     Y,           Y,    Y,           Y),
    "outsider_token": (Y,     Y,       N,        N,     Y,           Y,    Y,           Y),
    "partner_peer":   (Y,     Y,       N,        N,     N,           N,    N,           N),
    "org_peer":       (Y,     Y,       N,        N,     Y,           N,    Y,           Y),
    "blocked_peer":   (MAY,   MAY,     N,        N,     N,           N,    N,           N),
    "audience":       (Y,     Y,       Y,        Y,     Y,           Y,    Y,           Y),
}
# fmt: on
assert set(ADMITS) == set(READERS) and all(len(row) == len(POSTS) for row in ADMITS.values())


@dataclass
class World:
    """What the fillers fill with: the node, alice's posts (POSTS) and what refers to them."""

    domain: str
    alice_id: int
    community_id: int
    post_ids: list[int]
    post_uris: list[str]
    notification_ids: list[int]
    report_ids: list[int]
    static_files: list[str]
    media_keys: list[str]
    list_ids: list[int] = field(default_factory=list)  # bob's list, alice on it

    def fillers(self) -> dict[str, Fill]:
        # Each parameter name the router uses, and every value the sweep tries for it.
        return {
            "username": lambda: ["alice", COMMUNITY],
            "handle": lambda: ["alice", f"alice@{self.domain}", COMMUNITY, f"{COMMUNITY}@{self.domain}"],
            "post_id": lambda: [str(i) for i in self.post_ids],
            "id": lambda: [*(str(i) for i in self.post_ids), str(self.alice_id), str(self.community_id),
                           *(str(i) for i in self.notification_ids),
                           *(str(i) for i in self.list_ids)],
            "list_id": lambda: [str(i) for i in self.list_ids],
            "account_id": lambda: [str(self.alice_id), str(self.community_id)],
            "report_id": lambda: [str(i) for i in self.report_ids],
            "scheduled_id": lambda: [str(i) for i in self.post_ids],
            "hashtag": lambda: [TAG],
            "name": lambda: [TAG, "home", "organization", "local", "federated", f"tag:{TAG}"],
            "action": lambda: ["like", "unlike", "boost", "unboost", "pin", "unpin"],
            "answer": lambda: ["approve", "reject"],
            STATIC_FILE: lambda: self.static_files,
            "key": lambda: self.media_keys,
            # in queries
            "post_uri": lambda: [quote(u, safe="") for u in self.post_uris],
            "domain": lambda: [self.domain],
            # SCIM (web/scim.py): answers a directory's bearer token only, which no reader holds
            "schema_id": lambda: ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "type_id": lambda: ["User"],
            "scim_id": lambda: [str(self.alice_id)],
            "tail": lambda: ["Users/.search", "nothing-here"],
            "group_key": lambda: [f"ungrouped-{i}" for i in self.notification_ids],
            # a community's pins (web/ui/pages_pins.py): alice is no community, so each is refused
            "community_id": lambda: [str(self.alice_id)],
        }


# Queries asked of a route (besides none, unless listed): searches for what the posts hold,
# the outbox's first page, a timeline's news, a stream's hashtag.
SEARCHES = ["q=" + WORD, "q=%23" + TAG, "q={post_uri}"]
QUERIES: dict[str, list[str]] = {
    "/api/v2/search": SEARCHES,
    "/search": SEARCHES,
    "/api/v1/accounts/lookup": ["acct=alice", "acct=" + COMMUNITY],
    "/api/v1/accounts/search": ["q=alice", "q=" + COMMUNITY],
    "/users/{username}/outbox": ["", "page=true"],
    "/api/v1/timelines/public": ["", "local=true"],
    "/timeline/{name}/new": ["since_id=1"],
    "/.well-known/webfinger": ["resource=acct:alice@{domain}", f"resource=acct:{COMMUNITY}@{{domain}}"],
    "/api/v1/streaming/hashtag": ["tag=" + TAG],
    "/api/v1/streaming/hashtag/local": ["tag=" + TAG],
    "/api/v1/streaming/list": ["list={list_id}"],
    "/admin/reports": ["", "state=resolved"],
    "/admin/accounts": ["", "q=alice"],
}
WEBSOCKET = "/api/v1/streaming"
WEBSOCKET_STREAMS = [{"stream": s} for s in ("user", "user:notification", "public", "public:local", "public:remote",
                                              "organization", "direct")] + [
    {"stream": s, "tag": TAG} for s in ("hashtag", "hashtag:local")]

# Each route of another method than GET: asked, or left out and why.
RELATIONSHIP = "answers a relationship or a redirect, never a post, and would change who may see what (tests/api/test_relationships.py)"
CREDENTIALS = "signs in or out or hands out credentials: answers no post"
OWN = "answers or changes the reader's own account or settings: no one else's post"
STAFF = "changes moderation state, staff only (tests/ui/test_admin.py); answers a redirect"
POLICY_EDIT = "checks or changes the trust policy, admins only (tests/security/test_policy_editor.py); answers the editor or a redirect, never a post"
UPLOAD = "takes a file and answers the reader's own upload (multipart; refused as JSON), never a post (tests/api/test_media.py)"
COMMUNITY_PEOPLE = "a community's moderators change who is in it (tests/ui/test_communities.py); answers its members page or a redirect, never a post"
INBOX = "answers 202 and the inbox's outcome, never a post (what an inbox accepts: tests/policy/test_inbound_matrix.py)"
OTHER_METHODS: dict[tuple[str, str], Asked | LeftOut] = {
    # the client API
    ("POST", "/api/v1/statuses"): Asked({"status": "re: the sweep", "in_reply_to_id": "{post_id}"}),
    ("PUT", "/api/v1/statuses/{id}"): Asked({"status": "edited by the sweep"}),
    ("DELETE", "/api/v1/statuses/{id}"): Asked(destructive=True),
    **{("POST", f"/api/v1/statuses/{{id}}/{a}"): Asked()
       for a in ("favourite", "unfavourite", "reblog", "unreblog", "bookmark", "unbookmark")},
    ("POST", "/api/v1/statuses/{id}/pin"): Asked(),
    ("POST", "/api/v1/statuses/{id}/unpin"): Asked(),
    ("POST", "/api/v1/notifications/clear"): LeftOut(OWN),
    ("POST", "/api/v1/notifications/dismiss"): LeftOut(OWN),
    ("POST", "/api/v1/notifications/{id}/dismiss"): LeftOut(OWN),
    ("POST", "/api/v2/notifications/{group_key}/dismiss"): LeftOut(OWN),
    ("POST", "/api/v1/domain_blocks"): LeftOut(RELATIONSHIP),
    ("DELETE", "/api/v1/domain_blocks"): LeftOut(RELATIONSHIP),
    ("POST", "/api/v1/markers"): LeftOut(OWN),
    **{(m, p): LeftOut(OWN) for m, p in (
        ("POST", "/api/v2/filters"), ("PUT", "/api/v2/filters/{id}"), ("DELETE", "/api/v2/filters/{id}"),
        ("POST", "/api/v2/filters/{id}/keywords"), ("PUT", "/api/v2/filters/keywords/{id}"),
        ("DELETE", "/api/v2/filters/keywords/{id}"), ("POST", "/api/v2/filters/{id}/statuses"),
        ("DELETE", "/api/v2/filters/statuses/{id}"), ("POST", "/api/v1/filters"), ("PUT", "/api/v1/filters/{id}"),
        ("DELETE", "/api/v1/filters/{id}"))},
    ("POST", "/api/v2/media"): LeftOut(UPLOAD),
    ("POST", "/api/v1/media"): LeftOut(UPLOAD),
    ("PUT", "/api/v1/media/{id}"): LeftOut(UPLOAD),
    ("POST", "/api/v1/conversations/{id}/read"): Asked(),
    ("POST", "/api/v1/lists"): LeftOut(OWN),
    ("PUT", "/api/v1/lists/{id}"): LeftOut(OWN),
    ("DELETE", "/api/v1/lists/{id}"): LeftOut(OWN),
    ("POST", "/api/v1/lists/{id}/accounts"): LeftOut(OWN),
    ("DELETE", "/api/v1/lists/{id}/accounts"): LeftOut(OWN),
    ("DELETE", "/api/v1/conversations/{id}"): LeftOut(OWN),
    ("PUT", "/api/v1/scheduled_statuses/{id}"): LeftOut(OWN),
    ("DELETE", "/api/v1/scheduled_statuses/{id}"): LeftOut(OWN),
    ("PATCH", "/api/v1/accounts/update_credentials"): LeftOut(OWN),
    ("DELETE", "/api/v1/profile/{picture}"): LeftOut(OWN),
    **{("POST", f"/api/v1/accounts/{{id}}/{a}"): LeftOut(RELATIONSHIP)
       for a in ("follow", "unfollow", "remove_from_followers", "block", "unblock", "mute", "unmute")},
    ("POST", "/api/v1/follow_requests/{id}/authorize"): LeftOut(RELATIONSHIP),
    ("POST", "/api/v1/follow_requests/{id}/reject"): LeftOut(RELATIONSHIP),
    ("POST", "/api/v1/apps"): LeftOut(CREDENTIALS),
    # a report answers the account and the ids of the posts named, never a post's text; a post
    # the reader may not see is 404 (tests/api/test_reports.py)
    **{("POST", path): Asked({"account_id": "{account_id}", "status_ids[]": "{post_id}", "comment": "the sweep"})
       for path in ("/api/v1/reports", "/api/v1/reports/")},
    ("POST", "/oauth/authorize"): LeftOut(CREDENTIALS),
    ("POST", "/oauth/token"): LeftOut(CREDENTIALS),
    ("POST", "/oauth/revoke"): LeftOut(CREDENTIALS),
    # a vote answers the poll (its options and counts) only to someone who may see the post
    ("POST", "/api/v1/polls/{id}/votes"): Asked({"choices[]": "0"}),
    # ActivityPub
    ("POST", "/users/{username}/inbox"): LeftOut(INBOX),
    ("POST", "/inbox"): LeftOut(INBOX),
    ("POST", "/actor/inbox"): LeftOut(INBOX),
    # the web UI
    ("POST", "/posts"): Asked({"text": "re: the sweep", "visibility": "public", "in_reply_to": "{post_id}"}),
    ("POST", "/posts/{post_id}/edit"): Asked({"text": "edited by the sweep"}),
    ("POST", "/posts/{post_id}/delete"): Asked(destructive=True),
    ("POST", "/posts/{post_id}/{action}"): Asked(),
    ("POST", "/report/{post_id}"): Asked({"comment": "the sweep"}),
    ("POST", "/bookmarks/{post_id}"): Asked(),
    ("POST", "/bookmarks/{post_id}/remove"): Asked(),
    ("POST", "/communities/{community_id}/pins/{post_id}"): Asked(),
    ("POST", "/communities/{community_id}/pins/{post_id}/remove"): Asked(),
    ("POST", "/posts/{post_id}/vote"): Asked({"choice": "0"}),
    ("POST", "/conversations/{id}/remove"): LeftOut(OWN),
    ("POST", "/lists"): LeftOut(OWN),
    ("POST", "/lists/{id}/edit"): LeftOut(OWN),
    ("POST", "/lists/{id}/delete"): LeftOut(OWN),
    ("POST", "/lists/{id}/accounts/{account_id}/add"): LeftOut(OWN),
    ("POST", "/lists/{id}/accounts/{account_id}/remove"): LeftOut(OWN),
    ("POST", "/scheduled/{scheduled_id}/time"): LeftOut(OWN),
    ("POST", "/scheduled/{scheduled_id}/cancel"): LeftOut(OWN),
    ("POST", "/accounts/{account_id}/unblock"): LeftOut(RELATIONSHIP),
    ("POST", "/accounts/{account_id}/unmute"): LeftOut(RELATIONSHIP),
    ("POST", "/accounts/{account_id}/block_domain"): LeftOut(RELATIONSHIP),
    ("POST", "/domain_blocks/unblock"): LeftOut(RELATIONSHIP),
    ("POST", "/signin"): LeftOut(CREDENTIALS),
    ("POST", "/signout"): LeftOut(CREDENTIALS),
    ("POST", "/setup"): LeftOut(CREDENTIALS),
    ("POST", "/settings/profile"): LeftOut(OWN),
    ("POST", "/settings/preferences"): LeftOut(OWN),
    ("POST", "/settings/pictures"): LeftOut(OWN),
    ("POST", "/settings/password"): LeftOut(OWN),
    ("POST", "/settings/delete"): LeftOut(OWN + "; deletes the reader's own account (tests/ui/test_account_deletion.py)"),
    ("POST", "/settings/export/archive"): LeftOut(
        "the reader's own archive: only their own posts (tests/web/test_export_pages.py)"),
    ("POST", "/settings/export/following"): LeftOut(RELATIONSHIP),
    ("POST", "/settings/filters"): LeftOut(OWN),
    ("POST", "/settings/filters/{id}"): LeftOut(OWN),
    ("POST", "/settings/filters/{id}/delete"): LeftOut(OWN),
    ("POST", "/signin/factor"): LeftOut(CREDENTIALS),
    **{("POST", f"/settings/security/{a}"): LeftOut(OWN)
       for a in ("totp", "totp/confirm", "passkey", "passkey/confirm", "recovery-codes", "remove")},
    ("POST", "/accounts/{account_id}/follow"): LeftOut(RELATIONSHIP),
    ("POST", "/accounts/{account_id}/unfollow"): LeftOut(RELATIONSHIP),
    ("POST", "/accounts/{account_id}/block"): LeftOut(RELATIONSHIP),
    ("POST", "/accounts/{account_id}/mute"): LeftOut(RELATIONSHIP),
    ("POST", "/follow_requests/{account_id}/{answer}"): LeftOut(RELATIONSHIP),
    ("POST", "/admin/reports/{report_id}/resolve"): Asked({"answer": "dismiss"}),
    ("POST", "/admin/posts/{post_id}/remove"): Asked({"reason": "the sweep"}, destructive=True),
    ("POST", "/admin/accounts/{account_id}/{action}"): LeftOut(STAFF),
    ("POST", "/admin/users"): LeftOut(STAFF),
    ("POST", "/admin/users/{username}/role"): LeftOut(STAFF),
    ("POST", "/admin/users/{username}/{action}"): LeftOut(STAFF),
    ("POST", "/admin/settings/name"): LeftOut(STAFF),
    # SCIM provisioning (web/scim.py): every reader is refused (401) before a body is read
    **{(m, f"/scim/v2/{kind}"): Asked({"userName": "sweep", "displayName": "sweep"})
       for m in ("POST",) for kind in ("Users", "Groups", "Users/.search", "Groups/.search", ".search")},
    **{(m, f"/scim/v2/{kind}/{{scim_id}}"): Asked({"userName": "sweep", "displayName": "sweep"}, destructive=m == "DELETE")
       for m in ("PUT", "PATCH", "DELETE") for kind in ("Users", "Groups")},
    **{(m, "/scim/v2/{tail}"): Asked() for m in ("POST", "PUT", "PATCH", "DELETE")},
    ("POST", "/admin/holds"): LeftOut(STAFF),
    # followed and featured tags, suggestions (tests/api/test_tags_hostile.py): the reader's own
    # choices, answered with a tag, a featured tag or nothing: never a post
    ("POST", "/api/v1/tags/{name}/follow"): LeftOut(OWN),
    ("POST", "/api/v1/tags/{name}/unfollow"): LeftOut(OWN),
    ("POST", "/api/v1/featured_tags"): LeftOut(OWN),
    ("DELETE", "/api/v1/featured_tags/{id}"): LeftOut(OWN),
    ("DELETE", "/api/v1/suggestions/{account_id}"): LeftOut(OWN),
    ("POST", "/tags/{name}/follow"): LeftOut(OWN),
    ("POST", "/tags/{name}/unfollow"): LeftOut(OWN),
    ("POST", "/admin/holds/{hold_id}/release"): LeftOut(STAFF),
    ("POST", "/admin/policy/edit"): LeftOut(POLICY_EDIT),
    # announcements (tests/api/test_announcements.py, tests/ui/test_announcements.py): the reader's
    # own dismissals and reactions, and the admins' page; answered with nothing or a redirect
    ("POST", "/api/v1/announcements/{id}/dismiss"): LeftOut(OWN),
    ("PUT", "/api/v1/announcements/{id}/reactions/{name}"): LeftOut(OWN),
    ("DELETE", "/api/v1/announcements/{id}/reactions/{name}"): LeftOut(OWN),
    ("POST", "/announcements/{announcement_id}/dismiss"): LeftOut(OWN),
    ("POST", "/admin/announcements"): LeftOut(STAFF),
    ("POST", "/admin/announcements/{announcement_id}"): LeftOut(STAFF),
    ("POST", "/admin/announcements/{announcement_id}/{action}"): LeftOut(STAFF),
    # communities in the web UI (tests/ui/test_communities.py): making one, joining and leaving
    # answer a redirect; a moderator's changes to who is in it answer its members page (people,
    # never a post); writing to it and removing a post from it answer its page, which can
    # carry posts: asked
    ("POST", "/communities"): LeftOut(OWN),
    ("POST", "/communities/{name}/join"): LeftOut(RELATIONSHIP),
    ("POST", "/communities/{name}/leave"): LeftOut(RELATIONSHIP),
    ("POST", "/communities/{name}/posts"): Asked({"text": "to the community, from the sweep"}),
    ("POST", "/communities/{name}/invite"): LeftOut(COMMUNITY_PEOPLE),
    ("POST", "/communities/{name}/requests/{account_id}/approve"): LeftOut(COMMUNITY_PEOPLE),
    ("POST", "/communities/{name}/requests/{account_id}/reject"): LeftOut(COMMUNITY_PEOPLE),
    ("POST", "/communities/{name}/moderators/{account_id}"): LeftOut(COMMUNITY_PEOPLE),
    ("POST", "/communities/{name}/moderators/{account_id}/remove"): LeftOut(COMMUNITY_PEOPLE),
    ("POST", "/communities/{name}/members/{account_id}/remove"): LeftOut(COMMUNITY_PEOPLE),
    ("POST", "/communities/{name}/posts/{post_id}/remove"): Asked(destructive=True),
}


@dataclass
class Record:
    plan: Plan
    routes: list[Route]
    ops_routes: list[Route]
    asked: int = 0
    streams: int = 0
    seen: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))  # (reader, post) -> where
    audience_streamed: set[str] = field(default_factory=set)  # the second posts bob's streams carried


def _canaries(phase: str) -> dict[str, str]:
    return {kind: f"cnry{phase}{kind}{secrets.token_hex(4)}" for kind in POSTS}


async def _write_posts(ctx: NodeContext, alice: Account, canaries: dict[str, str],
                       community: Account) -> tuple[list[int], list[str]]:
    """alice's posts, each with a picture whose bytes carry its canary: (post ids, media keys)."""
    ids, keys = [], []
    for kind, (visibility, more) in POSTS.items():
        text = f"#{TAG} {WORD} {canaries[kind]}{more}"
        written_to = community.id if kind == "community" else None
        post = await posts.create_post(ctx, alice, NewPost(text, visibility=visibility, community_id=written_to))
        ids.append(post.id)
        keys.append((await stored_media(ctx, alice, PNG + canaries[kind].encode(), post=post)).storage_key or "")
    return ids, keys


async def _remote(ctx: NodeContext, peer: NamedPeer, name: str) -> None:
    """The node's record of `name` on `peer`, key included, as if fetched already: the sweep
    never needs the node to contact a peer."""
    uri = peer.add_actor(name)
    async with ctx.db.session() as s:
        s.add(Account(username=name, domain=peer.domain, display_name=name.title(), actor_uri=uri, url=uri,
                      inbox_uri=f"{uri}/inbox", shared_inbox_uri=f"{peer.base}/inbox", followers_uri=f"{uri}/followers",
                      key_id=peer.key_id(name), public_key_pem=public_pem(peer.keys[name]), fetched_at=utcnow()))


async def _node(stack: AsyncExitStack, database: str) -> tuple[NodeContext, web.Application]:
    """The node in-process on a free loopback port, with its own database and the policy."""
    policy, problems = parse_policy(POLICY)
    assert policy is not None, problems
    db = Database(database)
    stack.push_async_callback(db.dispose)
    media = LocalStore(Path(stack.enter_context(tempfile.TemporaryDirectory())))
    node = await stack.enter_async_context(running_node(db, policy=policy, resolver=LoopbackNames(), instance=True,
                                                        media=media))
    return node.ctx, node.app


async def _readers(stack: AsyncExitStack, ctx: NodeContext, peers: dict[str, NamedPeer]) -> list[Reader]:
    """Each reader asks as its kind does (a browser for pages, a peer for ActivityPub, an app
    for JSON); the open web asks both ways. A peer's own pages and API would be asked without
    its signature, which is the open web's view: the anonymous reader's."""
    anonymous = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    stack.push_async_callback(anonymous.close)
    async with aiohttp.ClientSession(base_url=ctx.base_url) as api:
        tokens = {name: (await sign_in(api, name))["Authorization"].removeprefix("Bearer ") for name in ("bob", "dave")}
    browser, csrf = await web_sign_in(ctx.base_url, "carol", PASSWORD)
    stack.push_async_callback(browser.close)
    readers = [
        Reader("anonymous", anonymous, (AP_CONTENT_TYPE, HTML)),
        Reader("outsider_web", browser, (HTML,), csrf=csrf),
        Reader("outsider_token", anonymous, (JSON,), token=tokens["dave"]),
        *(Reader(r, anonymous, (AP_CONTENT_TYPE,), key_id=peers[r].key_id(name), key=peers[r].keys[name])
          for r, (_, name) in PEERS.items()),
        Reader("audience", anonymous, (JSON,), token=tokens["bob"]),
    ]
    assert [r.name for r in readers] == list(READERS)
    return readers


def _judge(record: Record, canaries: list[dict[str, str]], reader: str, text: str, where: str) -> None:
    for phase in canaries:
        for kind, canary in phase.items():
            if canary in text:
                record.seen[reader, kind].append(where)


async def run_sweep(database: str) -> Record:
    async with AsyncExitStack() as stack:
        peers = {reader: await stack.enter_async_context(running_named_peer(host, free_port()))
                 for reader, (host, _) in PEERS.items()}
        ctx, app = await _node(stack, database)
        # Given alice, bob who follows her, two local outsiders, and a user on each peer
        people = {name: await accounts.create_user(ctx, name, PASSWORD) for name in ("alice", "bob", "carol", "dave")}
        alice, bob = people["alice"], people["bob"]
        async with ctx.db.session() as s:
            s.add(Follow(follower_id=bob.id, target_id=alice.id, state="accepted"))
        for reader, (_, name) in PEERS.items():
            await _remote(ctx, peers[reader], name)
        # and alice's posts, one of each audience, each with its canary; bob bookmarks and
        # reports each (so that his lists and the staff's pages hold them too)
        first = _canaries("a")
        # and alice's organisation community, its description carrying a canary (the
        # community's row of ADMITS), bob a member of it
        community = await communities.create_community(ctx, COMMUNITY, audience="organization", creator=alice,
                                                       description=f"{WORD} {first['community']}")
        await communities.join(ctx, bob, community.id)
        ids, media_keys = await _write_posts(ctx, alice, first, community)
        for post_id in ids:
            await bookmarks.bookmark(ctx, bob, post_id)
        reports = [(await moderation.file_report(ctx, bob, post_id, "the sweep")).id for post_id in ids]
        async with ctx.db.reader() as s:
            notes = list((await s.scalars(select(Notification.id).where(Notification.account_id == bob.id))).all())
        # and bob's list with alice on it (its timeline and stream are bob's alone)
        bobs = await lists.create(ctx, bob, "the sweep")
        await lists.add_members(ctx, bob, bobs.id, [alice.id])
        world = World(ctx.domain, alice.id, community.id, ids, [ctx.post_uri("alice", i) for i in ids], notes, reports, static_files(app),
                      media_keys, [bobs.id])
        readers = await _readers(stack, ctx, peers)

        # When every route the router serves is asked by every reader
        routes = served_routes(app)
        record = Record(plan(routes, ctx.base_url, readers, world.fillers(), QUERIES, OTHER_METHODS),
                        routes, served_routes(ops_app(ctx)))
        live: list[Live] = []
        answers = await ask_all(record.plan.gets, live)
        # and, while the event streams stay open (and a WebSocket joins every stream), alice
        # writes a second set of posts
        sockets = [await join_websocket(r, ctx.base_url + WEBSOCKET, WEBSOCKET_STREAMS, live) for r in readers if r.token]
        second = _canaries("b")
        await _write_posts(ctx, alice, second, community)
        bob_streams = [stream for stream in live if stream.reader == "audience"]
        for _ in range(100):  # until bob's streams carry them all (~10 s at most)
            if all(c in "".join(stream.text for stream in bob_streams) for c in second.values()):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # what else was going to be streamed, is
        await close_streams(live)
        for ws in sockets:
            await ws.close()
        # and the other methods are asked, the destructive ones last
        answers += await ask_all(record.plan.others, live)
        answers += await ask_all(record.plan.destructive, live)

        # Then each answer is judged by the canaries it carries
        record.asked, record.streams = len(answers), len(live)
        record.audience_streamed = {k for k, c in second.items() if any(c in stream.text for stream in bob_streams)}
        for answer in answers:
            _judge(record, [first, second], answer.reader, answer.text, answer.where())
        for stream in live:
            _judge(record, [first, second], stream.reader, stream.text, f"the stream {stream.url} -> {stream.status}")
        return record


@pytest.fixture(scope="module", params=ENGINES)
def record(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Record:
    return asyncio.run(run_sweep(database_url(str(request.param), request, tmp_path_factory)))


def test_every_route_the_node_serves_is_swept(record: Record) -> None:
    # Keep this test first: a route the sweep cannot ask is a route that could leak unseen.
    sweep = record.plan
    assert sweep.unfilled == [], "add a filler (World.fillers, by parameter name) for:\n" + "\n".join(sweep.unfilled)
    assert sweep.unlisted == [], "say in OTHER_METHODS whether the sweep asks:\n" + "\n".join(sweep.unlisted)
    assert sweep.stale == [], "no route answers these any more; remove them from OTHER_METHODS:\n" + "\n".join(sweep.stale)
    served = {(r.method, r.template) for r in record.routes}
    assert {(r.method, r.template) for r in record.ops_routes} <= served  # the worker's routes are the web app's too
    # (and the sweep is the size of the router, not of an empty list)
    assert sum(r.method == "GET" for r in record.routes) > 80 and record.asked > 2000 and record.streams > 7, (
        len(record.routes), record.asked, record.streams)


def test_no_canary_reaches_a_reader_its_audience_and_the_policy_do_not_admit(record: Record) -> None:
    leaks = [f"{reader} read the {v} post: {where}"
             for reader in READERS for i, v in enumerate(POSTS) if ADMITS[reader][i] == N
             for where in record.seen.get((reader, v), [])]
    assert leaks == [], "\n".join(leaks[:60]) + (f"\n... and {len(leaks) - 60} more" if len(leaks) > 60 else "")


def test_every_admitted_reader_finds_its_canaries(record: Record) -> None:
    # The sweep is not blind: each reader finds each post it is admitted to somewhere
    blind = [f"{reader} never found the {v} post" for reader in READERS
             for i, v in enumerate(POSTS) if ADMITS[reader][i] == Y and not record.seen.get((reader, v))]
    assert blind == []


def test_live_streams_carry_the_audiences_posts(record: Record) -> None:
    # bob's streams carried the second set of posts, each visibility: what the streams carried
    # to everyone else was judged by the same table
    assert record.audience_streamed == set(POSTS)
