"""`atrium keys rotate`: new key pairs in the database, an Update queued for each rotated actor,
the key id unchanged; bad input is one line and changes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from atrium.assembly import context_for
from node import accounts
from node.actors import instance_document, person_document
from node.federate import FANOUT
from node.instance import get_instance
from node.settings import load
from storage.db import Database
from storage.models import Job
from tests.cli.conftest import assert_one_line_error, run


@dataclass
class Keys:
    instance: str
    users: dict[str, str | None]  # username -> private key PEM (None: not made yet)
    fanouts: list[dict[str, object]]
    key_ids: dict[str, str]  # actor -> the key id its document publishes


def _snapshot(data_dir: Path, *, make_keys: tuple[str, ...] = ()) -> Keys:
    async def go() -> Keys:
        settings = load(data_dir)
        db = Database(settings.resolved_database_url)
        try:
            ctx = context_for(settings, db)
            for username in make_keys:
                await accounts.ensure_keys(ctx, (await accounts.get_local(ctx, username)).id)
            users = {a.username: a.private_key_pem for a in await accounts.list_users(ctx)}
            async with db.reader() as s:
                jobs = [json.loads(j.payload) for j in await s.scalars(select(Job).where(Job.queue == FANOUT).order_by(Job.id))]
            key_ids = {"instance": (await instance_document(ctx))["publicKey"]["id"]}  # type: ignore[index]
            for a in await accounts.list_users(ctx):
                if a.private_key_pem:
                    key_ids[a.username] = (await person_document(ctx, a))["publicKey"]["id"]  # type: ignore[index]
            return Keys((await get_instance(db)).private_key_pem, users, jobs, key_ids)
        finally:
            await db.dispose()

    return asyncio.run(go())


@pytest.fixture
def node_with_users(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    for username in ("alice", "bob", "carol"):
        code, _, err = run(capsys, "user", "create", username, "--password-stdin", "--data-dir", str(node_dir),
                           stdin="a-long-password\n")
        assert code == 0, err
    _snapshot(node_dir, make_keys=("alice", "bob"))  # carol has never federated: no keys yet
    return node_dir


def test_rotating_an_account_replaces_its_key_and_queues_its_update(
    node_with_users: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given alice and bob with keys
    before = _snapshot(node_with_users)
    # When alice's key is rotated
    code, out, err = run(capsys, "keys", "rotate", "--account", "alice", "--data-dir", str(node_with_users))
    # Then only alice has a new private key, under the same key id, and an Update of her is queued
    assert code == 0, err
    assert "rotated the key of alice@eng.acme.test" in out
    after = _snapshot(node_with_users)
    assert after.users["alice"] and after.users["alice"] != before.users["alice"]
    assert after.users["bob"] == before.users["bob"]
    assert after.instance == before.instance
    assert after.key_ids == before.key_ids
    assert after.key_ids["alice"].endswith("/users/alice#main-key")
    new = after.fanouts[len(before.fanouts):]
    assert [j["kind"] for j in new] == ["ActorUpdate"]


def test_rotating_the_instance_replaces_its_key_and_queues_its_update(
    node_with_users: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(node_with_users)
    # When the instance key is rotated
    code, out, err = run(capsys, "keys", "rotate", "--instance", "--data-dir", str(node_with_users))
    # Then the instance has a new key under the same id; the accounts keep theirs
    assert code == 0, err
    assert "the instance actor" in out
    after = _snapshot(node_with_users)
    assert "BEGIN PRIVATE KEY" in after.instance and after.instance != before.instance
    assert after.users == before.users
    assert after.key_ids == before.key_ids and after.key_ids["instance"].endswith("/actor#main-key")
    assert [j["kind"] for j in after.fanouts[len(before.fanouts):]] == ["InstanceUpdate"]


def test_rotating_all_covers_the_instance_and_every_account_with_keys(
    node_with_users: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(node_with_users)
    # When every key is rotated
    code, out, err = run(capsys, "keys", "rotate", "--all", "--data-dir", str(node_with_users))
    assert code == 0, err
    # Then the instance, alice and bob have new keys; carol (never had keys) still makes hers on first need
    after = _snapshot(node_with_users)
    assert after.instance != before.instance
    assert after.users["alice"] != before.users["alice"] and after.users["bob"] != before.users["bob"]
    assert after.users["carol"] is None
    assert sorted(str(j["kind"]) for j in after.fanouts[len(before.fanouts):]) == ["ActorUpdate", "ActorUpdate", "InstanceUpdate"]
    assert out.count("rotated the key of") == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--account", "nobody"], "atrium: no such user: nobody"),
        ([], "one of the arguments --account --instance --all is required"),
        (["--account", "alice", "--instance"], "not allowed with argument"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    node_with_users: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = _snapshot(node_with_users)
    # When the command is given an unknown user, no target or two targets
    code, _, err = run(capsys, "keys", "rotate", *argv, "--data-dir", str(node_with_users))
    # Then it fails in one line and no key changed, no Update was queued
    assert_one_line_error(code, err)
    assert message in err
    assert _snapshot(node_with_users) == before
