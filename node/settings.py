"""A node's settings file, `DATA_DIR/atrium.toml`: read, validated, written by `atrium init`.

Every key is documented in docs/configuration.md (a test fails if one is missing).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from node.domains import served_domain
from node.housekeeping_settings import KEYS as HOUSEKEEPING_KEYS
from node.housekeeping_settings import HousekeepingLimits, housekeeping_limits
from node.media_processing import DEFAULT_FILE_BYTES, DEFAULT_IMAGE_BYTES, DEFAULT_IMAGE_PIXELS, MediaLimits
from node.media_settings import DEFAULT_S3_REGION, media_settings
from node.oidc_settings import OIDC_KEYS, OidcConfig, signin_settings
from node.secret_files import read_secret
from storage.db import normalise_url
from storage.errors import Invalid
from storage.media_store import StoreKind
from storage.models import ROLES

SETTINGS_FILE = "atrium.toml"
POLICY_FILE = "policy.toml"
DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///atrium.db"
# Where the secret of `media.s3.access_key_id` may come from instead of a file.
S3_SECRET_ENV = "ATRIUM_S3_SECRET_ACCESS_KEY"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    domain: str
    scheme: str = "https"
    database_url: str = DEFAULT_SQLITE_URL
    host: str = "127.0.0.1"
    port: int | None = None
    registrations_open: bool = False
    max_post_chars: int = 5000
    allowed_private_networks: tuple[str, ...] = field(default_factory=tuple)
    tls_cert: str | None = None
    tls_key: str | None = None
    ca_file: str | None = None
    audit_retention_days: int = 0
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)
    proxy_header: str = "X-Forwarded-For"
    inbox_per_address_per_s: int = 200
    inbox_per_address_burst: int = 2000
    inbox_per_peer_per_s: int = 200
    inbox_per_peer_burst: int = 2000
    statuses_per_account_per_hour: int = 300
    statuses_per_account_burst: int = 300
    log_format: str = "text"
    metrics_token: str | None = None
    media_max_image_bytes: int = DEFAULT_IMAGE_BYTES
    media_max_file_bytes: int = DEFAULT_FILE_BYTES
    media_max_image_pixels: int = DEFAULT_IMAGE_PIXELS
    media_storage: StoreKind = StoreKind.LOCAL
    s3_bucket: str | None = None
    s3_endpoint: str | None = None
    s3_region: str = DEFAULT_S3_REGION
    s3_prefix: str = ""
    s3_access_key_id: str | None = None
    s3_secret_access_key_file: str | None = None
    media_remote: str = "reference"
    second_factor_roles: tuple[str, ...] = field(default_factory=tuple)
    # Groups of the company's identity provider (an ID token's group claim, SCIM Groups) whose
    # members get a staff role here; read at each sign-in and each SCIM change.
    admin_groups: tuple[str, ...] = field(default_factory=tuple)
    moderator_groups: tuple[str, ...] = field(default_factory=tuple)
    # Single sign-on (`[auth.oidc]`, node/oidc_settings.py) and whether passwords still sign in.
    oidc: OidcConfig | None = None
    password_sign_in: bool = True
    admin_password_sign_in: bool = True
    housekeeping: HousekeepingLimits = field(default_factory=HousekeepingLimits)

    def media_limits(self) -> MediaLimits:
        return MediaLimits(self.media_max_image_bytes, self.media_max_file_bytes, self.media_max_image_pixels)

    def path(self, value: str) -> Path:
        """A path from the settings file: relative ones are relative to the data directory."""
        p = Path(value)
        return p if p.is_absolute() else self.data_dir / p

    def s3_secret_access_key(self) -> str | None:
        """The secret for `media.s3.access_key_id`: the file `media.s3.secret_access_key_file`
        names, else the environment's ATRIUM_S3_SECRET_ACCESS_KEY; None without a key id (the
        AWS SDK's own chain then finds credentials). Read when the store is made, never kept."""
        if self.s3_access_key_id is None:
            return None
        return read_secret(self.data_dir, self.s3_secret_access_key_file, file_key="media.s3.secret_access_key_file",
                           env=S3_SECRET_ENV, needed_by="media.s3.access_key_id")

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def resolved_database_url(self) -> str:
        return normalise_url(self.database_url, self.data_dir)

    @property
    def listen_port(self) -> int:
        """The port to serve on: `server.port`, else the domain's own port, else 8000."""
        if self.port is not None:
            return self.port
        _, _, port = self.domain.rpartition(":")
        return int(port) if port.isascii() and port.isdigit() and ":" in self.domain else 8000


# key path in the file -> (type, description): the single source for validation and docs.
KEYS: dict[str, tuple[type, str]] = {
    "domain": (str, "The node's public host name, with `:port` when not the scheme's default."),
    "scheme": (str, "`https` (default) or `http` (development on loopback only)."),
    "database_url": (
        str,
        "SQLAlchemy URL of the database; a relative SQLite path is relative to the data directory.",
    ),
    "server.host": (str, "Address `atrium serve` listens on (default 127.0.0.1)."),
    "server.port": (int, "Port `atrium serve` listens on (default: the domain's port, else 8000)."),
    "registrations_open": (bool, "Whether people may sign up without an admin (default false)."),
    "posts.max_chars": (int, "Longest post text accepted, in characters (default 5000)."),
    "server.tls_cert": (str, "PEM certificate chain to serve https with directly (else put a TLS proxy in front)."),
    "server.tls_key": (str, "PEM private key for server.tls_cert."),
    "server.trusted_proxies": (
        list,
        "Addresses or CIDR ranges of the reverse proxies in front of this process, whose client-address header is believed (default none).",
    ),
    "server.proxy_header": (str, "The header those proxies name the client in: `X-Forwarded-For` (default) or `Forwarded`."),
    "federation.allowed_private_networks": (
        list,
        "CIDR ranges of private addresses this node may fetch from and deliver to.",
    ),
    "federation.ca_file": (str, "Extra PEM CA bundle trusted for peers' https (an organisation's own CA)."),
    "audit.retention_days": (int, "Days the audit trail keeps boundary decisions (default 0: forever; docs/compliance.md says why)."),
    "limits.inbox_per_address_per_s": (int, "Requests a second each client address may make to the inboxes, before any check (default 200; 0: no limit)."),
    "limits.inbox_per_address_burst": (int, "Requests a client address may make at once before the per-second rate applies (default 2000)."),
    "limits.inbox_per_peer_per_s": (int, "Verified deliveries a second each peer domain may make to the inboxes (default 200; 0: no limit)."),
    "limits.inbox_per_peer_burst": (int, "Verified deliveries a peer domain may make at once before the per-second rate applies (default 2000)."),
    "limits.statuses_per_account_per_hour": (int, "Posts an hour each account may make through the API (default 300; 0: no limit)."),
    "limits.statuses_per_account_burst": (int, "Posts an account may make at once before the hourly rate applies (default 300)."),
    "log.format": (str, "`text` (default) or `json`: one JSON object per log line, with the request id."),
    "metrics.token": (str, "Bearer token that lets a scraper read /metrics from anywhere (without it: loopback only)."),
    "media.max_image_bytes": (int, f"Largest picture accepted, in bytes (default {DEFAULT_IMAGE_BYTES})."),
    "media.max_file_bytes": (int, f"Largest file (PDF, office document) accepted, in bytes (default {DEFAULT_FILE_BYTES})."),
    "media.max_image_pixels": (int, f"Most pixels a picture may have, checked before it is decoded (default {DEFAULT_IMAGE_PIXELS})."),
    "media.storage": (str, "Where pictures and files are kept: `local` (default: DATA_DIR/media) or `s3` (the bucket below)."),
    "media.s3.bucket": (str, "The S3 bucket that holds the node's media (required with media.storage = \"s3\")."),
    "media.s3.endpoint": (str, "URL of an S3-compatible service (MinIO, Ceph, Garage…); leave out for AWS S3."),
    "media.s3.region": (str, "The bucket's region (default us-east-1)."),
    "media.s3.prefix": (str, "A folder inside the bucket for this node's media, e.g. `eng/` (default: the bucket's root)."),
    "media.s3.access_key_id": (str, "Access key id (leave out to use the AWS SDK's own credentials: environment, instance role)."),
    "media.s3.secret_access_key_file": (str, "File holding the access key's secret (else the ATRIUM_S3_SECRET_ACCESS_KEY environment variable)."),
    "media.remote": (str, "Peers' attachments: `reference` (default: shown from the peer's URL) or `cache` (fetched through the gate, checked and kept in the media store; a failed fetch leaves it by reference)."),
    "auth.require_second_factor_for": (
        list,
        "Roles that must sign in with a second factor, e.g. `[\"admin\", \"moderator\"]`: such an account without one can only enrol one (default none).",
    ),
    "auth.oidc.admin_groups": (list, "Groups of the identity provider (the ID token's group claim, or SCIM Groups) whose members are admins here (default none)."),
    "auth.oidc.moderator_groups": (list, "Groups of the identity provider whose members are moderators here (default none)."),
    **OIDC_KEYS,
    **HOUSEKEEPING_KEYS,
}


def _flatten(table: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def load(data_dir: Path) -> Settings:
    path = data_dir / SETTINGS_FILE
    if not path.is_file():
        raise Invalid(f"no Atrium node in {data_dir} ({SETTINGS_FILE} missing); run `atrium init` first")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise Invalid(f"{path}: {exc}") from exc
    flat = _flatten(raw)
    for key, value in flat.items():
        if key not in KEYS:
            raise Invalid(f"{path}: unknown setting {key!r}")
        expected = KEYS[key][0]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise Invalid(f"{path}: {key} must be a {expected.__name__}")
    if "domain" not in flat:
        raise Invalid(f"{path}: domain is required")
    scheme = str(flat.get("scheme", "https"))
    if scheme not in ("https", "http"):
        raise Invalid(f"{path}: scheme must be https or http")
    try:
        domain = served_domain(str(flat["domain"]), scheme)
    except Invalid as exc:
        raise Invalid(f"{path}: domain: {exc.reason}") from exc
    return Settings(
        data_dir=data_dir.resolve(),
        domain=domain,
        scheme=scheme,
        database_url=str(flat.get("database_url", DEFAULT_SQLITE_URL)),
        host=str(flat.get("server.host", "127.0.0.1")),
        port=flat.get("server.port"),  # type: ignore[arg-type]
        registrations_open=bool(flat.get("registrations_open", False)),
        max_post_chars=int(flat.get("posts.max_chars", 5000)),  # type: ignore[call-overload]
        allowed_private_networks=tuple(flat.get("federation.allowed_private_networks", ())),  # type: ignore[arg-type]
        tls_cert=flat.get("server.tls_cert"),  # type: ignore[arg-type]
        tls_key=flat.get("server.tls_key"),  # type: ignore[arg-type]
        ca_file=flat.get("federation.ca_file"),  # type: ignore[arg-type]
        audit_retention_days=_days(path, flat, "audit.retention_days"),
        trusted_proxies=_networks(path, flat.get("server.trusted_proxies", [])),
        proxy_header=_proxy_header(path, flat.get("server.proxy_header", "X-Forwarded-For")),
        inbox_per_address_per_s=int(flat.get("limits.inbox_per_address_per_s", 200)),  # type: ignore[call-overload]
        inbox_per_address_burst=int(flat.get("limits.inbox_per_address_burst", 2000)),  # type: ignore[call-overload]
        inbox_per_peer_per_s=int(flat.get("limits.inbox_per_peer_per_s", 200)),  # type: ignore[call-overload]
        inbox_per_peer_burst=int(flat.get("limits.inbox_per_peer_burst", 2000)),  # type: ignore[call-overload]
        statuses_per_account_per_hour=int(flat.get("limits.statuses_per_account_per_hour", 300)),  # type: ignore[call-overload]
        statuses_per_account_burst=int(flat.get("limits.statuses_per_account_burst", 300)),  # type: ignore[call-overload]
        log_format=_log_format(path, flat.get("log.format", "text")),
        metrics_token=flat.get("metrics.token") or None,  # type: ignore[arg-type]
        media_max_image_bytes=_positive(path, flat, "media.max_image_bytes", DEFAULT_IMAGE_BYTES),
        media_max_file_bytes=_positive(path, flat, "media.max_file_bytes", DEFAULT_FILE_BYTES),
        media_max_image_pixels=_positive(path, flat, "media.max_image_pixels", DEFAULT_IMAGE_PIXELS),
        **media_settings(path, flat),
        media_remote=_choice(path, "media.remote", flat.get("media.remote", "reference"), ("reference", "cache")),
        second_factor_roles=_roles(path, flat.get("auth.require_second_factor_for", [])),
        admin_groups=_names(path, flat, "auth.oidc.admin_groups"),
        moderator_groups=_names(path, flat, "auth.oidc.moderator_groups"),
        **signin_settings(path, flat),
        housekeeping=housekeeping_limits(path, flat),
    )


def _days(path: Path, flat: dict[str, object], key: str) -> int:
    value = flat.get(key, 0)
    if not isinstance(value, int) or value < 0:
        raise Invalid(f"{path}: {key} must be 0 or more days")
    return value


def _names(path: Path, flat: dict[str, object], key: str) -> tuple[str, ...]:
    value = flat.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise Invalid(f"{path}: {key} must be a list of group names")
    return tuple(v.strip() for v in value)


def _positive(path: Path, flat: dict[str, object], key: str, default: int) -> int:
    value = flat.get(key, default)
    if not isinstance(value, int) or value < 1:
        raise Invalid(f"{path}: {key} must be a positive number")
    return value


PROXY_HEADERS = ("X-Forwarded-For", "Forwarded")


def _roles(path: Path, value: object) -> tuple[str, ...]:
    roles = tuple(str(v) for v in value) if isinstance(value, list) else ()
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise Invalid(f"{path}: auth.require_second_factor_for: unknown role(s) {', '.join(unknown)}: "
                      f"use {', '.join(ROLES)}")
    return roles


def parse_networks(values: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Addresses and CIDR ranges as networks (an address is a network of one)."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)


def _networks(path: Path, value: object) -> tuple[str, ...]:
    values = tuple(str(v) for v in value) if isinstance(value, list) else ()
    for v in values:
        try:
            parse_networks((v,))
        except ValueError:
            raise Invalid(f"{path}: server.trusted_proxies: {v!r} is not an IP address or CIDR range") from None
    return values


def _proxy_header(path: Path, value: object) -> str:
    for name in PROXY_HEADERS:
        if str(value).lower() == name.lower():
            return name
    raise Invalid(f"{path}: server.proxy_header must be X-Forwarded-For or Forwarded")


def _choice(path: Path, key: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise Invalid(f"{path}: {key} must be {' or '.join(choices)}")
    return str(value)


def _log_format(path: Path, value: object) -> str:
    if value not in ("text", "json"):
        raise Invalid(f"{path}: log.format must be text or json")
    return str(value)


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(settings: Settings) -> str:
    """The settings file as `atrium init` writes it, each key with its documentation."""
    d = KEYS
    return f"""# Atrium node settings. Every key is described in docs/configuration.md.

# {d['domain'][1]}
domain = {_toml_str(settings.domain)}
# {d['scheme'][1]}
scheme = {_toml_str(settings.scheme)}
# {d['database_url'][1]}
database_url = {_toml_str(settings.database_url)}
# {d['registrations_open'][1]}
registrations_open = {str(settings.registrations_open).lower()}

[server]
# {d['server.host'][1]}
host = {_toml_str(settings.host)}
{f"port = {settings.port}" if settings.port is not None else f"# port = {settings.listen_port}"}
# {d['server.tls_cert'][1]}
# tls_cert = "tls/cert.pem"
# {d['server.tls_key'][1]}
# tls_key = "tls/key.pem"
# {d['server.trusted_proxies'][1]}
# trusted_proxies = ["127.0.0.1"]
# {d['server.proxy_header'][1]}
# proxy_header = "X-Forwarded-For"

[posts]
# {d['posts.max_chars'][1]}
max_chars = {settings.max_post_chars}

[federation]
# {d['federation.allowed_private_networks'][1]}
allowed_private_networks = []
# {d['federation.ca_file'][1]}
# ca_file = "ca.pem"

[audit]
# {d['audit.retention_days'][1]}
retention_days = {settings.audit_retention_days}

[housekeeping]
# {d['housekeeping.remote_posts_days'][1]}
remote_posts_days = {settings.housekeeping.remote_posts_days}
# {d['housekeeping.inbox_log_days'][1]}
inbox_log_days = {settings.housekeeping.inbox_log_days}
# {d['housekeeping.tombstones_days'][1]}
tombstones_days = {settings.housekeeping.tombstones_days}
# {d['housekeeping.read_notifications_days'][1]}
read_notifications_days = {settings.housekeeping.read_notifications_days}
# {d['housekeeping.failed_jobs_days'][1]}
failed_jobs_days = {settings.housekeeping.failed_jobs_days}

[auth]
# {d['auth.require_second_factor_for'][1]}
# require_second_factor_for = ["admin", "moderator"]
# {d['auth.password_sign_in'][1]}
# password_sign_in = true
# Single sign-on with the company's OpenID provider: see docs/identity.md.
# [auth.oidc]
# {d['auth.oidc.issuer'][1]}
# issuer = "https://login.example.com/"
# {d['auth.oidc.client_id'][1]}
# client_id = "atrium"
# {d['auth.oidc.client_secret_file'][1]}
# client_secret_file = "oidc-secret"
# {d['auth.oidc.display_name'][1]}
# display_name = "Acme sign-in"

[limits]
# {d['limits.inbox_per_address_per_s'][1]}
inbox_per_address_per_s = {settings.inbox_per_address_per_s}
# {d['limits.inbox_per_address_burst'][1]}
inbox_per_address_burst = {settings.inbox_per_address_burst}
# {d['limits.inbox_per_peer_per_s'][1]}
inbox_per_peer_per_s = {settings.inbox_per_peer_per_s}
# {d['limits.inbox_per_peer_burst'][1]}
inbox_per_peer_burst = {settings.inbox_per_peer_burst}
# {d['limits.statuses_per_account_per_hour'][1]}
statuses_per_account_per_hour = {settings.statuses_per_account_per_hour}
# {d['limits.statuses_per_account_burst'][1]}
statuses_per_account_burst = {settings.statuses_per_account_burst}

[media]
# {d['media.max_image_bytes'][1]}
max_image_bytes = {settings.media_max_image_bytes}
# {d['media.max_file_bytes'][1]}
max_file_bytes = {settings.media_max_file_bytes}
# {d['media.max_image_pixels'][1]}
max_image_pixels = {settings.media_max_image_pixels}
# {d['media.storage'][1]}
storage = {_toml_str(settings.media_storage.value)}
# See docs/media.md for S3: bucket, endpoint, region, prefix and credentials.
# [media.s3]
# {d['media.s3.bucket'][1]}
# bucket = "atrium-media"
# {d['media.s3.endpoint'][1]}
# endpoint = "https://s3.internal.example"
# {d['media.s3.region'][1]}
# region = "{DEFAULT_S3_REGION}"
# {d['media.s3.prefix'][1]}
# prefix = "eng/"
# {d['media.s3.access_key_id'][1]}
# access_key_id = "AKIA..."
# {d['media.s3.secret_access_key_file'][1]}
# secret_access_key_file = "s3-secret"
"""


DEFAULT_POLICY = """# Atrium trust policy: what crosses this node's boundary, both ways.
# See docs/policy.md. A fresh node admits no one until its operator says so.
mode = "allowlist"        # "allowlist": unknown domains are blocked; "open": they get default_trust
default_trust = "public"  # organization | partner | public | limited | blocked

# [peers."sales.acme.example"]
# trust = "organization"
"""


def rewrite(data_dir: Path, text: str) -> Path:
    """Replace the node's settings file with `text` (a command changing one value: `atrium db
    copy`, `atrium media migrate`), atomically, the old file kept beside it; the new one must
    still read as valid settings. Returns the backup's path."""
    path = data_dir / SETTINGS_FILE
    backup = path.with_name(path.name + ".bak")
    shutil.copy2(path, backup)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    load(data_dir)
    return backup


def data_dir_from(arg: str | None) -> Path:
    """`--data-dir`, else `ATRIUM_DATA_DIR`."""
    value = arg or os.environ.get("ATRIUM_DATA_DIR")
    if not value:
        raise Invalid("no data directory: pass --data-dir DIR or set ATRIUM_DATA_DIR")
    return Path(value)
