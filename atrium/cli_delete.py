"""`atrium user delete USERNAME`: an admin deletes a local account (node/account_deletion.py),
after `--yes` or the username typed again on a terminal; never on a guess from a pipe."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from node.account_deletion import Deleted, delete_local
from node.context import NodeContext
from storage.errors import Invalid

WithCtx = Callable[[argparse.Namespace, Callable[[NodeContext], Awaitable[Deleted]]], Deleted]

WARNING = (
    "Deleting {name} removes its posts, follows, likes, bookmarks, media and sign-ins for good, tells every "
    "node that knows it to remove them too, and keeps the name from being used again."
)


def _confirmed(username: str) -> None:
    """The username typed again on a terminal; anything else refuses (a pipe cannot say yes)."""
    if not sys.stdin.isatty():
        raise Invalid("no terminal to confirm on: pass --yes to delete without asking")
    print(WARNING.format(name=username))
    typed = input(f"Type {username} to delete it: ").strip()
    if typed.lower() != username.lower():
        raise Invalid(f"not deleted: {typed!r} is not {username!r}")


def cmd_user_delete(args: argparse.Namespace, with_ctx: WithCtx) -> int:
    if not args.yes:
        _confirmed(args.username)
    done = with_ctx(args, lambda ctx: delete_local(ctx, args.username, by="cli", reason=args.reason))
    print(f"deleted {done.username}: {done.posts_removed} posts removed, {done.peers_told} peers told; "
          "its keys are destroyed once those deliveries are done")
    return 0


def register(usub: Any, data_dir_arg: Callable[[argparse.ArgumentParser], None], with_ctx: WithCtx) -> None:
    """Add `atrium user delete` to the `user` commands."""
    sp = usub.add_parser("delete", help="delete an account for good (its content here and at peers)")
    sp.add_argument("username")
    sp.add_argument("--yes", action="store_true", help="do not ask (needed when there is no terminal)")
    sp.add_argument("--reason", default="", help="why, for the audit trail")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_user_delete(a, with_ctx))
