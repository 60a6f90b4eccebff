"""The `[auth.oidc]` and `auth.password_sign_in` settings: read, checked, each mistake refused
with the key named (docs/configuration.md lists them; tests/test_docs.py checks the list)."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.oidc_settings import OIDC_SECRET_ENV
from node.settings import load
from storage.errors import Invalid

BASE = 'domain = "eng.acme.test"\n'
GOOD = '[auth.oidc]\nissuer = "https://login.acme.test/"\nclient_id = "atrium"\nclient_secret_file = "secret"\n'


def settings_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / "atrium.toml").write_text(BASE + text)
    return tmp_path


def test_a_provider_is_read_with_its_defaults_and_secret_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s3cret\n")
    settings = load(settings_with(tmp_path, GOOD + 'admin_groups = ["admins"]\n'))
    assert settings.oidc is not None and settings.password_sign_in and settings.admin_password_sign_in
    assert (settings.oidc.issuer, settings.oidc.client_id, settings.oidc.scopes) == \
        ("https://login.acme.test/", "atrium", ("openid", "profile", "email"))
    assert (settings.oidc.username_claim, settings.oidc.groups_claim) == ("preferred_username", "groups")
    assert settings.oidc.client_secret(settings.data_dir) == "s3cret" and settings.admin_groups == ("admins",)


def test_the_secret_comes_from_the_environment_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(settings_with(tmp_path, '[auth.oidc]\nissuer = "https://login.acme.test/"\nclient_id = "a"\n'))
    assert settings.oidc is not None
    monkeypatch.delenv(OIDC_SECRET_ENV, raising=False)
    with pytest.raises(Invalid, match=OIDC_SECRET_ENV):
        settings.oidc.client_secret(settings.data_dir)
    monkeypatch.setenv(OIDC_SECRET_ENV, "from-env")
    assert settings.oidc.client_secret(settings.data_dir) == "from-env"


@pytest.mark.parametrize(("text", "says"), [
    ('[auth]\npassword_sign_in = false\n', "needs [auth.oidc]"),
    ('[auth.oidc]\nissuer = "https://login.acme.test/"\n', "needs issuer and client_id"),
    ('[auth.oidc]\nissuer = "http://login.acme.test/"\nclient_id = "a"\n', "must be an https URL"),
    ('[auth.oidc]\nissuer = "https://login.acme.test/?x=1"\nclient_id = "a"\n', "must be an https URL"),
    ('[auth.oidc]\nissuer = "https://l.test"\nclient_id = "a"\nscopes = ["profile"]\n', "must include openid"),
    ('[auth.oidc]\nissuer = "https://l.test"\nclient_id = "a"\nscopes = "openid"\n', "must be a list"),
    ('[auth.oidc]\nissuer = "https://l.test"\nclient_id = "a"\nclaim = "x"\n', "unknown setting 'auth.oidc.claim'"),
    ('[auth.oidc]\nissuer = "https://l.test"\nclient_id = "a"\ndisplay_name = ""\n', "display_name must be"),
])
def test_mistakes_are_refused_naming_the_key(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(Invalid, match=says.replace("[", r"\[").replace("?", r"\?")):
        load(settings_with(tmp_path, text))


def test_loopback_http_is_allowed_for_development(tmp_path: Path) -> None:
    settings = load(settings_with(tmp_path, '[auth]\npassword_sign_in = false\n[auth.oidc]\n'
                                            'issuer = "http://127.0.0.1:9000"\nclient_id = "a"\n'))
    assert settings.oidc is not None and not settings.password_sign_in
