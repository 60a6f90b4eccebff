"""`atrium community create|list`: the node's communities (docs/communities.md), made by an
operator as the web UI's form makes them."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from node import accounts, communities
from node.context import NodeContext
from storage.errors import Invalid
from storage.models import CommunityMode

WithCtx = Callable[[argparse.Namespace, Callable[[NodeContext], Awaitable[Any]]], Any]


async def _create(ctx: NodeContext, args: argparse.Namespace) -> str:
    moderator = None
    if args.moderator:
        moderator = await accounts.get_local(ctx, args.moderator.lstrip("@"))
        if moderator.is_group or moderator.disabled:
            raise Invalid(f"{args.moderator} is not a person of this node who can moderate")
    group = await communities.create_community(
        ctx, args.name, audience=args.audience, mode=args.mode, display_name=args.display_name,
        description=args.description or "", rules=args.rules or "", creator=moderator)
    who = f", moderated by {moderator.username}" if moderator else " (no moderator yet: an admin of the node moderates it)"
    return f"created community {group.username}@{ctx.domain}: {args.audience}, {args.mode}{who}"


def cmd_create(args: argparse.Namespace, with_ctx: WithCtx) -> int:
    print(with_ctx(args, lambda ctx: _create(ctx, args)))
    return 0


def cmd_list(args: argparse.Namespace, with_ctx: WithCtx) -> int:
    rows: list[communities.Listed] = with_ctx(args, communities.list_communities)
    if not rows:
        print("no communities (make one with `atrium community create`)")
        return 0
    print(f"{'name':<32} {'audience':<13} {'mode':<9} {'members':>7}  display name")
    for r in rows:
        print(f"{r.account.username:<32} {r.community.audience:<13} {r.community.mode:<9} {r.members:>7}  "
              f"{r.account.display_name}")
    return 0


def register(sub: Any, data_dir_arg: Callable[[argparse.ArgumentParser], None], with_ctx: WithCtx) -> None:
    """Add `atrium community create|list` to the command line."""
    community = sub.add_parser("community", help="the node's communities (groups people join)")
    csub = community.add_subparsers(dest="community_command", required=True)
    sp = csub.add_parser("create", help="make a community")
    sp.add_argument("name", help="its name, shared with people's: no user or community may have it already")
    sp.add_argument("--audience", required=True, metavar="AUDIENCE",
                    help=f"who may see and join it: {', '.join(communities.AUDIENCES)}")
    sp.add_argument("--mode", default=CommunityMode.OPEN.value, metavar="MODE",
                    help=f"how people join: {', '.join(CommunityMode)} (default: open)")
    sp.add_argument("--display-name", help="the name people read (default: its name)")
    sp.add_argument("--description", help="what it is about")
    sp.add_argument("--rules", help="its rules, shown on its page")
    sp.add_argument("--moderator", metavar="USERNAME", help="a person of this node: its first moderator and member")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_create(a, with_ctx))
    sp = csub.add_parser("list", help="list the communities with their audience, mode and members")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_list(a, with_ctx))
