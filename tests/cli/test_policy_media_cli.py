"""`atrium policy explain` says what happens to a post's media, both ways, on both engines."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from node import settings as settings_mod
from storage.db import Database
from storage.media_store import new_key
from storage.models import Post
from storage.models.media import MediaAttachment, MediaKind, MediaState
from tests.cli.conftest import run
from tests.cli.test_policy_cli import _post

POLICY = """mode = "allowlist"

[peers."sales.acme.example"]
trust = "organization"

[peers."partner.example"]
trust = "partner"
withhold_media = true

[peers."photos.example"]
trust = "public"
reject_media = true

[[rules]]
name = "confidential"
pattern = "(?i)confidential"
"""


@pytest.fixture
def media_node(node_dir: Path) -> Path:
    (node_dir / "policy.toml").write_text(POLICY)
    return node_dir


def _post_with_picture(node_dir: Path, text: str, alt: str) -> str:
    """A public post of alice's (test_policy_cli's `_post`) with one ready picture attached."""
    post_id = _post(node_dir, text, "public")

    async def attach() -> None:
        db = Database(settings_mod.load(node_dir).resolved_database_url)
        try:
            async with db.session() as s:
                post = await s.get(Post, int(post_id))
                assert post is not None
                s.add(MediaAttachment(account_id=post.account_id, post_id=post.id, kind=MediaKind.IMAGE,
                                      state=MediaState.READY, content_type="image/png", storage_key=new_key("png"),
                                      description=alt))
        finally:
            await db.dispose()

    asyncio.run(attach())
    return post_id


def explain(capsys: pytest.CaptureFixture[str], node_dir: Path, *args: str) -> tuple[dict[str, object], str]:
    code, out, err = run(capsys, "policy", "explain", "--data-dir", str(node_dir), *args, "--json")
    assert code == 0, err
    _, words, _ = run(capsys, "policy", "explain", "--data-dir", str(node_dir), *args)
    return json.loads(out), words


def test_explain_a_post_says_where_its_media_goes(media_node: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a public post with a picture
    post_id = _post_with_picture(media_node, "Team photo", "Everyone at the offsite")
    # When explained for a peer that has media withheld, and for one that does not
    withheld, words = explain(capsys, media_node, "--post", post_id, "--peer", "partner.example")
    sent, _ = explain(capsys, media_node, "--post", post_id, "--peer", "sales.acme.example")
    # Then the post goes to both; the picture only to the second, each with its rule
    assert withheld["decision"] == "allowed" and withheld["media"] == {
        "attachments": 1, "decision": "withheld", "rule": 'peers."partner.example".withhold_media',
        "reason": "attachments are withheld from partner.example"}
    assert "media: 1 attachment(s) withheld" in words
    assert sent["media"]["decision"] == "go with it"  # type: ignore[index]


def test_explain_a_post_whose_alt_text_a_content_rule_holds(media_node: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given harmless text with a picture described as confidential
    post_id = _post_with_picture(media_node, "Look at this", "CONFIDENTIAL whiteboard")
    # When explained for the partner  # Then the post is refused by the content rule
    answer, _ = explain(capsys, media_node, "--post", post_id, "--peer", "partner.example")
    assert (answer["decision"], answer["rule"], answer["media"]) == ("refused", 'rules."confidential"', None)


def test_explain_an_inbound_post_says_what_happens_to_its_media(media_node: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # Given a peer's Create with a picture
    def create(host: str) -> Path:
        note = {"id": f"https://{host}/n/1", "type": "Note", "attributedTo": f"https://{host}/u/p", "content": "hi",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "attachment": [{"type": "Document", "mediaType": "image/jpeg", "url": f"https://{host}/m/1.jpg"}]}
        path = tmp_path / f"{host}.json"
        path.write_text(json.dumps({"id": f"https://{host}/a/1", "type": "Create", "actor": f"https://{host}/u/p",
                                    "object": note}))
        return path
    # When explained for a peer whose rule rejects media, and for one that does not
    dropped, words = explain(capsys, media_node, "--peer", "photos.example", "--inbound", str(create("photos.example")))
    kept, _ = explain(capsys, media_node, "--peer", "partner.example", "--inbound", str(create("partner.example")))
    # Then the first keeps the text and drops the picture; the second keeps both
    assert dropped["decision"] == "rewritten" and dropped["media"] == {
        "attachments": 1, "decision": "dropped", "rule": 'peers."photos.example".reject_media',
        "reason": "attachments from photos.example are dropped"}
    assert "media: 1 attachment(s) dropped" in words
    assert kept["decision"] == "accepted" and kept["media"]["decision"] == "kept"  # type: ignore[index]
