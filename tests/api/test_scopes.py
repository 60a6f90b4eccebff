"""Scope rules, as pure functions: top-level scopes cover their granular ones."""

from __future__ import annotations

import pytest

from node.oauth import OAuthError, allows, parse_scopes, s256


@pytest.mark.parametrize(
    ("granted", "required", "ok"),
    [
        ("read", "read:statuses", True),
        ("read", "write:statuses", False),
        ("write", "write:favourites", True),
        ("read:statuses", "read:statuses", True),
        ("read:statuses", "read", False),
        ("read:statuses", "read:accounts", False),
        ("follow", "write:follows", True),
        ("follow", "write:statuses", False),
        ("profile", "profile", True),
    ],
)
def test_allows(granted: str, required: str, ok: bool) -> None:
    assert allows(parse_scopes(granted), required) is ok


def test_parse_scopes_default_and_separators() -> None:
    assert parse_scopes(None) == {"read"}
    assert parse_scopes("read+write") == {"read", "write"}
    with pytest.raises(OAuthError):
        parse_scopes("read admin:everything")


def test_s256_matches_rfc_7636_example() -> None:
    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
