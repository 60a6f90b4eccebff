"""The README's recipes for a node by hand, run as written: each command of its code block in a
shell, in a fresh directory, with only what this machine needs changed (the `atrium` program,
free ports, the test PostgreSQL's address) — then what the prose promises is checked."""

from __future__ import annotations

import asyncio
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ENGINES, POSTGRES_URL, drop_pg_database, worker_tag
from tests.factory import free_port

ROOT = Path(__file__).resolve().parent.parent
ATRIUM = f"{shlex.quote(sys.executable)} -m atrium"


def recipe(heading: str) -> list[str]:
    """The commands of the first sh block under the README heading `### {heading}`."""
    readme = (ROOT / "README.md").read_text()
    assert f"\n### {heading}\n" in readme, f"the README has no section {heading!r}"
    section = readme.split(f"\n### {heading}\n", 1)[1].split("\n#", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, f"no sh block under {heading!r}"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]


def adapted(commands: list[str], changes: dict[str, str]) -> list[str]:
    """The commands with each of `changes` made; every change must apply somewhere, so a README
    edit the test does not follow fails here rather than testing something else."""
    text = "\n".join(commands)
    for old, new in changes.items():
        assert old in text, f"the recipe no longer says {old!r}"
        text = text.replace(old, new)
    return text.splitlines()


def wait_ready(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90  # generous: a shared machine
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        assert proc.poll() is None, f"serve exited: {proc.stdout.read() if proc.stdout else ''}"
        assert time.monotonic() < deadline, "the node did not become ready"
        time.sleep(0.2)


@contextmanager
def run_recipe(commands: list[str], cwd: Path, port: int) -> Iterator[list[str]]:
    """Run each command in bash; `serve` (the last) stays running until the block ends. Yields
    what the commands before it printed."""
    *setup, serve = commands
    assert " serve " in f"{serve} "
    outputs = []
    for command in setup:
        done = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"`{command}` failed: {done.stderr}"
        outputs.append(done.stdout)
    proc = subprocess.Popen(["bash", "-c", f"exec {serve}"], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        wait_ready(port, proc)
        yield outputs
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out
    assert "Traceback" not in out


async def sign_in(base: str, login: str, password: str) -> str:
    """Sign in through the web UI's form as a browser would; the page that follows."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{base}/") as r:
            assert r.status == 200 and r.url.path == "/signin", r.url  # no first-run page: alice is admin
            csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text())
        assert csrf is not None
        form = {"csrf": csrf.group(1), "next": "/", "login": login, "password": password}
        async with session.post(f"{base}/signin", data=form) as r:
            assert r.status == 200 and r.url.path == "/", await r.text()
            return await r.text()


def test_one_real_node_on_this_machine(tmp_path: Path) -> None:
    # Given the README's recipe for a node on loopback, on a free port
    port = free_port()
    commands = adapted(recipe("One real node on this machine"), {
        ".venv/bin/atrium": ATRIUM,
        "127.0.0.1:8080": f"127.0.0.1:{port}",
    })
    # When it is run as written
    with run_recipe(commands, tmp_path, port) as outputs:
        # Then alice is an admin, no setup token is needed, and she signs in in the browser
        assert f"created admin alice@127.0.0.1:{port}" in outputs[1]
        page = asyncio.run(sign_in(f"http://127.0.0.1:{port}", "alice", "a long password"))
        assert 'action="/signout"' in page  # signed in
        assert '<span class="node">My node</span>' in page  # the name `init --name` gave it
    assert (tmp_path / "mynode" / "atrium.toml").is_file() and (tmp_path / "mynode" / "atrium.db").is_file()


@pytest.mark.skipif("postgresql" not in ENGINES, reason="the recipe is for PostgreSQL (ATRIUM_TEST_ENGINES)")
def test_one_node_on_postgresql(tmp_path: Path) -> None:
    # Given the README's PostgreSQL recipe, pointed at the test server and a database it lacks
    port = free_port()
    database = f"atrium_readme_{worker_tag()}"
    drop_pg_database(database)
    server = POSTGRES_URL.rsplit("/", 1)[0]
    commands = adapted(recipe("On PostgreSQL, behind a reverse proxy"), {
        ".venv/bin/atrium": ATRIUM,
        "postgresql+asyncpg://postgres@127.0.0.1:5432/eng": f"{server}/{database}",
        "--port 8000": f"--port {port}",
    })
    try:
        # When it is run as written
        with run_recipe(commands, tmp_path, port) as outputs:
            # Then init made the database, alice is an admin, and the node answers
            assert f"database: created {database}" in outputs[0]
            assert "created admin alice@eng.acme.example" in outputs[1]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/.well-known/nodeinfo", timeout=5) as r:
                assert "https://eng.acme.example/nodeinfo/2.1" in r.read().decode()
    finally:
        drop_pg_database(database)
