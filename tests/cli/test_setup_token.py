"""What `atrium init` says about its one-time setup token is true whichever way the first admin
is made: by the token on the first-run page, or by `atrium user create --admin`, which retires
the token (it must not make an admin later from a log it was printed in)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from atrium.assembly import context_for
from node import accounts
from node.settings import load
from storage.db import Database
from storage.errors import Forbidden
from tests.cli.conftest import init_args, run
from web.app import create_app


def _token(out: str) -> str:
    tokens = re.findall(r"setup token[^:]*: (\S+)", out)
    assert len(tokens) == 1
    return tokens[0]


async def _claim(data_dir: Path, token: str, username: str) -> None:
    settings = load(data_dir)
    db = Database(settings.resolved_database_url)
    try:
        await accounts.claim_first_admin(context_for(settings, db), token, username, f"{username}-password")
    finally:
        await db.dispose()


async def _pages(data_dir: Path) -> dict[str, Any]:
    """Where `/` leads someone not signed in, and the words of /setup."""
    settings = load(data_dir)
    db = Database(settings.resolved_database_url)
    client = TestClient(TestServer(create_app(context_for(settings, db)), host="127.0.0.1"))
    await client.start_server()
    try:
        root = await client.get("/", allow_redirects=False)
        setup = await client.get("/setup")
        return {"root": root.headers.get("Location"), "setup": await setup.text()}
    finally:
        await client.close()
        await db.dispose()


def test_init_says_the_token_makes_the_first_admin_unless_the_cli_does(
    tmp_path: Path, node_db_url: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a node is created
    code, out, err = run(capsys, *init_args(tmp_path / "eng", node_db_url))
    assert code == 0, err
    # Then the token is said to be for the first-run page, and not needed if the CLI makes the admin
    line = next(line for line in out.splitlines() if "setup token" in line)
    assert "first-run page" in line and "atrium user create NAME --admin" in line
    assert "first sign-in uses it" not in line  # the old words, untrue after `user create --admin`
    _token(out)


def test_an_admin_made_by_the_cli_retires_the_setup_token(
    tmp_path: Path, node_db_url: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a fresh node and its setup token
    data_dir = tmp_path / "eng"
    code, out, err = run(capsys, *init_args(data_dir, node_db_url))
    assert code == 0, err
    token = _token(out)
    assert asyncio.run(_pages(data_dir))["root"] == "/setup"
    # When the operator makes alice an admin from the command line
    code, out, err = run(capsys, "user", "create", "alice", "--admin", "--password-stdin", "--data-dir", str(data_dir),
                         stdin="alice-password\n")
    assert code == 0, err
    # Then the command says the token is no longer needed, and the web UI sends people to sign in
    assert "created admin alice@" in out and "setup token" in out and "no longer needed" in out
    pages = asyncio.run(_pages(data_dir))
    assert pages["root"] == "/signin"
    assert "no longer works" in pages["setup"] and "atrium user create NAME --admin" in pages["setup"]
    assert "the setup token has been used" not in pages["setup"]  # it was not
    # And the token makes no admin, even once alice is no admin any more
    code, _, err = run(capsys, "user", "set-role", "alice", "user", "--data-dir", str(data_dir))
    assert code == 0, err
    with pytest.raises(Forbidden, match="already been set up"):
        asyncio.run(_claim(data_dir, token, "mallory"))
    code, out, _ = run(capsys, "user", "list", "--data-dir", str(data_dir))
    assert "mallory" not in out


def test_set_role_admin_retires_the_setup_token_too(
    tmp_path: Path, node_db_url: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a fresh node with a user made admin by set-role
    data_dir = tmp_path / "eng"
    code, out, err = run(capsys, *init_args(data_dir, node_db_url))
    token = _token(out)
    code, _, err = run(capsys, "user", "create", "bob", "--password-stdin", "--data-dir", str(data_dir), stdin="bob-password\n")
    assert code == 0, err
    code, _, err = run(capsys, "user", "set-role", "bob", "admin", "--data-dir", str(data_dir))
    assert code == 0, err
    # Then the token no longer makes an admin
    with pytest.raises(Forbidden, match="already been set up"):
        asyncio.run(_claim(data_dir, token, "mallory"))


def test_the_token_still_makes_the_first_admin_when_the_cli_made_none(
    tmp_path: Path, node_db_url: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a fresh node where the CLI made only an ordinary user
    data_dir = tmp_path / "eng"
    code, out, err = run(capsys, *init_args(data_dir, node_db_url))
    token = _token(out)
    code, out, err = run(capsys, "user", "create", "carol", "--password-stdin", "--data-dir", str(data_dir), stdin="carol-password\n")
    assert code == 0 and "setup token" not in out, err
    # Then the first-run page is still where `/` leads, and the token makes the admin
    assert asyncio.run(_pages(data_dir))["root"] == "/setup"
    asyncio.run(_claim(data_dir, token, "admin"))
    code, out, _ = run(capsys, "user", "list", "--data-dir", str(data_dir))
    assert re.search(r"^admin\s+admin\s", out, re.M), out
