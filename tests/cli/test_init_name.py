"""`atrium init --name`: the name people read for a node, stored with the node and shown on its
pages from the first sign-in (issue #15, "Nodes have no names")."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from atrium.assembly import context_for
from node import node_names, shared_settings
from node.settings import load
from storage.db import Database
from tests.cli.conftest import assert_one_line_error, init_args, run
from tests.federation.nodes import free_port
from web.app import create_app


def test_init_stores_the_name_and_the_sign_in_page_shows_it(
    tmp_path: Path, node_db_url: str | None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a data directory named by ATRIUM_DATA_DIR (as every command accepts)
    data_dir = tmp_path / "eng"
    monkeypatch.setenv("ATRIUM_DATA_DIR", str(data_dir))
    port = free_port()
    args = init_args(data_dir, node_db_url, domain=f"127.0.0.1:{port}")
    args.remove("--data-dir")
    args.remove(str(data_dir))
    # When the node is created with a name
    code, out, err = run(capsys, *args, "--scheme", "http", "--name", "  Acme   Engineering ")
    # Then init says so, and the name is stored (spaces tidied) for every process of the node
    assert code == 0, err
    assert "Created Atrium node 127.0.0.1:" in out and "(Acme Engineering)" in out

    async def check() -> tuple[str | None, str, str]:
        settings = load(data_dir)
        db = Database(settings.resolved_database_url)
        try:
            stored = await shared_settings.read(db, shared_settings.NAME)
            ctx = context_for(settings, db)
            client = TestClient(TestServer(create_app(ctx), host="127.0.0.1", port=port))
            await client.start_server()
            try:
                page = await (await client.get("/signin")).text()
            finally:
                await client.close()
            return (stored.value if stored else None), page, await node_names.own_name(ctx)
        finally:
            await db.dispose()

    stored, page, name = asyncio.run(check())
    assert stored == "Acme Engineering" and name == "Acme Engineering"
    # And the sign-in page greets people with the name, the address kept beside it
    assert "<h1>Sign in to Acme Engineering</h1>" in page
    assert f"127.0.0.1:{port}</p>" in page


@pytest.mark.parametrize(
    "name, reason",
    [("Acme\x07Engineering", "control or invisible"), ("x" * 101, "at most 100 characters")],
)
def test_init_refuses_an_unusable_name_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, reason: str
) -> None:
    # When init is given a name with a control character, or one too long
    code, _, err = run(capsys, "init", "--data-dir", str(tmp_path / "n"), "--domain", "ok.test", "--name", name)
    # Then it says why in one line and makes nothing
    assert_one_line_error(code, err)
    assert reason in err
    assert not (tmp_path / "n").exists()
    assert not os.path.exists(tmp_path / "n" / "atrium.db")
