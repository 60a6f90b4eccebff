"""`atrium hold add|release|list`: legal holds on this node's accounts (node/holds.py). Each
change is in the audit trail; errors are one line and a non-zero exit."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Awaitable, Callable
from typing import Any

from node import holds
from node.context import NodeContext

WithCtx = Callable[[argparse.Namespace, Callable[[NodeContext], Awaitable[Any]]], Any]


def _by() -> str:
    """Who changed a hold, as the audit trail names a command-line change."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "unknown user"
    return f"atrium hold ({user})"


def cmd_add(args: argparse.Namespace, with_ctx: WithCtx) -> int:
    hold = with_ctx(args, lambda ctx: holds.place_hold(ctx, args.case, args.account, args.reason or "", _by()))
    print(f"@{hold.username} is held under the case {hold.case_name!r}: retention, their own deletes and "
          "account deletion keep their content until the hold is released")
    return 0


def cmd_release(args: argparse.Namespace, with_ctx: WithCtx) -> int:
    released = with_ctx(args, lambda ctx: holds.release_hold(ctx, args.case, args.account, _by()))
    print(f"released the case {args.case!r} for " + ", ".join(f"@{name}" for name in released))
    return 0


def cmd_list(args: argparse.Namespace, with_ctx: WithCtx) -> int:
    rows: list[holds.Hold] = with_ctx(args, holds.list_holds)
    if not rows:
        print("no account is under legal hold")
        return 0
    for h in rows:
        since = h.created_at.strftime("%Y-%m-%d %H:%M UTC")
        print(f"{h.case_name}\t@{h.username}\tsince {since}\tby {h.created_by}" + (f"\t{h.reason}" if h.reason else ""))
    return 0


def register(sub: Any, data_dir_arg: Callable[[argparse.ArgumentParser], None], with_ctx: WithCtx) -> None:
    """Add `atrium hold add|release|list` to the command line."""
    hold = sub.add_parser("hold", help="legal holds: keep accounts' content from removal")
    hsub = hold.add_subparsers(dest="hold_command", required=True)
    sp = hsub.add_parser("add", help="hold an account under a case")
    sp.add_argument("--case", required=True, help="the case's name, as lawyers call it")
    sp.add_argument("--account", required=True, help="a local username")
    sp.add_argument("--reason", help="why (kept with the hold and in the audit trail)")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_add(a, with_ctx))
    sp = hsub.add_parser("release", help="release a case's hold of one account, or of all it holds")
    sp.add_argument("--case", required=True)
    sp.add_argument("--account", help="only this local username (default: every account the case holds)")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_release(a, with_ctx))
    sp = hsub.add_parser("list", help="the holds in force, by case")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_list(a, with_ctx))
