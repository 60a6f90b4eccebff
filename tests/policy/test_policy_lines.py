"""Every mistake in policy.toml is reported on the line of the key that holds it, not on the line
of its table's header nor on the first line that happens to mention the key's name; a missing
key on the line of its table. Written every way TOML allows."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from node.policy import parse_policy
from node.toml_lines import KeyLines
from tests.cli.conftest import run

# A file as an operator writes it: comments that name keys, tables in any order, a rule's
# pattern on several lines, and every mistake below a line that looks like it.
POLICY = '''# default_trust and mode are set below; trust = "organization" for the departments
mode = "allowlist"
default_trust = "friendly"

[peers."sales.acme.example"]
# trust = "partner" was the old value
trust = "organisation"
reject_media = true

[peers."ops.acme.example"]
trust = "organization"
reject_media = "no"

[[rules]]
name = "confidential"
pattern = """(?i)
confidential"""
below = "organization"

[[rules]]
name = "secret"
pattern = "(?i)secret"
below = "everyone"
action = "refuse"

[[rules]]
name = "quiet"
pattern = "(unclosed"

[[rules]]
name = "loud"
pattern = "x"
action = "shout"
colour = "red"
'''


def test_each_mistake_names_the_line_of_its_key() -> None:
    # Given a policy with a mistake in each kind of key, each several lines below its header
    policy, problems = parse_policy(POLICY)
    # Then each is reported on the line where its key is written
    assert policy is None
    assert [(p.line, p.message.split(":")[0].split(" must")[0]) for p in problems] == [
        (3, "default_trust"),
        (7, "peers.sales.acme.example"),
        (12, "peers.ops.acme.example"),
        (23, "rules #2 (secret)"),
        (28, "rules #3 (quiet)"),
        (34, "rules #4 (loud)"),
        (33, "rules #4 (loud)"),
    ]
    assert "reject_media" in problems[2].message and "below" in problems[3].message
    assert "unknown key 'colour'" in problems[5].message and "action" in problems[6].message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # mode, after a comment that mentions it
        ('# mode decides unknown peers\n\nmode = "closed"\n', 3, "mode must be one of"),
        # a peer's trust in a dotted key under [peers], after another peer's table
        ('[peers."a.example"]\ntrust = "partner"\n[peers]\n"b.example".trust = "friend"\n', 4, "peers.b.example: trust"),
        # in an inline table, the line it is written on
        ('[peers]\n"a.example" = { trust = "partner" }\n"b.example" = { trust = "partner", reject_media = 1 }\n', 3,
         "peers.b.example: reject_media"),
        # a top-level dotted key
        ('mode = "open"\npeers."a.example".trust = "partner"\npeers."b.example".trust = "x"\n', 3, "peers.b.example: trust"),
        # a quoted key with an escape names the same peer as its decoded form
        ('[peers."a.example"]\ntrust = "partner"\n[peers."\\u0062.example"]\n\ntrust = "x"\n', 5, "peers.b.example: trust"),
        # a literal-string key
        ("[peers.'a.example']\n\n\nreject_media = 2\ntrust = 'partner'\n", 4, "peers.a.example: reject_media"),
        # a missing trust: the line of the peer's table, where it belongs
        ('mode = "allowlist"\n\n[peers."a.example"]\nreject_media = true\n', 3, "peers.a.example: trust"),
        # the second rule of the same name, not the first
        ('[[rules]]\nname = "a"\npattern = "x"\n[[rules]]\npattern = "y"\nname = "a"\n', 6, "another rule has the same name"),
        # rules as an array of inline tables, one a line
        ('rules = [\n  { name = "a", pattern = "x" },\n  { name = "b", pattern = "y", below = "z" },\n]\n', 3,
         "rules #2 (b): below"),
        # a rule missing its pattern: the line of its [[rules]]
        ('[[rules]]\nname = "a"\npattern = "x"\n\n[[rules]]\nname = "b"\n', 5, "rules #2 (b): pattern is required"),
        # a multi-line string that looks like TOML is not TOML
        ('[[rules]]\nname = "a"\npattern = """\n[peers."x.example"]\ntrust = "x"\n"""\nbelow = "y"\n', 7, "rules #1 (a): below"),
        # an unknown key in a peer's table, not the same word elsewhere
        ('# colour is not a key\n[peers."a.example"]\ntrust = "partner"\ncolour = 1\n', 4, "unknown key 'colour'"),
    ],
)
def test_a_key_written_any_way_toml_allows_is_found(text: str, line: int, words: str) -> None:
    policy, problems = parse_policy(text)
    assert policy is None
    assert [(p.line, words in p.message) for p in problems] == [(line, True)], problems


def test_key_lines_know_tables_arrays_and_nested_keys() -> None:
    lines = KeyLines('a = 1\n[t]\nx.y = 2\n[[arr]]\nk = 3\n[[arr]]\n\nk = 4\n[arr.sub]\nz = 5\n')
    assert lines.line("a") == 1
    assert lines.line("t") == 2 and lines.line("t", "x") == 3 and lines.line("t", "x", "y") == 3
    assert lines.line("arr") == 4 and lines.line("arr", 0, "k") == 5 and lines.line("arr", 1, "k") == 8
    # [arr.sub] is a table inside the latest entry of arr
    assert lines.line("arr", 1, "sub", "z") == 10
    # a key not written falls back to its table; nothing at all: None
    assert lines.line("t", "missing") == 2 and lines.line("nowhere") is None


def test_policy_check_prints_the_line_of_the_bad_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a node whose policy has a bad trust on line 3, under its table's header on line 2
    data_dir = tmp_path / "node"
    code, _, err = run(capsys, "init", "--data-dir", str(data_dir), "--domain", "eng.acme.test")
    assert code == 0, err
    path = data_dir / "policy.toml"
    path.write_text('mode = "allowlist"\n[peers."sales.acme.example"]\ntrust = "organisation"\n')
    # When the operator checks it
    code, _, err = run(capsys, "policy", "check", "--data-dir", str(data_dir))
    # Then the report points at line 3
    assert code != 0
    assert err.startswith(f"{path}:3: peers.sales.acme.example: trust must be one of"), err


# Any key a peer table may have, spelt any way: dots, quotes, spaces, non-ASCII, escapes.
_names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]) | st.sampled_from('."\\\' '),
                 min_size=1, max_size=12)
_styles = st.sampled_from(["table", "inline", "dotted", "top-dotted"])


@settings(derandomize=True, max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_names, _styles, st.integers(0, 2)), min_size=1, max_size=6, unique_by=lambda t: t[0]),
       st.sampled_from(["trust", "reject_media", "x.y", "ünï"]))
def test_every_key_is_found_on_the_line_it_is_written(peers: list[tuple[str, str, int]], key: str) -> None:
    # Given peers written in every style, with blank lines and comments between them: top-level
    # dotted keys and inline tables first, then [peers."NAME"] tables, then one [peers] table
    # of dotted keys
    quoted_key = ".".join(json.dumps(part, ensure_ascii=False) for part in key.split("."))  # a JSON string is a TOML string
    parts: dict[str, list[str]] = {"top": [], "tables": [], "peers": []}
    where: dict[str, tuple[str, int]] = {}
    for name, style, gap in peers:
        quoted = json.dumps(name, ensure_ascii=False)
        part = {"top-dotted": "top", "inline": "top", "table": "tables", "dotted": "peers"}[style]
        parts[part] += ["", "# peers.x.trust = 1"][:gap]
        parts[part] += {
            "top-dotted": [f"peers.{quoted}.{quoted_key} = 1"],
            "inline": [f"peers.{quoted} = {{ {quoted_key} = 1 }}"],
            "table": [f"[peers.{quoted}]", "# trust = 1", f"{quoted_key} = 1"],
            "dotted": [f"{quoted}.{quoted_key} = 1"],
        }[style]
        where[name] = (part, len(parts[part]))
    if parts["peers"]:
        parts["peers"].insert(0, "[peers]")
        where = {n: (part, line + (part == "peers")) for n, (part, line) in where.items()}
    offset = {"top": 0, "tables": len(parts["top"]), "peers": len(parts["top"]) + len(parts["tables"])}
    text = "\n".join(parts["top"] + parts["tables"] + parts["peers"]) + "\n"
    assume(_valid(text))  # a [peers] table after top-level dotted peers.… keys is no TOML
    # Then each peer's key is found on its own line, whatever its spelling
    found = KeyLines(text)
    for name, (part, line) in where.items():
        assert found.line("peers", name, *key.split(".")) == offset[part] + line, (name, text)


def _valid(text: str) -> bool:
    """Some styles may not mix for one name (a table defined twice): such a file is no TOML."""
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    return True
