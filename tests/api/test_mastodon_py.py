"""Mastodon.py (a real client library) against real `atrium serve` processes on loopback.

eng (SQLite) is where alice signs in; sales (PostgreSQL when the run includes it) is another
node, a partner, where bob lives. Mastodon.py needs allow_http=True for an http OAuth server.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import mastodon  # noqa: E402 - Mastodon.py 2.3.3, a test dependency (pyproject.toml)
import pytest
import requests
from PIL import Image
from yarl import URL

from tests import media_files
from tests.conftest import ENGINES, drop_pg_database, recreate_pg_database, worker_tag
from tests.federation.nodes import NodeProcess, eventually
from tests.federation.test_multinode import follow_remote

# Never opened: the app reads the code off the redirect, as a native app's handler would.
REDIRECT = "http://127.0.0.1:9/callback"
SCOPES = ["read", "write", "follow"]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    root: Path = tmp_path_factory.mktemp("mastodon_py")
    pg_name = f"atrium_mpy_{worker_tag()}"
    on_pg = "postgresql" in ENGINES
    eng = NodeProcess("eng", root)
    sales = NodeProcess("sales", root, recreate_pg_database(pg_name) if on_pg else None)
    with ThreadPoolExecutor() as pool:
        list(pool.map(NodeProcess.init, (eng, sales)))
    eng.write_policy(f'mode = "allowlist"\n[peers."{sales.domain}"]\ntrust = "partner"\n')
    sales.write_policy(f'mode = "allowlist"\n[peers."{eng.domain}"]\ntrust = "partner"\n')
    eng.create_user("alice", "--email", "alice@eng.acme.test")
    sales.create_user("bob")
    try:
        with ThreadPoolExecutor() as pool:
            list(pool.map(NodeProcess.start, (eng, sales)))
        yield eng, sales
    finally:
        eng.stop()
        sales.stop()
        if on_pg and not os.environ.get("ATRIUM_KEEP_TEST_DATABASES"):
            drop_pg_database(pg_name)


@pytest.fixture(scope="module")
def node(nodes: tuple[NodeProcess, NodeProcess]) -> NodeProcess:
    return nodes[0]


def test_mastodon_py_registers_logs_in_posts_and_reads_home(node: NodeProcess) -> None:
    # Given an app registered by Mastodon.py
    client_id, client_secret = mastodon.Mastodon.create_app("atrium test", api_base_url=node.base_url)
    client = mastodon.Mastodon(
        client_id=client_id, client_secret=client_secret, api_base_url=node.base_url, version_check_mode="created"
    )
    # When alice logs in with her password (http is fine on loopback)
    client.log_in("alice", "alice-password", allow_http=True)
    # Then verify_credentials is her, and a post she makes is on her home timeline
    me = client.account_verify_credentials()
    assert me.username == "alice"
    status = client.status_post("hello from Mastodon.py", visibility="unlisted", idempotency_key="mpy-1")
    again = client.status_post("hello from Mastodon.py", visibility="unlisted", idempotency_key="mpy-1")
    assert status.id == again.id and status.visibility == "unlisted"
    home = client.timeline_home()
    assert [s.id for s in home] == [status.id]
    assert "hello from Mastodon.py" in home[0].content
    assert client.instance().version.startswith("4.3.0")


def test_mastodon_py_posts_with_each_visibility(node: NodeProcess) -> None:
    client = _alice(node)
    # When alice posts once with each of Mastodon's four visibilities
    posted = {v: client.status_post(f"Mastodon.py says hello ({v})", visibility=v)
              for v in ("public", "unlisted", "private", "direct")}
    # Then each post has the visibility she chose, and each is on her home timeline
    assert {v: s.visibility for v, s in posted.items()} == {v: v for v in posted}
    home = {s.id for s in client.timeline_home(limit=40)}
    assert {s.id for s in posted.values()} <= home


class _FormFields(HTMLParser):
    """The consent form's inputs (name -> value), as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.fields[str(a["name"])] = a.get("value") or ""


async def _consent(url: str, username: str, password: str) -> URL:
    """Open the authorize page at `url`, sign in on its form, return where it redirects."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as page:
            assert page.status == 200, await page.text()
            form = _FormFields()
            form.feed(await page.text())
        assert "client_id" in form.fields and "redirect_uri" in form.fields
        answer = {**form.fields, "username": username, "password": password}
        async with http.post(URL(url).with_query(None), data=answer, allow_redirects=False) as resp:
            assert resp.status == 302, await resp.text()
            return URL(resp.headers["Location"])


def _registered(node: NodeProcess) -> mastodon.Mastodon:
    client_id, client_secret = mastodon.Mastodon.create_app(
        "atrium code flow", scopes=SCOPES, redirect_uris=REDIRECT, api_base_url=node.base_url
    )
    return mastodon.Mastodon(
        client_id=client_id, client_secret=client_secret, api_base_url=node.base_url, version_check_mode="created"
    )


async def test_mastodon_py_logs_in_by_the_authorization_code_flow(node: NodeProcess) -> None:
    # Given an app with a redirect URI, and the authorize URL Mastodon.py builds for it
    client = _registered(node)
    state = secrets.token_urlsafe(16)
    url = client.auth_request_url(redirect_uris=REDIRECT, scopes=SCOPES, state=state, allow_http=True)
    assert url.startswith(f"{node.base_url}/oauth/authorize?")
    # When alice signs in on the consent form
    back = await _consent(url, "alice", "alice-password")
    # Then she is sent back to the app with a code and its state
    assert str(back.with_query(None)) == REDIRECT and back.query["state"] == state
    # And Mastodon.py exchanges the code for a token that is hers
    client.log_in(code=back.query["code"], redirect_uri=REDIRECT, scopes=SCOPES, allow_http=True)
    assert client.account_verify_credentials().username == "alice"


async def test_authorization_code_with_pkce_gives_mastodon_py_a_working_token(node: NodeProcess) -> None:
    # Given the authorize URL with a PKCE challenge added, as public clients (Elk, Phanpy) send it
    client = _registered(node)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = URL(client.auth_request_url(redirect_uris=REDIRECT, scopes=SCOPES, allow_http=True))
    url = url.update_query(code_challenge=challenge, code_challenge_method="S256")
    # When alice signs in, and the app exchanges the code with its verifier and no secret
    code = (await _consent(str(url), "alice", "alice-password")).query["code"]
    exchange = {"grant_type": "authorization_code", "client_id": client.client_id, "code": code,
                "redirect_uri": REDIRECT, "code_verifier": verifier}
    async with aiohttp.ClientSession() as http, http.post(f"{node.base_url}/oauth/token", data=exchange) as resp:
        assert resp.status == 200, await resp.text()
        token = (await resp.json())["access_token"]
    # Then Mastodon.py, given that token, acts as alice
    signed_in = mastodon.Mastodon(access_token=token, api_base_url=node.base_url, version_check_mode="none")
    assert signed_in.account_verify_credentials().username == "alice"


def _alice(node: NodeProcess) -> mastodon.Mastodon:
    client = _registered(node)
    client.log_in("alice@eng.acme.test", "alice-password", scopes=SCOPES, allow_http=True)
    return client


async def test_mastodon_py_resolves_and_follows_an_account_on_another_node(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    eng, sales = nodes
    client = _alice(eng)
    # When alice resolves bob's handle on sales and follows him
    found = client.search_v2(f"bob@{sales.domain}", resolve=True, result_type="accounts")
    assert [a.acct for a in found.accounts] == [f"bob@{sales.domain}"]
    bob = found.accounts[0]
    relationship = client.account_follow(bob.id)
    assert relationship.following or relationship.requested

    # Then sales accepts, and the relationship says she follows him
    async def following() -> bool:
        return bool(client.account_relationships(bob.id)[0].following)

    await eventually(following, timeout=60, what="sales to accept alice's follow of bob")


async def test_mastodon_py_reads_a_follow_notification_from_another_node(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    eng, sales = nodes
    client = _alice(eng)
    # Given bob on sales follows alice on eng
    await follow_remote(sales, "bob", f"alice@{eng.domain}")

    # Then Mastodon.py lists the follow among her notifications
    async def follows_seen() -> list[str]:
        return [n.account.acct for n in client.notifications(types=["follow"])]

    assert await eventually(follows_seen, timeout=60, what="bob's follow notification") == [f"bob@{sales.domain}"]


def test_mastodon_py_reads_favourites_and_conversations(node: NodeProcess) -> None:
    client = _alice(node)
    # Given a direct note alice writes to herself, and a post she favourites
    note = client.status_post(f"a note to myself {secrets.token_hex(4)}", visibility="direct")
    liked = client.status_post("worth keeping", visibility="public")
    client.status_favourite(liked.id)
    # When Mastodon.py reads her favourites and conversations, each entity parses
    assert liked.id in [s.id for s in client.favourites()]
    mine = next(c for c in client.conversations() if c.last_status and c.last_status.id == note.id)
    # Then the conversation with herself alone names her, and marking it read answers it read
    assert [a.username for a in mine.accounts] == ["alice"] and mine.unread is False
    assert client.conversations_read(mine.id).id == mine.id


def _signed_in(node: NodeProcess, username: str) -> mastodon.Mastodon:
    client = _registered(node)
    client.log_in(username, f"{username}-password", scopes=SCOPES, allow_http=True)
    return client


@pytest.mark.parametrize(("which", "username"), [(0, "alice"), (1, "bob")], ids=["sqlite", "second-engine"])
def test_mastodon_py_uploads_posts_reads_back_and_describes_a_picture(
    nodes: tuple[NodeProcess, NodeProcess], which: int, username: str
) -> None:
    # Given Mastodon.py signed in (alice on eng, SQLite; bob on sales, PostgreSQL when the run has it)
    client = _signed_in(nodes[which], username)
    photo = media_files.picture("JPEG", (1200, 800))
    # When it uploads a JPEG with alt text and a focal point, and posts with it
    uploaded = client.media_post(io.BytesIO(photo), mime_type="image/jpeg", file_name="harbour.jpg",
                                 description="the harbour at dawn", focus=(0.25, -0.5))
    assert uploaded.type == "image" and uploaded.description == "the harbour at dawn"
    status = client.status_post("", media_ids=[uploaded], visibility="public")
    # Then reading the status back shows the attachment in Mastodon's shape
    [shown] = client.status(status.id).media_attachments
    assert (shown.id, shown.type, shown.description, shown.remote_url) == (uploaded.id, "image", "the harbour at dawn",
                                                                        None)
    assert (shown.meta.original.width, shown.meta.original.height) == (1200, 800)
    assert shown.meta.small.width == 640 and (shown.meta.focus.x, shown.meta.focus.y) == (0.25, -0.5)
    assert shown.blurhash and shown.preview_url
    # And its url answers with a JPEG's bytes (without credentials, as an app loads it), its preview too
    for url in (shown.url, shown.preview_url):
        resp = requests.get(url, timeout=30)
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/jpeg"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert Image.open(io.BytesIO(resp.content)).format == "JPEG"
    # When it changes the description (PUT /api/v1/media/:id) of a fresh upload
    draft = client.media_post(io.BytesIO(media_files.picture("PNG", (300, 200))), mime_type="image/png", description="first")
    changed = client.media_update(draft, description="a better description", focus=(0.0, 1.0))
    # Then the change is kept, and read back as such
    assert changed.description == "a better description" and (changed.meta.focus.x, changed.meta.focus.y) == (0.0, 1.0)
    assert client.media(draft).description == "a better description"


async def test_a_picture_posted_on_one_node_shows_with_alt_text_and_blurhash_on_a_followers_node(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    """Needs outbound attachments (media-fed: node/media_out.py, the fan-out's note carrying the
    post's Documents); the bytes of a followers-only picture at the follower's node need
    media-fed's `media.remote = "cache"` (a signed fetch), not asserted here."""
    eng, sales = nodes
    # Given bob on sales follows alice on eng, accepted
    await follow_remote(sales, "bob", f"alice@{eng.domain}")
    alice, bob = _alice(eng), _signed_in(sales, "bob")

    async def accepted() -> bool:
        return any(a.acct == f"alice@{eng.domain}" for a in bob.account_following(bob.me().id))

    await eventually(accepted, timeout=60, what="eng to accept bob's follow of alice")
    # When alice posts a public picture and a followers-only one, each with alt text, by Mastodon.py
    posted = {}
    for visibility in ("public", "private"):
        upload = alice.media_post(io.BytesIO(media_files.picture("JPEG", (1000, 750))), mime_type="image/jpeg",
                                  description=f"the {visibility} whiteboard", focus=(0.5, 0.5))
        posted[visibility] = alice.status_post(f"whiteboard ({visibility})", media_ids=[upload], visibility=visibility)

    # Then both reach bob's home on sales, each picture with its alt text, blurhash and sizes
    async def both_on_home() -> dict[str, dict]:
        found = {s.content: s for s in bob.timeline_home(limit=40) if "whiteboard" in s.content}
        return found if len(found) == 2 else {}

    on_sales = await eventually(both_on_home, timeout=60, what="alice's two pictures on bob's home")
    for visibility, status in posted.items():
        [sent] = status.media_attachments
        [shown] = on_sales[f"<p>whiteboard ({visibility})</p>"].media_attachments
        assert (shown.type, shown.description, shown.blurhash) == ("image", f"the {visibility} whiteboard", sent.blurhash)
        assert (shown.meta.original.width, shown.meta.original.height) == (1000, 750)
        assert shown.remote_url.startswith(f"{eng.base_url}/media/")
    # And the public picture's bytes are readable from where sales shows it
    [public] = on_sales["<p>whiteboard (public)</p>"].media_attachments
    resp = requests.get(public.url, timeout=30)
    assert resp.status_code == 200 and Image.open(io.BytesIO(resp.content)).size == (1000, 750)
    # And the followers-only picture is not readable by an unsigned client at eng's bare address
    [private] = on_sales["<p>whiteboard (private)</p>"].media_attachments
    assert requests.get(private.remote_url, timeout=30).status_code == 404
