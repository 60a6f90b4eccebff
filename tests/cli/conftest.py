"""CLI fixtures: run `atrium` in-process and a fresh node on the engine under test."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from atrium.cli import main
from tests.conftest import drop_pg_database, recreate_pg_database, worker_tag


@pytest.fixture
def node_db_url(engine_name: str, tmp_path: Path) -> Iterator[str | None]:
    """None for the SQLite default in the data dir, else a fresh PostgreSQL database."""
    if engine_name == "sqlite":
        yield None
        return
    name = f"atrium_cli_{worker_tag()}"
    yield recreate_pg_database(name)
    drop_pg_database(name)


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    finally:
        sys.stdin = sys.__stdin__
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str) -> None:
    assert code != 0
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("atrium: ")


def init_args(data_dir: Path, url: str | None, domain: str = "eng.acme.test") -> list[str]:
    args = ["init", "--data-dir", str(data_dir), "--domain", domain]
    return args + (["--database-url", url] if url else [])


@pytest.fixture
def node_dir(tmp_path: Path, node_db_url: str | None, capsys: pytest.CaptureFixture[str]) -> Path:
    data_dir = tmp_path / "node"
    code, _, err = run(capsys, *init_args(data_dir, node_db_url))
    assert code == 0, err
    return data_dir


