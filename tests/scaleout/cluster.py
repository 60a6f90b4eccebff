"""One node as several real `atrium serve --role …` processes sharing one PostgreSQL database,
as on several machines: each process has a data directory of its own (the same atrium.toml,
its own policy.toml or none), and its own port."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import aiohttp
from multidict import CIMultiDict
from prometheus_client.parser import text_string_to_metric_families

from tests.factory import free_port
from tests.federation.nodes import ATRIUM, NodeProcess


class RoleProcess(NodeProcess):
    """A process of the node `of` (None: the first one, which makes the node with `init`)."""

    def __init__(self, name: str, root: Path, database_url: str, role: str, of: NodeProcess | None = None) -> None:
        super().__init__(name, root, database_url)
        self.role = role
        if of is not None:  # another machine of the same node: same domain, its own port
            self.port = free_port()
            self.domain, self.base_url = of.domain, of.base_url
            self.data_dir.mkdir(parents=True)
            shutil.copyfile(of.data_dir / "atrium.toml", self.data_dir / "atrium.toml")
        self.direct_url = f"http://127.0.0.1:{self.port}"  # this process itself

    def start(self) -> None:
        out = self.log.open("a")
        self.proc = subprocess.Popen(
            [*ATRIUM, "serve", "--role", self.role, "--port", str(self.port), "--log-format", "json"],
            env=self.env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 60
        while not self._answers():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start: {self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.direct_url}/health/live", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    async def get(self, path: str, **headers: str) -> tuple[int, str, CIMultiDict[str]]:
        async with aiohttp.ClientSession() as s, s.get(f"{self.direct_url}{path}", headers=headers) as r:
            return r.status, await r.text(), r.headers.copy()

    async def ready(self) -> dict[str, object]:
        async with aiohttp.ClientSession() as s, s.get(f"{self.direct_url}/health/ready") as r:
            return dict(await r.json())

    async def metric(self, name: str, **labels: str) -> float:
        """A sample of this process's /metrics (0 when the series does not exist yet)."""
        status, text, _ = await self.get("/metrics")
        assert status == 200, text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return float(sample.value)
        return 0.0
