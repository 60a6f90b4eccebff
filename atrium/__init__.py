"""Atrium's entry points: the `atrium` command line and the process that serves a node."""

from node.version import VERSION as __version__

__all__ = ["__version__"]
