"""The demo organisation: who is on which node, who follows whom, what they posted.

Acme runs three department nodes (eng, sales, ops) that trust each other as `organization`;
Partner Co. runs one node that Acme trusts as `partner`. Everything is written through the
node layer on each node's own database while the nodes' `atrium serve` processes run, so
follows and posts cross real HTTP, signed, through each side's trust policy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from atrium.assembly import context_for, federating
from node import accounts, announcements, communities, follows, interactions, polls, posts, remote
from node.announcements import Draft
from node.audience import Audience
from node.context import NodeContext
from node.posts import NewPoll, NewPost
from node.settings import load
from node.trust import Trust
from storage.db import Database
from storage.errors import Conflict
from storage.models import Account, Job, Post


@dataclass(frozen=True)
class DemoNode:
    name: str
    title: str
    kind: str  # "department" or "partner"
    port: int
    data_dir: Path
    host: str = "127.0.0.1"

    @property
    def domain(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.domain}"


@dataclass(frozen=True)
class DemoUser:
    node: str
    username: str
    display_name: str
    role: str = "user"


# name -> (title, kind); the order is the order of ports and of the printed list.
NODES: dict[str, tuple[str, str]] = {
    "eng": ("Acme Engineering", "department"),
    "sales": ("Acme Sales", "department"),
    "ops": ("Acme Operations", "department"),
    "partner": ("Partner Co.", "partner"),
}

USERS: tuple[DemoUser, ...] = (
    DemoUser("eng", "alice", "Alice Martin", "admin"),
    DemoUser("eng", "lena", "Lena Weber"),
    DemoUser("sales", "bob", "Bob Okafor", "admin"),
    DemoUser("sales", "sam", "Sam Rivera"),
    DemoUser("ops", "olga", "Olga Nowak", "admin"),
    DemoUser("partner", "pat", "Pat Lindqvist", "admin"),
)

# (node, follower) follows (node, followed): across departments, and the partner follows alice.
FOLLOWS: tuple[tuple[str, str, str, str], ...] = (
    ("sales", "bob", "eng", "alice"),
    ("ops", "olga", "eng", "alice"),
    ("eng", "alice", "sales", "bob"),
    ("eng", "alice", "ops", "olga"),
    ("eng", "alice", "partner", "pat"),
    ("eng", "lena", "eng", "alice"),
    ("sales", "sam", "sales", "bob"),
    ("partner", "pat", "eng", "alice"),
    ("partner", "pat", "sales", "bob"),
)

# Texts the demo test looks for: each shows one audience crossing (or not) a boundary.
ORG_POST = "Sales kickoff next Monday at 10:00: the whole organisation is invited."
LOCAL_POST = "Lunch in the eng kitchen at noon today (this one stays in Engineering)."
PUBLIC_POST = "We are hiring two backend engineers: partners, please share!"
ENG_ORG_POST = "Q3 roadmap review on Thursday: everyone at Acme is welcome."
CONFIDENTIAL_POST = "The confidential launch date is 14 March: keep it inside Acme."

# (node, author, visibility, text); `{eng}` and friends become the nodes' domains.
POSTS: tuple[tuple[str, str, Audience, str], ...] = (
    ("partner", "pat", Audience.PUBLIC, "Partner Co. is looking forward to the joint launch with Acme."),
    ("ops", "olga", Audience.ORGANIZATION, "Maintenance window Saturday 02:00-04:00 for the shared file servers."),
    ("sales", "bob", Audience.ORGANIZATION, ORG_POST),
    ("sales", "bob", Audience.UNLISTED, "Pipeline review notes are on the wiki, for whoever wants them."),
    ("sales", "sam", Audience.LOCAL, "Sales team: expense reports are due Friday (sales only)."),
    ("eng", "alice", Audience.PUBLIC, PUBLIC_POST),
    ("eng", "alice", Audience.ORGANIZATION, ENG_ORG_POST),
    ("eng", "alice", Audience.LOCAL, LOCAL_POST),
    ("eng", "alice", Audience.FOLLOWERS, "For my followers: the new build pipeline is live #devops"),
    ("eng", "alice", Audience.PUBLIC, CONFIDENTIAL_POST),
    ("eng", "alice", Audience.DIRECT, "@bob@{sales} could you send me the Q3 deck before Thursday?"),
    ("eng", "lena", Audience.PUBLIC, "@alice the staging cluster is green again #devops"),
)

# After the posts arrive: (node, who, action, the post's node and text); each notifies alice.
REACTIONS: tuple[tuple[str, str, str, str, str], ...] = (
    ("sales", "bob", "reply", "eng", ENG_ORG_POST),
    ("ops", "olga", "like", "eng", ENG_ORG_POST),
    ("partner", "pat", "boost", "eng", PUBLIC_POST),
)
REPLY = "Count sales in: we will bring the customer feedback."
# eng's admin tells the whole organisation (its departments accept eng's announcements).
ANNOUNCEMENT = ("eng", "alice", "Welcome to Atrium! The all-hands is on Friday at 15:00: "
                "questions in the Organisation timeline, please.")

# A community on eng for the whole organisation (docs/communities.md): its moderator, who joins
# it, and what they write to it (the community re-shares each post to its members).
COMMUNITY = "engineering-guild"
COMMUNITY_NODE = "eng"
COMMUNITY_MODERATOR = "alice"
COMMUNITY_MEMBERS = ("lena",)
COMMUNITY_POSTS: tuple[tuple[str, str], ...] = (
    ("alice", "Welcome to the Engineering Guild: talks, tools and the tech radar. Introduce yourself!"),
    ("lena", "Hi guild! I am Lena, I look after the build farm. Ask me anything about CI."),
    ("alice", "Guild talk on Friday at 15:00: what we learnt moving to PostgreSQL 16."),
)
# A poll to the organisation (node, author, text, options), voted on from sales (node/polls.py).
POLL = ("eng", "alice", "Offsite in May: which city?", ("Lisbon", "Oslo", "Rome"))
POLL_VOTE = ("sales", "bob", 0)  # (node, who, the option chosen)

QUEUES = ("deliver", "fanout", "inbox")


def policy_for(me: DemoNode, nodes: dict[str, DemoNode]) -> str:
    """Departments: each other `organization`, the partner `partner`, plus a data-loss rule.
    The partner: Acme's departments as `partner`."""
    lines = ["# Written by `atrium demo`: see docs/policy.md for every key.", 'mode = "allowlist"', ""]
    for other in nodes.values():
        if other.name == me.name:
            continue
        trust = Trust.ORGANIZATION if me.kind == other.kind == "department" else Trust.PARTNER
        lines += [f'[peers."{other.domain}"]  # {other.title}', f'trust = "{trust}"']
        if trust == Trust.ORGANIZATION:  # a department shows the other departments' announcements
            lines.append("accept_announcements = true")
        lines.append("")
    if me.kind == "department":
        lines += [
            "[[rules]]  # data-loss prevention: never to a peer trusted below organization",
            'name = "confidential"',
            'pattern = "(?i)confidential"',
            'below = "organization"',
            "",
        ]
    return "\n".join(lines)


@asynccontextmanager
async def acting_on(node: DemoNode) -> AsyncIterator[NodeContext]:
    """A context on the node's database that fetches from peers as the node itself does."""
    settings = load(node.data_dir)
    db = Database(settings.resolved_database_url)
    try:
        ctx = context_for(settings, db)
        async with federating(ctx, settings):
            yield ctx
    finally:
        await db.dispose()


async def create_users(nodes: dict[str, DemoNode], passwords: dict[str, str]) -> None:
    for user in USERS:
        async with acting_on(nodes[user.node]) as ctx:
            try:
                await accounts.create_user(
                    ctx, user.username, passwords[user.username], role=user.role, display_name=user.display_name
                )
            except Conflict:  # a run interrupted after this user: keep the account it made
                pass


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.3)
    raise TimeoutError(f"timed out waiting for {what}")


async def _relationship(ctx: NodeContext, nodes: dict[str, DemoNode], edge: tuple[str, str, str, str]) -> tuple[Account, Account, bool]:
    node_name, username, target_node, target_user = edge
    me = await accounts.get_local(ctx, username)
    if target_node == node_name:
        target = await accounts.get_local(ctx, target_user)
    else:
        target = await remote.resolve_handle(ctx, f"{target_user}@{nodes[target_node].domain}")
    return me, target, (await follows.relationship(ctx, me, target.id))["following"]


async def make_follows(nodes: dict[str, DemoNode], timeout: float) -> None:
    for edge in FOLLOWS:
        async with acting_on(nodes[edge[0]]) as ctx:
            me, target, following = await _relationship(ctx, nodes, edge)
            if not following:
                await follows.follow(ctx, me, target.id)

    # Posts go only to followers known when they are written: wait for every Accept first.
    for edge in FOLLOWS:
        async def accepted(edge: tuple[str, str, str, str] = edge) -> bool:
            async with acting_on(nodes[edge[0]]) as ctx:
                return (await _relationship(ctx, nodes, edge))[2]

        await _eventually(accepted, f"{edge[3]} on {edge[2]} to accept {edge[1]}'s follow", timeout)


async def write_posts(nodes: dict[str, DemoNode]) -> dict[str, str]:
    """Write the sample posts; returns each one's URI by its text."""
    domains = {name: node.domain for name, node in nodes.items()}
    uris: dict[str, str] = {}
    for node_name, username, visibility, text in POSTS:
        async with acting_on(nodes[node_name]) as ctx:
            author = await accounts.get_local(ctx, username)
            post = await posts.create_post(ctx, author, NewPost(text.format(**domains), visibility=visibility))
            uris[text] = post.uri or ""
    return uris


async def react(nodes: dict[str, DemoNode], uris: dict[str, str]) -> None:
    """A reply, a like and a boost from other nodes, on their copies of alice's posts."""
    for node_name, username, action, _, text in REACTIONS:
        async with acting_on(nodes[node_name]) as ctx:
            me = await accounts.get_local(ctx, username)
            async with ctx.db.reader() as s:
                copy_id = await s.scalar(select(Post.id).where(Post.uri == uris[text]))
            if copy_id is None:
                raise TimeoutError(f"{text!r} did not reach {node_name}")
            if action == "reply":
                await posts.create_post(ctx, me, NewPost(REPLY, visibility=Audience.ORGANIZATION, in_reply_to_id=copy_id))
            elif action == "like":
                await interactions.like(ctx, me, copy_id)
            else:
                await interactions.boost(ctx, me, copy_id)


async def make_community(nodes: dict[str, DemoNode]) -> None:
    """The organisation's community on eng, with a member and a few posts (kept if a run that
    was interrupted made it already)."""
    async with acting_on(nodes[COMMUNITY_NODE]) as ctx:
        moderator = await accounts.get_local(ctx, COMMUNITY_MODERATOR)
        try:
            group = await communities.create_community(
                ctx, COMMUNITY, audience=Audience.ORGANIZATION, display_name="Engineering Guild",
                description="Talks, tools and the tech radar, for everyone at Acme who builds things.",
                rules="Be kind. Stay on topic. Nothing confidential: this community reaches every Acme node.",
                creator=moderator)
        except Conflict:
            return
        for username in COMMUNITY_MEMBERS:
            await communities.join(ctx, await accounts.get_local(ctx, username), group.id)
        for username, text in COMMUNITY_POSTS:
            author = await accounts.get_local(ctx, username)
            await posts.create_post(ctx, author, NewPost(text, community_id=group.id))


async def write_poll(nodes: dict[str, DemoNode]) -> str:
    """alice's organisation poll (open a week); returns its URI."""
    node_name, username, text, options = POLL
    async with acting_on(nodes[node_name]) as ctx:
        author = await accounts.get_local(ctx, username)
        poll = NewPoll(options, expires_in=7 * 24 * 3600)
        post = await posts.create_post(ctx, author, NewPost(text, visibility=Audience.ORGANIZATION, poll=poll))
        return post.uri or ""


async def vote_on_poll(nodes: dict[str, DemoNode], uri: str) -> None:
    """bob votes from sales on his copy of alice's poll: the count goes back to eng."""
    node_name, username, choice = POLL_VOTE
    async with acting_on(nodes[node_name]) as ctx:
        me = await accounts.get_local(ctx, username)
        async with ctx.db.reader() as s:
            copy_id = await s.scalar(select(Post.id).where(Post.uri == uri))
        if copy_id is None:
            raise TimeoutError(f"the poll did not reach {node_name}")
        await polls.vote(ctx, me, copy_id, [choice])


async def announce(nodes: dict[str, DemoNode]) -> None:
    """One organisation-wide announcement (node/announcements.py), shown on every department."""
    node_name, username, text = ANNOUNCEMENT
    async with acting_on(nodes[node_name]) as ctx:
        admin = await accounts.get_local(ctx, username)
        if not await announcements.active(ctx, admin, with_dismissed=True):
            await announcements.create(ctx, admin, Draft(text, organization_wide=True))


async def backlog(node: DemoNode) -> int:
    async with acting_on(node) as ctx, ctx.db.reader() as s:
        count = await s.scalar(
            select(func.count()).select_from(Job).where(Job.queue.in_(QUEUES), Job.status.in_(("pending", "running")))
        )
    return int(count or 0)


async def wait_until_delivered(nodes: dict[str, DemoNode], timeout: float) -> None:
    """Until no node has federation work left (deliveries, fan-out, inbox)."""

    async def drained() -> bool:
        return all([await backlog(n) == 0 for n in nodes.values()])

    await _eventually(drained, "the nodes to deliver the sample posts", timeout)


async def seed(
    nodes: dict[str, DemoNode], passwords: dict[str, str], say: Callable[[str], None], timeout: float = 120.0
) -> None:
    await create_users(nodes, passwords)
    say("users created")
    await make_follows(nodes, timeout)
    say("follows accepted across the nodes")
    uris = await write_posts(nodes)
    await wait_until_delivered(nodes, timeout)
    await react(nodes, uris)
    await wait_until_delivered(nodes, timeout)
    say("posts, replies, likes and boosts delivered")
    await make_community(nodes)
    say(f"community {COMMUNITY} made on {COMMUNITY_NODE}, with its first posts")
    poll_uri = await write_poll(nodes)
    await wait_until_delivered(nodes, timeout)
    await vote_on_poll(nodes, poll_uri)
    await wait_until_delivered(nodes, timeout)
    say("a poll voted on across the nodes")
    await announce(nodes)
    await wait_until_delivered(nodes, timeout)
    say("an organisation-wide announcement published")
