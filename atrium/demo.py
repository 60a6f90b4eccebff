"""`atrium demo`: a sample organisation on loopback — three departments and a partner.

Each node is a real `atrium serve` process with its own data directory, database and policy;
the demo seeds them once (users, follows, posts in every audience), then prints where to
sign in. Run it again and it reuses its data. Ctrl-C (or SIGTERM) stops every node.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from atrium import demo_seed
from atrium.demo_seed import NODES, USERS, DemoNode
from node.settings import SETTINGS_FILE

STATE_FILE = "demo.json"
START_TIMEOUT = 60.0
ATRIUM = [sys.executable, "-m", "atrium"]


class DemoError(Exception):
    """The demo cannot start: printed as one line."""


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        # As the server binds: a port whose old connections linger in TIME_WAIT is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def loopback_hosts(count: int) -> list[str]:
    """127.0.0.1, 127.0.0.2, ... where the system answers on all of 127/8 (Linux), else
    127.0.0.1 for every node, told apart by port alone. Sign-ins do not depend on it: a
    browser keeps cookies by host, not port, but each node's cookie names carry its host and
    port (web/ui/core.py), so nodes on one address keep separate sign-ins too."""
    hosts = [f"127.0.0.{i + 1}" for i in range(count)]
    return hosts if all(_port_free(0, h) for h in hosts) else ["127.0.0.1"] * count


def pick_ports(base: int, hosts: list[str]) -> list[int]:
    """A free port for each host, from `base` upward, skipping any already in use."""
    ports: list[int] = []
    port = base
    while len(ports) < len(hosts):
        if port > 65535:
            raise DemoError(f"no {len(hosts)} free ports from {base} upward")
        if _port_free(port, hosts[len(ports)]):
            ports.append(port)
        port += 1
    return ports


def load_state(data_dir: Path, base_port: int) -> dict[str, Any]:
    """The demo's ports and passwords: made on the first run, read back on the next."""
    path = data_dir / STATE_FILE
    if path.is_file():
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return state
    data_dir.mkdir(parents=True, exist_ok=True)
    hosts = loopback_hosts(len(NODES))
    ports = pick_ports(base_port, hosts)
    state = {
        "hosts": dict(zip(NODES, hosts, strict=True)),
        "ports": dict(zip(NODES, ports, strict=True)),
        "passwords": {u.username: secrets.token_urlsafe(9) for u in USERS},
        "seeded": False,
    }
    save_state(data_dir, state)
    return state


def save_state(data_dir: Path, state: dict[str, Any]) -> None:
    path = data_dir / STATE_FILE
    tmp = path.with_name(path.name + ".tmp")
    # The passwords are in it: readable by the owner only.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2)
    os.replace(tmp, path)


def demo_nodes(data_dir: Path, state: dict[str, Any]) -> dict[str, DemoNode]:
    return {
        name: DemoNode(name, title, kind, int(state["ports"][name]), data_dir / name, state["hosts"][name])
        for name, (title, kind) in NODES.items()
    }


async def _run(*argv: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *ATRIUM, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL
    )
    try:
        out, _ = await proc.communicate()
    except asyncio.CancelledError:
        # Stopped half-way: SIGINT lets `atrium init` remove what it had made.
        proc.send_signal(signal.SIGINT)
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise DemoError(f"`atrium {' '.join(argv)}` failed: {out.decode(errors='replace').strip()[-500:]}")


async def init_nodes(nodes: dict[str, DemoNode]) -> None:
    """`atrium init` each node not made yet (side by side), then write its demo policy."""
    missing = [n for n in nodes.values() if not (n.data_dir / SETTINGS_FILE).is_file()]
    await asyncio.gather(
        *(_run("init", "--data-dir", str(n.data_dir), "--domain", n.domain, "--scheme", "http", "--name", n.title)
          for n in missing)
    )
    for node in nodes.values():
        (node.data_dir / "policy.toml").write_text(demo_seed.policy_for(node, nodes), encoding="utf-8")


class Fleet:
    """The nodes' `atrium serve` processes; each logs to `DATA_DIR/NAME/serve.log`."""

    def __init__(self, nodes: dict[str, DemoNode]) -> None:
        self.nodes = nodes
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        for node in self.nodes.values():
            with (node.data_dir / "serve.log").open("ab") as log:
                self.procs[node.name] = subprocess.Popen(
                    [*ATRIUM, "serve", "--data-dir", str(node.data_dir), "--host", node.host],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )

    def dead(self) -> str | None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.nodes[name].data_dir / "serve.log").read_text(errors="replace")[-800:]
                return f"node {name} stopped (exit {proc.returncode}); its log ends:\n{tail}"
        return None

    async def wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        for node in self.nodes.values():
            while True:
                try:
                    _, writer = await asyncio.open_connection(node.host, node.port)
                    writer.close()
                    await writer.wait_closed()
                    break
                except OSError:
                    if (reason := self.dead()) is not None:
                        raise DemoError(reason) from None
                    if time.monotonic() > deadline:
                        raise DemoError(f"node {node.name} did not start listening on {node.port}") from None
                    await asyncio.sleep(0.2)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def describe(nodes: dict[str, DemoNode], state: dict[str, Any], data_dir: Path) -> str:
    by_node: dict[str, list[str]] = {}
    for u in USERS:
        role = "  (admin)" if u.role == "admin" else ""
        by_node.setdefault(u.node, []).append(f"      {u.username:<6} password: {state['passwords'][u.username]}{role}")
    out = ["", "Atrium demo: Acme's three departments trust each other as `organization`; Partner Co. is a partner.", ""]
    for node in nodes.values():
        out.append(f"  {node.name:<8} {node.base_url}/   {node.title} ({node.kind})")
        out += by_node[node.name]
    eng, sales, partner = nodes["eng"], nodes["sales"], nodes["partner"]
    out += [
        "",
        "Things to try:",
        f"  - sign in as alice at {eng.base_url}/ and open {eng.base_url}/organization: posts from sales",
        "    and ops; her notifications: bob replied (sales), olga liked (ops), pat boosted (Partner Co.).",
        f"  - \"{demo_seed.LOCAL_POST}\" is on eng only.",
        f"  - sign in as pat at {partner.base_url}/: alice's public post arrived; her organization post did",
        "    not, nor the 'confidential' one, which Acme's data-loss rule keeps inside.",
        f"  - sign in as bob at {sales.base_url}/ and write a post for the organization.",
        f"  - the policies: {data_dir}/*/policy.toml; `atrium policy explain --data-dir {eng.data_dir} ...`",
        "",
        f"Data in {data_dir} (run `atrium demo` again to reuse it). Ctrl-C stops every node.",
        "Demo ready.",
    ]
    return "\n".join(out)


async def _until_stopped(preparing: Coroutine[Any, Any, None], stop: asyncio.Event, fleet: Fleet) -> None:
    """Prepare the nodes, then watch them until a signal; a signal during preparation cancels it."""
    work = asyncio.create_task(preparing)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not work.done():
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        return
    stopped.cancel()
    work.result()  # a failure to start or seed ends the demo with its reason
    while not stop.is_set():
        if (reason := fleet.dead()) is not None:
            raise DemoError(reason)
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass


async def run_demo(data_dir: Path, base_port: int) -> None:
    state = load_state(data_dir, base_port)
    nodes = demo_nodes(data_dir, state)
    if int(state["ports"]["eng"]) != base_port and state.get("seeded"):
        print(f"(reusing the demo in {data_dir}, which was made on ports from {state['ports']['eng']})", flush=True)
    busy = [n.name for n in nodes.values() if not _port_free(n.port, n.host)]
    if busy:
        raise DemoError(f"port(s) of {', '.join(busy)} are in use; stop what uses them or remove {data_dir}")
    if not state.get("seeded"):
        print(f"Creating the demo organisation in {data_dir} (about a minute)…", flush=True)
    began = time.monotonic()

    def say(step: str) -> None:
        print(f"  {step} ({time.monotonic() - began:.0f} s)", flush=True)

    fleet = Fleet(nodes)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def prepare() -> None:
        if not state.get("seeded"):
            await init_nodes(nodes)
            say("nodes created")
        fleet.start()
        await fleet.wait_listening()
        say("nodes listening")
        if not state.get("seeded"):
            await demo_seed.seed(nodes, state["passwords"], say)
            state["seeded"] = True
            save_state(data_dir, state)
        print(describe(nodes, state, data_dir), flush=True)

    try:
        await _until_stopped(prepare(), stop, fleet)
        print("Stopping the demo nodes…", flush=True)
    finally:
        fleet.stop()
    print("Stopped.", flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir or "atrium-demo")
    try:
        asyncio.run(run_demo(data_dir.resolve(), args.base_port))
    except (DemoError, TimeoutError) as exc:
        print(f"atrium: {exc}", file=sys.stderr)
        return 1
    return 0


def register(sub: Any) -> None:
    """Add `atrium demo` to the command line's subcommands."""
    sp = sub.add_parser("demo", help="run a sample organisation (three departments and a partner) on loopback")
    sp.add_argument("--data-dir", help="where the demo keeps its nodes (default: ./atrium-demo)")
    sp.add_argument("--base-port", type=int, default=8000, help="first port to try (default 8000)")
    sp.set_defaults(func=cmd_demo)
