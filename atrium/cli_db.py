"""`atrium db copy`: move a node's data to another database (SQLite to PostgreSQL, or back)."""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from node import settings as settings_mod
from storage.copy import Copied, copy_database
from storage.db import Database, normalise_url
from storage.errors import Invalid

_DATABASE_URL_LINE = re.compile(r"^database_url\s*=.*$", re.M)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def _copy(source_url: str, target_url: str) -> list[Copied]:
    source, target = Database(source_url), Database(target_url)
    try:
        return await copy_database(source, target)
    finally:
        await source.dispose()
        await target.dispose()


def switch_database_url(data_dir: Path, url: str) -> Path:
    """Point the node's settings file at `url`, changing only that line; the old file is kept
    beside it. Returns the backup's path."""
    path = data_dir / settings_mod.SETTINGS_FILE
    text = path.read_text(encoding="utf-8")
    line = f'database_url = "{url}"'
    if '"' in url or "\\" in url:
        raise Invalid("a database URL with quotes or backslashes cannot be written to atrium.toml")
    new = _DATABASE_URL_LINE.sub(line, text, count=1) if _DATABASE_URL_LINE.search(text) else f"{line}\n{text}"
    return settings_mod.rewrite(data_dir, new)


def cmd_db_copy(args: argparse.Namespace) -> int:
    if args.from_url and args.data_dir:
        raise Invalid("give either --from URL or --data-dir DIR, not both")
    data_dir: Path | None = None
    if args.from_url:
        source_url = normalise_url(args.from_url, Path.cwd())
    else:
        data_dir = settings_mod.data_dir_from(args.data_dir)
        source_url = settings_mod.load(data_dir).resolved_database_url
    target_url = normalise_url(args.to_url, Path.cwd())
    copied = asyncio.run(_copy(source_url, target_url))
    for c in copied:
        print(f"  {c.table:<20} {c.rows:>9} rows")
    total = sum(c.rows for c in copied)
    print(f"copied {total} rows in {len(copied)} tables from {_shown(source_url)} to {_shown(target_url)}; counts verified")
    if data_dir is not None and not args.keep_settings:
        backup = switch_database_url(data_dir, args.to_url)
        print(f"{data_dir / settings_mod.SETTINGS_FILE} now uses the new database (the old file is {backup})")
    return 0


def register(sub: Any) -> None:
    """Add `atrium db copy` to the command line's subcommands."""
    db = sub.add_parser("db", help="move a node's data between databases")
    dsub = db.add_subparsers(dest="db_command", required=True)
    sp = dsub.add_parser("copy", help="copy every table into an empty database (SQLite to PostgreSQL, or back)")
    sp.add_argument("--data-dir", help="copy this node's database and point its atrium.toml at the target")
    sp.add_argument("--from", dest="from_url", help="the source database URL (instead of --data-dir)")
    sp.add_argument("--to", dest="to_url", required=True, help="the target database URL; must be empty")
    sp.add_argument("--keep-settings", action="store_true", help="with --data-dir: leave atrium.toml as it is")
    sp.set_defaults(func=cmd_db_copy)
