"""`atrium demo`, run as a newcomer runs it: a real process starting four real nodes.

Everything is asserted from outside, over HTTP with the sign-in details the demo printed
(the client API's password grant), and on the nodes' own databases.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from atrium.demo_seed import (
    ANNOUNCEMENT,
    CONFIDENTIAL_POST,
    ENG_ORG_POST,
    LOCAL_POST,
    NODES,
    ORG_POST,
    POLL,
    PUBLIC_POST,
    DemoNode,
    acting_on,
)
from node import accounts, timelines
from node.pagination import Page
from node.poll_rows import options_of
from storage.models import Poll, Post
from tests.factory import free_port

READY = "Demo ready."
START_TIMEOUT = 240.0  # first run: four inits, four servers, follows and deliveries on a loaded machine


@dataclass
class DemoRun:
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.strip() == READY:
                self.ready.set()
        self.ended.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def urls(self) -> dict[str, str]:
        return dict(re.findall(r"^  (\w+)\s+(http://127\.0\.0\.\d+:\d+)/", self.output, re.M))

    def passwords(self) -> dict[str, str]:
        return dict(re.findall(r"^      (\w+)\s+password: (\S+)", self.output, re.M))

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)


def start_demo(data_dir: Path, base_port: int) -> DemoRun:
    proc = subprocess.Popen(
        [sys.executable, "-m", "atrium", "demo", "--data-dir", str(data_dir), "--base-port", str(base_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
    )
    run = DemoRun(proc)
    threading.Thread(target=run.read, daemon=True).start()
    if not run.ready.wait(START_TIMEOUT):
        proc.kill()
        proc.wait()
        raise AssertionError(f"the demo did not get ready:\n{run.output}")
    return run


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoRun, Path]]:
    data_dir = tmp_path_factory.mktemp("demo") / "atrium-demo"
    run = start_demo(data_dir, free_port())
    try:
        yield run, data_dir
    finally:
        if run.proc.poll() is None:
            run.interrupt()


async def sign_in(session: aiohttp.ClientSession, base_url: str, username: str, password: str) -> dict[str, str]:
    """The client API's password grant, as a Mastodon app signs in."""
    async with session.post(f"{base_url}/api/v1/apps", data={"client_name": "demo test", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"}) as r:
        assert r.status == 200, await r.text()
        app = await r.json()
    form = {
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": username, "password": password, "scope": "read",
    }
    async with session.post(f"{base_url}/oauth/token", data=form) as r:
        assert r.status == 200, await r.text()
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}


async def home_texts(run: DemoRun, node: str, username: str) -> str:
    """Everything in the user's home timeline over HTTP, as one string of HTML."""
    base = run.urls()[node]
    async with aiohttp.ClientSession() as session:
        auth = await sign_in(session, base, username, run.passwords()[username])
        async with session.get(f"{base}/api/v1/timelines/home?limit=40", headers=auth) as r:
            assert r.status == 200, await r.text()
            return "\n".join(status["content"] for status in await r.json())


def node_of(run: DemoRun, data_dir: Path, name: str) -> DemoNode:
    host, port = run.urls()[name].removeprefix("http://").split(":")
    return DemoNode(name, name, "department", int(port), data_dir / name, host)


async def web_page(run: DemoRun, node: str, username: str, path: str) -> str:
    """A page of the web UI, signed in through its form as a person in a browser would."""
    base = run.urls()[node]
    # The jar must accept cookies from an IP address, as browsers do.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{base}/signin") as r:
            assert r.status == 200
            csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text())
        assert csrf is not None
        form = {"csrf": csrf.group(1), "next": path, "login": username, "password": run.passwords()[username]}
        async with session.post(f"{base}/signin", data=form) as r:
            assert r.status == 200 and r.url.path == path, await r.text()
            return await r.text()


async def stored_texts(node: DemoNode) -> str:
    async with acting_on(node) as ctx, ctx.db.reader() as s:
        return "\n".join((await s.scalars(select(Post.content_html))).all())


async def test_four_nodes_answer_with_the_printed_addresses(demo: tuple[DemoRun, Path]) -> None:
    run, _ = demo
    # Given the demo printed its nodes and who signs in where
    assert set(run.urls()) == {"eng", "sales", "ops", "partner"}
    assert set(run.passwords()) == {"alice", "lena", "bob", "sam", "olga", "pat"}
    # Then every node answers its health check
    async with aiohttp.ClientSession() as session:
        for base in run.urls().values():
            async with session.get(f"{base}/health") as r:
                assert r.status == 200


async def test_the_organisation_timeline_shows_another_departments_post(demo: tuple[DemoRun, Path]) -> None:
    run, data_dir = demo
    # Given alice on eng follows bob on sales, who wrote for the organisation
    # Then alice, signed in to eng's web UI, sees bob's post in the organisation timeline
    assert ORG_POST in await web_page(run, "eng", "alice", "/organization")
    # And it reached her home timeline, as a Mastodon app reads it
    assert ORG_POST in await home_texts(run, "eng", "alice")
    # And eng's organisation timeline holds it for the organisation's readers
    async with acting_on(node_of(run, data_dir, "eng")) as ctx:
        alice = await accounts.get_local(ctx, "alice")
        texts = [p.content_html for p in await timelines.organization(ctx, alice, Page(limit=40))]
    assert any(ORG_POST in t for t in texts)


async def test_alice_is_told_of_the_reply_like_and_boost_from_three_other_nodes(demo: tuple[DemoRun, Path]) -> None:
    run, _ = demo
    base = run.urls()["eng"]
    async with aiohttp.ClientSession() as session:
        auth = await sign_in(session, base, "alice", run.passwords()["alice"])
        async with session.get(f"{base}/api/v1/notifications", headers=auth) as r:
            assert r.status == 200, await r.text()
            seen = {(n["type"], n["account"]["acct"].split("@")[0]) for n in await r.json()}
    assert {("mention", "bob"), ("favourite", "olga"), ("reblog", "pat")} <= seen


async def test_the_seeded_poll_counts_a_vote_from_another_node(demo: tuple[DemoRun, Path]) -> None:
    run, data_dir = demo
    # Given alice's organisation poll on eng, which bob voted on from sales
    async with acting_on(node_of(run, data_dir, "eng")) as ctx, ctx.db.reader() as s:
        post = await s.scalar(select(Post).where(Post.content_html.contains(POLL[2])))
        assert post is not None
        poll = await s.get(Poll, post.id)
    # Then eng counted his vote (it crossed from sales as a vote note)
    assert poll is not None and [v for _, v in options_of(poll)] == [1, 0, 0]
    # And the partner never received the poll
    assert POLL[2] not in await stored_texts(node_of(run, data_dir, "partner"))


async def test_the_department_only_post_stays_in_its_department(demo: tuple[DemoRun, Path]) -> None:
    run, data_dir = demo
    # Given bob (sales) and olga (ops) follow alice, and received her organization post
    for node, user in (("sales", "bob"), ("ops", "olga")):
        home = await home_texts(run, node, user)
        assert ENG_ORG_POST in home
        # Then her `local` post is in neither home timeline
        assert LOCAL_POST not in home
    # And no other node stored it at all, while eng did
    assert LOCAL_POST in await stored_texts(node_of(run, data_dir, "eng"))
    for name in ("sales", "ops", "partner"):
        assert LOCAL_POST not in await stored_texts(node_of(run, data_dir, name))


async def test_the_partner_receives_the_public_post_and_not_the_organisation_one(demo: tuple[DemoRun, Path]) -> None:
    run, data_dir = demo
    # Given pat on partner follows alice on eng
    home = await home_texts(run, "partner", "pat")
    # Then her public post arrived, and neither her organization post nor the confidential one
    assert PUBLIC_POST in home
    assert ENG_ORG_POST not in home and CONFIDENTIAL_POST not in home
    stored = await stored_texts(node_of(run, data_dir, "partner"))
    assert ENG_ORG_POST not in stored and ORG_POST not in stored and CONFIDENTIAL_POST not in stored


async def test_eng_s_announcement_is_a_banner_on_every_department_and_not_the_partner(demo: tuple[DemoRun, Path]) -> None:
    run, _ = demo
    text = ANNOUNCEMENT[2]
    # Then alice (eng), bob (sales) and olga (ops) see it over their home timeline; pat does not
    for node, username in (("eng", "alice"), ("sales", "bob"), ("ops", "olga")):
        assert text in await web_page(run, node, username, "/"), f"no announcement on {node}"
    assert text not in await web_page(run, "partner", "pat", "/")


async def test_each_node_has_its_name_and_people_read_it(demo: tuple[DemoRun, Path]) -> None:
    run, _ = demo
    # Given the demo's four nodes, each made with `atrium init --name`
    async with aiohttp.ClientSession() as session:
        for node, base in run.urls().items():
            title = NODES[node][0]
            # Then each tells peers its name, and greets people with it
            async with session.get(f"{base}/nodeinfo/2.1") as r:
                assert (await r.json(content_type=None))["metadata"]["nodeName"] == title
            async with session.get(f"{base}/signin") as r:
                assert f"<h1>Sign in to {title}</h1>" in await r.text()
    # And alice reads the partner by its name beside her organisation post, which it does not get
    home = await web_page(run, "eng", "alice", "/")
    partner = run.urls()["partner"].removeprefix("http://")
    assert f'Partner Co. <span class="peer">({partner})</span>' in home, re.findall(r'<div class="kept".*?</div>', home, re.S)


def _listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) == 0


async def test_ctrl_c_stops_every_node_and_a_rerun_reuses_the_data(demo: tuple[DemoRun, Path]) -> None:
    run, data_dir = demo
    urls, passwords = run.urls(), run.passwords()
    eng = node_of(run, data_dir, "eng")
    before = await stored_texts(eng)
    # When the newcomer presses Ctrl-C
    assert run.interrupt() == 0
    # Then every node stopped
    assert not any(_listening(u) for u in urls.values())
    # When the demo runs again (even asked for other ports)
    again = start_demo(data_dir, free_port())
    try:
        # Then it reuses its nodes: same addresses, same sign-in details, nothing seeded twice
        assert "Creating" not in again.output
        assert again.urls() == urls and again.passwords() == passwords
        assert ORG_POST in await home_texts(again, "eng", "alice")
        assert await stored_texts(eng) == before
    finally:
        assert again.interrupt() == 0
