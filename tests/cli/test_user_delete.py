"""`atrium user delete`: with --yes, after the username typed on a real terminal (a pty), and
refused with one line when there is neither (stdin not a terminal)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_line_error, run

ATRIUM = [sys.executable, "-m", "atrium"]


def _users(capsys: pytest.CaptureFixture[str]) -> list[str]:
    code, out, _ = run(capsys, "user", "list")
    assert code == 0
    return [line.split()[0] for line in out.strip().splitlines()[1:]]


def test_delete_with_yes_reserves_the_name_and_twice_is_harmless(
    node_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a node with alice and bob (ATRIUM_DATA_DIR standing in for --data-dir)
    monkeypatch.setenv("ATRIUM_DATA_DIR", str(node_dir))
    for name in ("alice", "bob"):
        assert run(capsys, "user", "create", name, "--password", f"{name}-password")[0] == 0
    # When the admin deletes alice with --yes
    code, out, err = run(capsys, "user", "delete", "alice", "--yes", "--reason", "left")
    # Then she is gone from the list, and her name cannot be taken again
    assert code == 0, err
    assert out.startswith("deleted alice: 0 posts removed, 0 peers told")
    assert _users(capsys) == ["bob"]
    code, _, err = run(capsys, "user", "create", "Alice", "--password", "another-password")
    assert_one_line_error(code, err)
    assert "the name alice belonged to a deleted account and cannot be reused" in err
    # And deleting her again changes nothing and is no error; an unknown name is one line
    assert run(capsys, "user", "delete", "alice", "--yes")[0] == 0
    code, _, err = run(capsys, "user", "delete", "nobody", "--yes", "--data-dir", str(node_dir))
    assert_one_line_error(code, err)
    assert "no such user: nobody" in err


def test_delete_without_yes_and_without_a_terminal_is_refused(
    node_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given alice; When the admin pipes the command without --yes
    monkeypatch.setenv("ATRIUM_DATA_DIR", str(node_dir))
    assert run(capsys, "user", "create", "alice", "--password", "alice-password")[0] == 0
    code, _, err = run(capsys, "user", "delete", "alice", stdin="alice\n")
    # Then it is refused in one line, and alice is still there
    assert_one_line_error(code, err)
    assert "pass --yes" in err
    assert _users(capsys) == ["alice"]


def _on_a_terminal(node_dir: Path, typed: str) -> tuple[int, str]:
    """`atrium user delete alice` in a real process whose stdin and stdout are a pty."""
    leader, follower = pty.openpty()
    env = {**os.environ, "ATRIUM_DATA_DIR": str(node_dir)}
    proc = subprocess.Popen([*ATRIUM, "user", "delete", "alice"], stdin=follower, stdout=follower,
                            stderr=follower, env=env)
    os.close(follower)
    os.write(leader, typed.encode() + b"\n")
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the process ended and closed its side
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    return proc.wait(timeout=60), seen.decode(errors="replace")


def test_delete_on_a_terminal_asks_for_the_username(
    node_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given alice
    monkeypatch.setenv("ATRIUM_DATA_DIR", str(node_dir))
    assert run(capsys, "user", "create", "alice", "--password", "alice-password")[0] == 0
    # When the admin, asked on a terminal, types another name; Then nothing is deleted
    code, seen = _on_a_terminal(node_dir, "alicia")
    assert code == 1 and "Type alice to delete it" in seen and "not deleted" in seen
    assert _users(capsys) == ["alice"]
    # When the admin types her name; Then she is deleted
    code, seen = _on_a_terminal(node_dir, "alice")
    assert code == 0, seen
    assert "deleted alice" in seen
    assert _users(capsys) == []
