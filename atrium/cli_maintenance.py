"""`atrium maintenance prune [--dry-run]`: the housekeeping rules (node/housekeeping.py) applied
now, until nothing they name is left, or only counted."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from node import housekeeping
from node import settings as settings_mod
from node.context import NodeContext
from storage.models import utcnow

T = TypeVar("T")
WithCtx = Callable[[argparse.Namespace, Callable[[NodeContext], Awaitable[T]]], T]


def cmd_prune(args: argparse.Namespace, with_ctx: WithCtx[dict[str, int]]) -> int:
    limits = settings_mod.load(settings_mod.data_dir_from(args.data_dir)).housekeeping
    now = utcnow()
    if args.dry_run:
        counts = with_ctx(args, lambda ctx: housekeeping.pending(ctx, limits, now))
        print("would remove (a dry run: nothing was changed):")
    else:
        counts = with_ctx(args, lambda ctx: housekeeping.prune_all(ctx, limits, now))
        print("removed:")
    width = max(len(table) for table in counts)
    for table, n in counts.items():
        print(f"  {table:<{width}}  {n}")
    print(f"{sum(counts.values())} rows in all (limits: [housekeeping] in atrium.toml, docs/configuration.md)")
    return 0


def register(sub: Any, data_dir_arg: Callable[[argparse.ArgumentParser], None], with_ctx: WithCtx[Any]) -> None:
    """Add `atrium maintenance prune` to the command line."""
    maintenance = sub.add_parser("maintenance", help="keep the tables that grow with time within their limits")
    msub = maintenance.add_subparsers(dest="maintenance_command", required=True)
    sp = msub.add_parser("prune", help="remove what housekeeping would (old peers' posts nobody here uses, the inbox "
                         "log, tombstones, expired sessions, codes and tokens, idempotency keys, read notifications, "
                         "failed jobs)")
    sp.add_argument("--dry-run", action="store_true", help="print how many rows of each table would go; change nothing")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_prune(a, with_ctx))
