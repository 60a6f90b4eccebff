"""Documentation that cannot rot: every setting and every CLI command is documented."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from atrium.cli import build_parser
from node.settings import KEYS

ROOT = Path(__file__).resolve().parent.parent


def _commands(parser: argparse.ArgumentParser, prefix: str = "atrium") -> list[str]:
    out: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.append(f"{prefix} {name}")
                out += _commands(sub, f"{prefix} {name}")
    return out


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    missing = [key for key in KEYS if f"`{key}`" not in doc]
    assert missing == []


def test_every_cli_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = _commands(build_parser())
    leaves = [c for c in commands if not any(other.startswith(c + " ") for other in commands)]
    missing = [c for c in leaves if c not in readme]
    assert missing == []


def test_readme_quickstart_is_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1]
    block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", section, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]
    assert len(commands) == 2
    for command in commands:
        script = command.split()[0]
        assert (ROOT / script).is_file(), f"{script} named in the quickstart does not exist"


def test_every_policy_key_is_documented() -> None:
    from node.policy import PEER_KEYS, RULE_KEYS, TOP_KEYS
    from node.retention_rules import POST_AUDIENCES, RETENTION_KEYS

    doc = (ROOT / "docs" / "policy.md").read_text()
    documented = set(re.findall(r"`([a-z_.\"A-Z]+)`", doc))
    expected = {f"`{k}`" for k in TOP_KEYS - {"peers"}} | {'`peers."DOMAIN"`'}
    expected |= {f'`peers."DOMAIN".{k}`' for k in PEER_KEYS} | {f"`rules.{k}`" for k in RULE_KEYS}
    expected |= {f"`retention.{k}`" for k in RETENTION_KEYS} | {f"`retention.posts.{a}`" for a in POST_AUDIENCES}
    missing = [k for k in expected if k not in doc]
    assert missing == [], documented
