"""The software version, as installed (pyproject.toml is the source)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("atrium")
except PackageNotFoundError:  # running from a plain checkout
    VERSION = "0.1.0"
