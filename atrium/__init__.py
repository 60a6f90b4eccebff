"""Atrium's entry points: the `atrium` command line and the process that serves a node."""

__version__ = "0.1.0"
