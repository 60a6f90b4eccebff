"""`atrium keys rotate`: new signing key pairs for the instance actor and local accounts."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from atrium import assembly
from node import keys_rotation
from node import settings as settings_mod
from node.context import NodeContext
from node.keys_rotation import Rotated
from storage.db import Database


async def _rotate(ctx: NodeContext, args: argparse.Namespace) -> list[Rotated]:
    if args.all:
        return await keys_rotation.rotate_all(ctx)
    if args.instance:
        return [await keys_rotation.rotate_instance(ctx)]
    return [await keys_rotation.rotate_account(ctx, args.account)]


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    settings = settings_mod.load(settings_mod.data_dir_from(args.data_dir))

    async def run() -> list[Rotated]:
        db = Database(settings.resolved_database_url)
        try:
            await assembly.check_schema(db)
            return await _rotate(assembly.context_for(settings, db), args)
        finally:
            await db.dispose()

    for rotated in asyncio.run(run()):
        who = "the instance actor" if rotated.username is None else f"{rotated.username}@{settings.domain}"
        print(f"rotated the key of {who}; an Update is queued for the peers that know it")
    print("the key id is unchanged (#main-key): peers re-fetch the new key on their next verification")
    return 0


def register(sub: Any) -> None:
    """Add `atrium keys rotate` to the command line's subcommands."""
    keys = sub.add_parser("keys", help="manage the node's ActivityPub signing keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    sp = ksub.add_parser("rotate", help="replace signing key pairs and tell peers (an Update of each actor)")
    which = sp.add_mutually_exclusive_group(required=True)
    which.add_argument("--account", metavar="USERNAME", help="a local account's key pair")
    which.add_argument("--instance", action="store_true", help="the instance actor's key pair (signs fetches)")
    which.add_argument("--all", action="store_true", help="the instance actor's and every local account's")
    sp.add_argument("--data-dir", help="the node's directory (default: $ATRIUM_DATA_DIR)")
    sp.set_defaults(func=cmd_keys_rotate)
