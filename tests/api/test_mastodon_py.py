"""Mastodon.py (a real client library) against a real `atrium serve` process on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mastodon  # noqa: E402 - Mastodon.py 2.3.3, a test dependency (pyproject.toml)
import pytest

from tests.federation.nodes import NodeProcess


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    root: Path = tmp_path_factory.mktemp("mastodon_py")
    process = NodeProcess("eng", root)
    process.init()
    process.create_user("alice", "--email", "alice@eng.acme.test")
    process.start()
    try:
        yield process
    finally:
        process.stop()


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
