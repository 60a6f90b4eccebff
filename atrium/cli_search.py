"""`atrium search reindex`: rebuild the full-text index of posts (node/post_search.py) from
the posts themselves, in batches — after a restore or `atrium db copy`, or when a change of
the stemming (node/search_text.py) must reach the posts already indexed (docs/search.md)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from atrium import assembly
from node import post_search
from node import settings as settings_mod
from storage.db import Database


def cmd_search_reindex(args: argparse.Namespace) -> int:
    settings = settings_mod.load(settings_mod.data_dir_from(args.data_dir))

    async def run() -> int:
        db = Database(settings.resolved_database_url)
        try:
            await assembly.check_schema(db)
            return await post_search.reindex(assembly.context_for(settings, db), batch=args.batch)
        finally:
            await db.dispose()

    print(f"indexed {asyncio.run(run())} posts")
    return 0


def _batch(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 100_000:
        raise argparse.ArgumentTypeError("a number of posts from 1 to 100000")
    return int(text)


def register(sub: Any) -> None:
    """Add `atrium search reindex` to the command line's subcommands."""
    search = sub.add_parser("search", help="the full-text index of posts")
    ssub = search.add_subparsers(dest="search_command", required=True)
    sp = ssub.add_parser("reindex", help="rebuild the index of posts from the posts, in batches")
    sp.add_argument("--batch", type=_batch, default=post_search.REINDEX_BATCH, help="posts per transaction")
    sp.add_argument("--data-dir", help="the node's directory (default: $ATRIUM_DATA_DIR)")
    sp.set_defaults(func=cmd_search_reindex)
