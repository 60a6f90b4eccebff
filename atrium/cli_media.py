"""`atrium media prune` and `atrium media migrate`: the node's media bytes, kept tidy and moved
between the data directory and an S3-compatible bucket (docs/media.md)."""

from __future__ import annotations

import argparse
import asyncio
import copy
import re
import tomllib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from atrium import assembly
from node import settings as settings_mod
from node.context import NodeContext
from node.media_migration import CopyReport, copy_media
from node.media_prune import PruneReport, prune
from node.toml_lines import KeyLines
from storage.db import Database
from storage.errors import Invalid
from storage.media_store import StoreKind

_MEDIA_HEADER = re.compile(r"^\s*\[\s*media\s*\]\s*(#.*)?$")
_QUOTED_VALUE = re.compile(r"""(=\s*)(["'])[^"']*\2""")


WithCtx = Callable[[argparse.Namespace, Callable[[NodeContext], Awaitable[PruneReport]]], PruneReport]


def cmd_media_prune(args: argparse.Namespace, with_ctx: WithCtx) -> int:
    if args.older_than < 0:
        raise Invalid("--older-than must be 0 days or more")
    r = with_ctx(args, lambda ctx: prune(ctx, older_than=timedelta(days=args.older_than), dry_run=args.dry_run))
    verb = "would remove" if r.dry_run else "removed"
    print(f"{verb} {r.orphaned_uploads} orphaned uploads, the cached copies of {r.cached_remote} peers' attachments, "
          f"and {r.stray_keys} stored files no row names: {len(r.deleted_keys)} files in the "
          f"{r.store} store (older than {args.older_than} days)")
    return 0


def cmd_media_migrate(args: argparse.Namespace) -> int:
    data_dir = settings_mod.data_dir_from(args.data_dir)
    settings = settings_mod.load(data_dir)
    to = StoreKind(args.to)
    if settings.media_storage == to:
        print(f"media.storage is already {to}: nothing to copy")
        return 0
    source, target = assembly.media_store_for(settings), assembly.media_store_for(settings, to)

    async def run() -> CopyReport:
        db = Database(settings.resolved_database_url)
        try:
            await assembly.check_schema(db)
            return await copy_media(db, source, target)
        finally:
            await source.close()
            await target.close()
            await db.dispose()

    r = asyncio.run(run())
    print(f"copied {r.copied} of {r.total} files from the {source.name} store to the {target.name} store "
          f"({r.already} were there already); every copy read back and verified")
    if r.unheld:
        print(f"warning: {len(r.unheld)} files named by media rows were not in the {source.name} store, so not copied (first: {r.unheld[0]})")
    backup = switch_media_storage(data_dir, to)
    print(f"{data_dir / settings_mod.SETTINGS_FILE} now says media.storage = \"{to}\" (the old file is {backup}); "
          f"restart the node's processes. The {source.name} store still holds every file: remove it when done.")
    return 0


def switch_media_storage(data_dir: Path, kind: StoreKind) -> Path:
    """Set `media.storage` in the node's settings file, changing only that line (or adding it);
    the old file is kept beside it. Returns the backup's path."""
    path = data_dir / settings_mod.SETTINGS_FILE
    text = path.read_text(encoding="utf-8")
    new = _with_media_storage(text, kind)
    expected = copy.deepcopy(tomllib.loads(text))
    expected.setdefault("media", {})["storage"] = kind.value
    if _parsed(new) != expected:  # only that one value may differ
        raise Invalid(f'cannot change media.storage in {path} by itself: set it to "{kind}" by hand')
    return settings_mod.rewrite(data_dir, new)


def _with_media_storage(text: str, kind: StoreKind) -> str:
    lines = text.splitlines(keepends=True)
    setting = f'storage = "{kind}"\n'
    if "storage" in tomllib.loads(text).get("media", {}):
        n = KeyLines(text).line("media", "storage")
        if n is not None:
            lines[n - 1] = _QUOTED_VALUE.sub(lambda m: f'{m.group(1)}"{kind}"', lines[n - 1], count=1)
        return "".join(lines)
    header = KeyLines(text).line("media")
    if header is not None and _MEDIA_HEADER.match(lines[header - 1]):
        lines.insert(header, setting)
        return "".join(lines)
    return text + ("" if text.endswith("\n") or not text else "\n") + "\n[media]\n" + setting


def _parsed(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def register(sub: Any, data_dir_arg: Callable[[argparse.ArgumentParser], None], with_ctx: WithCtx) -> None:
    """Add `atrium media prune` and `atrium media migrate` to the command line."""
    media = sub.add_parser("media", help="the node's pictures and files: prune, move between stores")
    msub = media.add_subparsers(dest="media_command", required=True)
    sp = msub.add_parser("prune", help="remove orphaned uploads, old cached copies of peers' media, and unnamed files")
    sp.add_argument("--dry-run", action="store_true", help="say what would be removed; change nothing")
    sp.add_argument("--older-than", type=int, default=1, metavar="DAYS",
                    help="only what is older than this many days (default 1)")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_media_prune(a, with_ctx))
    sp = msub.add_parser("migrate", help="copy every file to another store, verify, then switch media.storage")
    sp.add_argument("--to", required=True, choices=[k.value for k in StoreKind], help="the store to move to")
    data_dir_arg(sp)
    sp.set_defaults(func=cmd_media_migrate)
