"""The CLI's commands load what they use: the web application (atrium/server.py and all of
web/) is for `atrium serve` alone. Every other command — `init`, `user create`, the ones
scripts and the test suite run by the hundred — started in three seconds when it was loaded too,
and in about one without it (atrium/assembly.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("atrium.server", "web.app", "web.scim", "scim2_models")


def _loaded_by(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return set(out.stdout.split())


def test_the_cli_and_its_commands_do_not_load_the_web_application() -> None:
    # When the CLI's parser is built, as every command builds it
    loaded = _loaded_by("from atrium import cli\ncli.build_parser()")
    # Then none of the web application came with it
    assert [m for m in HEAVY if m in loaded] == []


def test_serving_still_loads_the_web_application() -> None:
    # The check above must be able to see the modules it names: `serve` does load them
    loaded = _loaded_by("from atrium import server")
    assert [m for m in HEAVY if m in loaded] == list(HEAVY)
