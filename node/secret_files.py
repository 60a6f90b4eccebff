"""Secrets atrium.toml names without holding them: a file (relative to the data directory),
else an environment variable. Read when needed, never written to the settings or to logs; the
S3 media store's secret key and the OpenID client secret come this way."""

from __future__ import annotations

import os
from pathlib import Path

from storage.errors import Invalid


def read_secret(data_dir: Path, file_value: str | None, *, file_key: str, env: str, needed_by: str) -> str:
    """The secret in the file `file_value` names (`file_key` is its setting), else in the
    environment variable `env`; Invalid naming what to set when neither holds one."""
    if file_value:
        path = Path(file_value)
        path = path if path.is_absolute() else data_dir / path
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise Invalid(f"{file_key}: cannot read {path}: {exc.__class__.__name__}") from None
        if not secret:
            raise Invalid(f"{file_key}: {path} is empty")
        return secret
    secret = os.environ.get(env, "").strip()
    if not secret:
        raise Invalid(f"{needed_by} needs its secret: set {file_key} or {env}")
    return secret
