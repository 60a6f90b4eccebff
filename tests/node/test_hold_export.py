"""A held post, end to end on one node: sealed by the real removal path when its author
deletes it (node/post_effects.py → node/sealing.py), gone for everyone, and found — with its
edit history and its attachment's bytes — in the case's eDiscovery export, which verifies.
(Issue #21: "a post on hold survives … the author's delete … and appears in the export".)"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from node import export_ediscovery, holds, media, posts
from node.audience import Audience
from node.context import NodeContext
from node.export_zip import load_public_key, verify_archive
from node.instance import create_instance, get_instance
from node.posts import NewPost
from storage.errors import NotFound
from storage.models import Account
from tests import media_files
from tests.node.conftest import DOMAIN


async def test_a_held_post_deleted_by_its_author_is_in_the_case_export(
    ctx: NodeContext, alice: Account, bob: Account, tmp_path: Path
) -> None:
    # Given alice is held under a case, and wrote an organisation post with a picture, edited once
    await create_instance(ctx.db, DOMAIN)
    await holds.place_hold(ctx, "acme-v-globex", "alice", "litigation", "@root")
    chart = await media.upload(ctx, alice, media.Upload(media_files.picture("PNG", (40, 30)), "chart.png"),
                               description="the chart")
    post = await posts.create_post(ctx, alice, NewPost("draft numbers", visibility=Audience.ORGANIZATION,
                                                       media_ids=(chart.id,)))
    await posts.edit_post(ctx, alice, post.id, "final numbers")
    # When she deletes it
    await posts.delete_post(ctx, alice, post.id)
    # Then nobody reads it here any more
    with pytest.raises(NotFound):
        await posts.get_post(ctx, bob, post.id)
    # When the case is exported
    out = tmp_path / "case.zip"
    done = await export_ediscovery.export(ctx, await export_ediscovery.hold_scope(ctx, "acme-v-globex"), out)
    # Then the archive verifies against the node's key
    verify_archive(out, load_public_key((await get_instance(ctx.db)).public_key_pem))
    # And it holds the sealed post as it was, with its edit history and its picture's bytes
    with zipfile.ZipFile(out) as z:
        [sealed] = [json.loads(line) for line in z.read("sealed_posts.jsonl").splitlines()]
        snapshot = sealed["snapshot"]
        assert sealed["uri"] == post.uri and sealed["cause"] == "author-delete"
        assert snapshot["post"]["source"] == "final numbers"
        assert [e["source"] for e in snapshot["edits"]] == ["draft numbers"]
        [picture] = snapshot["media"]
        assert picture["description"] == "the chart"
        assert ctx.media is not None
        assert z.read(picture["file"]) == await ctx.media.get(picture["store_key"])
    assert done.counts["sealed_posts"] == 1 and not done.missing_media
