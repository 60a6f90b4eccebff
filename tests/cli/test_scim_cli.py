"""`atrium scim token create/list/revoke`: the token printed alone on the last line, kept only
hashed, listed by name (never the token), refused once revoked; bad input is one line and
changes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from atrium.assembly import context_for
from node import scim_tokens
from node.settings import load
from storage.db import Database
from storage.models import AuditEntry, ScimToken
from tests.cli.conftest import assert_one_line_error, run


def _on_node(data_dir: Path, fn):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        settings = load(data_dir)
        db = Database(settings.resolved_database_url)
        try:
            return await fn(context_for(settings, db))
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_create_prints_the_token_alone_on_its_last_line_and_keeps_only_its_hash(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When an admin makes a token for Entra ID
    code, out, err = run(capsys, "scim", "token", "create", "--name", "entra", "--data-dir", str(node_dir))
    # Then it is printed alone on the last line, after where the endpoint is
    assert code == 0, err
    token = out.strip().splitlines()[-1]
    assert token.startswith("atrium_scim_") and " " not in token
    assert "/scim/v2/" in out
    # And the database holds its SHA-256 only, and an audit entry
    async def rows(ctx):  # type: ignore[no-untyped-def]
        async with ctx.db.reader() as s:
            return ((await s.scalars(select(ScimToken))).all(),
                    (await s.scalars(select(AuditEntry).where(AuditEntry.rule == "scim:token-create"))).all())

    tokens, audits = _on_node(node_dir, rows)
    assert [(t.name, t.token_hash) for t in tokens] == [("entra", hashlib.sha256(token.encode()).hexdigest())]
    assert token not in str([t.__dict__ for t in tokens]) and len(audits) == 1
    # And the token opens the SCIM door
    assert _on_node(node_dir, lambda ctx: scim_tokens.authenticate(ctx, f"Bearer {token}")) == "entra"


def test_list_shows_names_and_states_never_tokens_and_revoke_closes_the_door(
    node_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two tokens, one made without a name
    _, out, _ = run(capsys, "scim", "token", "create", "--name", "okta", "--data-dir", str(node_dir))
    okta = out.strip().splitlines()[-1]
    code, out, _ = run(capsys, "scim", "token", "create", "--data-dir", str(node_dir))
    assert code == 0
    # When the admin revokes okta's and lists them (through ATRIUM_DATA_DIR this time)
    code, out, err = run(capsys, "scim", "token", "revoke", "okta", "--data-dir", str(node_dir))
    assert code == 0 and "revoked" in out, err
    monkeypatch.setenv("ATRIUM_DATA_DIR", str(node_dir))
    code, listing, err = run(capsys, "scim", "token", "list")
    # Then okta's is listed as revoked, the other as active, and no token is shown
    assert code == 0, err
    lines = listing.strip().splitlines()
    assert any(line.startswith("okta ") and " revoked " in line for line in lines)
    assert any(line.startswith("scim-") and " active " in line for line in lines)
    assert okta not in listing and "atrium_scim_" not in listing
    # And a request carrying okta's token is refused with the reason
    with pytest.raises(scim_tokens.Unauthorized, match="revoked"):
        _on_node(node_dir, lambda ctx: scim_tokens.authenticate(ctx, f"Bearer {okta}"))


@pytest.mark.parametrize("argv", [
    ["scim", "token", "revoke", "nobody"],
    ["scim", "token", "create", "--name", "has space"],
])
def test_bad_input_is_one_line_and_changes_nothing(
    node_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, _, err = run(capsys, *argv, "--data-dir", str(node_dir))
    assert_one_line_error(code, err)
    assert _on_node(node_dir, scim_tokens.list_tokens) == []


def test_a_name_used_twice_and_a_second_revoke_are_refused(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "scim", "token", "create", "--name", "entra", "--data-dir", str(node_dir))[0] == 0
    code, _, err = run(capsys, "scim", "token", "create", "--name", "entra", "--data-dir", str(node_dir))
    assert_one_line_error(code, err)
    assert "already exists" in err
    assert run(capsys, "scim", "token", "revoke", "entra", "--data-dir", str(node_dir))[0] == 0
    code, _, err = run(capsys, "scim", "token", "revoke", "entra", "--data-dir", str(node_dir))
    assert_one_line_error(code, err)
    assert "already revoked" in err
    assert len(_on_node(node_dir, scim_tokens.list_tokens)) == 1


def test_without_a_data_dir_it_says_so_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "scim", "token", "list", "--data-dir", str(tmp_path / "none"))
    assert_one_line_error(code, err)
