"""`atrium policy check|explain` and `atrium init` read every host through the one canonical
name (node/domains.py): a rule with a default port decides for its host (issue #13, finding 3),
another spelling of an address is the same peer (finding 4), a legacy IPv4 form is an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node import settings as settings_mod
from tests.cli.conftest import assert_one_line_error, run
from tests.cli.test_policy_cli import _post

# A rule for each host, spelled with a default port or as a mapped IPv6 address.
SPELLED_POLICY = """mode = "open"
default_trust = "public"

[peers."partner.example:443"]
trust = "partner"

[peers."Blocked.Example.:80"]
trust = "blocked"

[peers."[::ffff:127.0.0.1]:9301"]
trust = "blocked"
"""


@pytest.fixture
def spelled_node(node_dir: Path) -> Path:
    (node_dir / "policy.toml").write_text(SPELLED_POLICY)
    return node_dir


def _explain(capsys: pytest.CaptureFixture[str], node: Path, post_id: str, peer: str) -> dict[str, str]:
    code, out, err = run(capsys, "policy", "explain", "--data-dir", str(node), "--post", post_id, "--peer", peer, "--json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_check_accepts_the_spelled_rules(spelled_node: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "policy", "check", "--data-dir", str(spelled_node))
    assert code == 0, err
    assert "mode open, 3 peer rule(s)" in out


@pytest.mark.parametrize(
    "peer, canonical, verdict, rule",
    [
        # Finding 3: the rule for `partner.example:443` is the rule for partner.example
        ("partner.example", "partner.example", "allowed", 'peers."partner.example"'),
        ("partner.example:443", "partner.example", "allowed", 'peers."partner.example"'),
        ("PARTNER.example.:80", "partner.example", "allowed", 'peers."partner.example"'),
        ("blocked.example", "blocked.example", "refused", 'peers."blocked.example"'),
        ("blocked.example:443", "blocked.example", "refused", 'peers."blocked.example"'),
        # Finding 4: every spelling of 127.0.0.1:9301 is the peer the rule blocks
        ("127.0.0.1:9301", "127.0.0.1:9301", "refused", 'peers."127.0.0.1:9301"'),
        ("[::ffff:7f00:1]:9301", "127.0.0.1:9301", "refused", 'peers."127.0.0.1:9301"'),
        ("[0:0:0:0:0:FFFF:127.0.0.1]:09301", "127.0.0.1:9301", "refused", 'peers."127.0.0.1:9301"'),
        ("[64:ff9b::7f00:1]:9301", "127.0.0.1:9301", "refused", 'peers."127.0.0.1:9301"'),
        # and another host or port is not
        ("127.0.0.1:9302", "127.0.0.1:9302", "allowed", "default_trust (open mode)"),
        ("other.example", "other.example", "allowed", "default_trust (open mode)"),
    ],
)
def test_explain_names_the_rule_for_every_spelling_of_the_peer(
    spelled_node: Path, capsys: pytest.CaptureFixture[str], peer: str, canonical: str, verdict: str, rule: str
) -> None:
    # Given a followers-only post and the rules spelled above
    post_id = _post(spelled_node, "Quarterly numbers", "followers")
    # When the operator asks about a peer, spelled any way
    answer = _explain(capsys, spelled_node, post_id, peer)
    # Then the rule for its host decides, and the answer names the peer canonically
    assert (answer["decision"], answer["rule"], answer["peer"]) == (verdict, rule, canonical)


def test_explain_refuses_a_legacy_spelling_of_an_address(spelled_node: Path, capsys: pytest.CaptureFixture[str]) -> None:
    post_id = _post(spelled_node, "hello", "public")
    for peer in ("0x7f.0.0.1:9301", "2130706433:9301", "127.1:9301"):
        code, _, err = run(capsys, "policy", "explain", "--data-dir", str(spelled_node), "--post", post_id, "--peer", peer)
        assert_one_line_error(code, err)
        assert "legacy spelling of the IPv4 address 127.0.0.1; write 127.0.0.1" in err


def test_check_reports_a_legacy_address_and_a_second_spelling_with_their_lines(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a policy naming 127.0.0.1:9301 twice (once mapped) and an address in octal
    (node_dir / "policy.toml").write_text(
        'mode = "open"\n'
        '[peers."127.0.0.1:9301"]\ntrust = "blocked"\n'
        '[peers."[::ffff:7f00:1]:9301"]\ntrust = "partner"\n'
        '[peers."0177.0.0.1:9302"]\ntrust = "blocked"\n'
    )
    # When it is checked
    code, _, err = run(capsys, "policy", "check", "--data-dir", str(node_dir))
    # Then both mistakes are reported with their lines, and nothing is applied
    assert code == 1 and "Traceback" not in err
    path = node_dir / "policy.toml"
    assert f"{path}:4: peers.[::ffff:7f00:1]:9301 is the same domain as peers.127.0.0.1:9301" in err
    assert (f"{path}:6: peers.0177.0.0.1:9302: not a domain: '0177.0.0.1:9302' is a legacy spelling of the "
            "IPv4 address 127.0.0.1; write 127.0.0.1") in err


@pytest.mark.parametrize("args", [["--scheme", "http", "--domain", "eng.acme.test:443"],
                                  ["--domain", "eng.acme.test:80"]])
def test_init_refuses_a_port_that_the_canonical_name_would_drop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, err = run(capsys, "init", "--data-dir", str(tmp_path / "n"), *args)
    assert_one_line_error(code, err)
    assert "cannot use port" in err
    assert not (tmp_path / "n").exists()


def test_init_keeps_the_canonical_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "init", "--data-dir", str(tmp_path / "n"), "--domain", "Eng.Acme.Test.:443")
    assert code == 0, err
    assert settings_mod.load(tmp_path / "n").domain == "eng.acme.test"
    assert "Created Atrium node eng.acme.test" in out


def test_a_settings_file_with_such_a_port_is_refused(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a node whose settings file was edited to serve https on port 80
    path = node_dir / settings_mod.SETTINGS_FILE
    text = path.read_text()
    assert 'domain = "eng.acme.test"' in text
    path.write_text(text.replace('domain = "eng.acme.test"', 'domain = "eng.acme.test:80"'))
    # When a command loads it, then it says why, in one line
    code, _, err = run(capsys, "policy", "explain", "--data-dir", str(node_dir), "--post", "1", "--peer", "x.example")
    assert_one_line_error(code, err)
    assert f"{path}: domain: a node served over https cannot use port 80" in err
