"""The `auth.*` sign-in keys of atrium.toml, checked: the company's OpenID provider
(`[auth.oidc]`) and whether passwords still sign in (`auth.password_sign_in`). node/settings.py
reads the file; this is its single-sign-on part. Documented in docs/configuration.md and
docs/identity.md ("Single sign-on (OpenID Connect)")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

from node.secret_files import read_secret
from storage.errors import Invalid

# Where the client secret may come from instead of `auth.oidc.client_secret_file`.
OIDC_SECRET_ENV = "ATRIUM_OIDC_CLIENT_SECRET"
DEFAULT_SCOPES = ("openid", "profile", "email")
DEFAULT_DISPLAY_NAME = "your company account"

# key -> (type, description), merged into node/settings.py KEYS.
OIDC_KEYS: dict[str, tuple[type, str]] = {
    "auth.password_sign_in": (bool, "Whether people may sign in with a password (default true); false leaves single sign-on, and the break-glass admins' passwords."),
    "auth.admin_password_sign_in": (bool, "With password_sign_in = false: whether admins with a password and no single-sign-on link (the break-glass admin) still sign in with it (default true)."),
    "auth.oidc.issuer": (str, "The OpenID provider's issuer URL, exactly as its discovery document says it (turns single sign-on on)."),
    "auth.oidc.client_id": (str, "The client id this node has at the provider."),
    "auth.oidc.client_secret_file": (str, f"File holding the client secret (else the {OIDC_SECRET_ENV} environment variable)."),
    "auth.oidc.scopes": (list, "Scopes asked for (default openid, profile, email; add `groups` where the provider needs it)."),
    "auth.oidc.display_name": (str, "The provider's name on the sign-in button: \"Sign in with NAME\"."),
    "auth.oidc.username_claim": (str, "The ID token claim that gives a new account its username (default preferred_username)."),
    "auth.oidc.display_name_claim": (str, "The claim that gives the display name (default name)."),
    "auth.oidc.email_claim": (str, "The claim that gives the e-mail address (default email)."),
    "auth.oidc.groups_claim": (str, "The claim that lists the person's groups, read at each sign-in for admin_groups / moderator_groups (default groups)."),
}


@dataclass(frozen=True)
class OidcConfig:
    """The provider this node signs people in with (`[auth.oidc]`)."""

    issuer: str
    client_id: str
    client_secret_file: str | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    display_name: str = DEFAULT_DISPLAY_NAME
    username_claim: str = "preferred_username"
    display_name_claim: str = "name"
    email_claim: str = "email"
    groups_claim: str = "groups"

    def client_secret(self, data_dir: Path) -> str:
        """The client secret: the file `client_secret_file` names (relative to the data
        directory), else OIDC_SECRET_ENV. Read when the node starts, never written anywhere."""
        return read_secret(data_dir, self.client_secret_file, file_key="auth.oidc.client_secret_file",
                           env=OIDC_SECRET_ENV, needed_by="auth.oidc")


class SignInFields(TypedDict):
    password_sign_in: bool
    admin_password_sign_in: bool
    oidc: OidcConfig | None


def _text(path: Path, flat: dict[str, object], key: str, default: str | None = None) -> str | None:
    value = flat.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or any(ord(c) < 32 for c in value):
        raise Invalid(f"{path}: {key} must be a non-empty line of text")
    return value.strip()


def signin_settings(path: Path, flat: dict[str, object]) -> SignInFields:
    """The sign-in settings, checked: `[auth.oidc]` needs its issuer (an https URL, or http
    on loopback for development) and client id; a node with password sign-in off needs it."""
    password_sign_in = bool(flat.get("auth.password_sign_in", True))
    admin_password = bool(flat.get("auth.admin_password_sign_in", True))
    given = {k for k in flat if k.startswith("auth.oidc.") and k not in ("auth.oidc.admin_groups", "auth.oidc.moderator_groups")}
    if not given:
        if not password_sign_in:
            raise Invalid(f"{path}: auth.password_sign_in = false needs [auth.oidc] (issuer, client_id): "
                          "nobody could sign in otherwise")
        return SignInFields(password_sign_in=True, admin_password_sign_in=admin_password, oidc=None)
    issuer, client_id = _text(path, flat, "auth.oidc.issuer"), _text(path, flat, "auth.oidc.client_id")
    if issuer is None or client_id is None:
        raise Invalid(f"{path}: [auth.oidc] needs issuer and client_id")
    parts = urlsplit(issuer)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback) or not parts.hostname \
            or parts.query or parts.fragment or parts.username:
        raise Invalid(f"{path}: auth.oidc.issuer must be an https URL with no query (http only on loopback)")
    scopes = flat.get("auth.oidc.scopes", list(DEFAULT_SCOPES))
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s and " " not in s for s in scopes):
        raise Invalid(f"{path}: auth.oidc.scopes must be a list of scope names")
    if "openid" not in scopes:
        raise Invalid(f"{path}: auth.oidc.scopes must include openid")
    config = OidcConfig(
        issuer=issuer,
        client_id=client_id,
        client_secret_file=_text(path, flat, "auth.oidc.client_secret_file"),
        scopes=tuple(scopes),
        display_name=_text(path, flat, "auth.oidc.display_name", DEFAULT_DISPLAY_NAME) or DEFAULT_DISPLAY_NAME,
        username_claim=_text(path, flat, "auth.oidc.username_claim", "preferred_username") or "preferred_username",
        display_name_claim=_text(path, flat, "auth.oidc.display_name_claim", "name") or "name",
        email_claim=_text(path, flat, "auth.oidc.email_claim", "email") or "email",
        groups_claim=_text(path, flat, "auth.oidc.groups_claim", "groups") or "groups",
    )
    if len(config.display_name) > 60:
        raise Invalid(f"{path}: auth.oidc.display_name is too long (at most 60 characters)")
    return SignInFields(password_sign_in=password_sign_in, admin_password_sign_in=admin_password, oidc=config)
