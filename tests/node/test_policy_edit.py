"""node/policy_edit.py `apply`, the one way `atrium policy apply` and the admin's editor change
the policy in force: the file it writes, what it refuses, and the difference it shows. Both
engines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from node import policy_edit, shared_settings
from storage.db import Database

ONE = 'mode = "allowlist"\n[peers."a.example"]\ntrust = "partner"\n'
TWO = 'mode = "allowlist"\n[peers."a.example"]\ntrust = "blocked"\n'


async def test_a_policy_toml_linked_into_a_checkout_stays_a_link(db: Database, tmp_path: Path) -> None:
    # Given the data directory's policy.toml is a link to the operator's version-controlled copy
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "policy.toml").write_text(ONE)
    data = tmp_path / "data"
    data.mkdir()
    (data / "policy.toml").symlink_to(checkout / "policy.toml")
    # When a new policy is applied with the file written
    applied = await policy_edit.apply(db, TWO, source="test", file=data / "policy.toml")
    # Then the link stays, and the copy it points to holds the new text
    assert applied.changed and (data / "policy.toml").is_symlink()
    assert (checkout / "policy.toml").read_text() == TWO
    assert sorted(os.listdir(checkout)) == ["policy.toml"]


async def test_a_file_that_cannot_be_written_applies_nothing(db: Database, tmp_path: Path) -> None:
    # Given a policy in force, and a policy.toml whose folder is not one (root may write anywhere else)
    await policy_edit.apply(db, ONE, source="test")
    (tmp_path / "data").write_text("a file where the data directory should be")
    # When another policy is applied with the file written
    with pytest.raises(policy_edit.PolicyFileUnwritable, match="cannot be written .*; nothing was applied"):
        await policy_edit.apply(db, TWO, source="test", file=tmp_path / "data" / "policy.toml")
    # Then the policy in force is still the old one
    shared = await policy_edit.in_force(db)
    assert shared is not None and shared.value == ONE and shared.version == 1


async def test_invalid_or_too_large_text_applies_nothing(db: Database, tmp_path: Path) -> None:
    await policy_edit.apply(db, ONE, source="test")
    with pytest.raises(policy_edit.PolicyProblems) as problems:
        await policy_edit.apply(db, TWO.replace("blocked", "sure"), source="test", file=tmp_path / "policy.toml")
    assert policy_edit.problem_lines(problems.value.problems) == [
        "policy.toml:3: peers.a.example: trust must be one of organization, partner, public, limited, blocked, not 'sure'"]
    with pytest.raises(policy_edit.PolicyTooLarge):
        await policy_edit.apply(db, "# " + "x" * policy_edit.MAX_BYTES, source="test")
    assert await shared_settings.version(db, shared_settings.POLICY) == 1
    assert not (tmp_path / "policy.toml").exists()


def test_the_difference_numbers_both_sides() -> None:
    lines = policy_edit.diff(ONE, TWO + "# new\n")
    assert [(d.kind, d.old, d.new, d.text) for d in lines] == [
        ("hunk", None, None, "In force lines 1–3, new lines 1–4"),
        ("same", 1, 1, 'mode = "allowlist"'),
        ("same", 2, 2, '[peers."a.example"]'),
        ("removed", 3, None, 'trust = "partner"'),
        ("added", None, 3, 'trust = "blocked"'),
        ("added", None, 4, "# new"),
    ]
