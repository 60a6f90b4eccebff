"""Typed application state keys."""

from __future__ import annotations

from aiohttp import web

from node.context import NodeContext

CTX = web.AppKey("ctx", NodeContext)
