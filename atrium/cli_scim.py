"""`atrium scim token create/list/revoke`: the bearer tokens an identity provider presents to
the node's SCIM endpoint (/scim/v2/, docs/identity.md)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from node import scim_tokens
from node.context import NodeContext

WithCtx = Callable[[argparse.Namespace, Callable[[NodeContext], Awaitable[Any]]], Any]


async def _create(ctx: NodeContext, name: str | None) -> tuple[str, str, str]:
    made, token = await scim_tokens.create_token(ctx, name)
    return made, token, ctx.base_url


def cmd_create(args: argparse.Namespace, with_ctx: WithCtx) -> int:
    name, token, base_url = with_ctx(args, lambda ctx: _create(ctx, args.name))
    print(f"SCIM token {name} created; it is shown this once only. Give the identity provider "
          f"the tenant URL {base_url}/scim/v2/ and this token:")
    print(token)
    return 0


def cmd_list(args: argparse.Namespace, with_ctx: WithCtx) -> int:
    rows: list[scim_tokens.TokenInfo] = with_ctx(args, scim_tokens.list_tokens)
    if not rows:
        print("no SCIM tokens (make one with `atrium scim token create`)")
        return 0
    print(f"{'name':<32} {'status':<8} {'created':<26} last used")
    for r in rows:
        print(f"{r.name:<32} {'revoked' if r.revoked else 'active':<8} {r.created_at:<26} {r.last_used_at or 'never'}")
    return 0


def cmd_revoke(args: argparse.Namespace, with_ctx: WithCtx) -> int:
    with_ctx(args, lambda ctx: scim_tokens.revoke_token(ctx, args.name))
    print(f"revoked the SCIM token {args.name}; requests carrying it are refused from now on")
    return 0


def register(sub: Any, data_dir_arg: Callable[[argparse.ArgumentParser], None], with_ctx: WithCtx) -> None:
    """Add `atrium scim token create|list|revoke` to the command line."""
    scim = sub.add_parser("scim", help="SCIM provisioning from the company directory")
    ssub = scim.add_subparsers(dest="scim_command", required=True)
    token = ssub.add_parser("token", help="the bearer tokens identity providers present")
    tsub = token.add_subparsers(dest="token_command", required=True)
    sp = tsub.add_parser("create", help="make a token; it is printed alone on the last line, once")
    sp.add_argument("--name", help="a name to know it by, e.g. entra (default: scim-XXXXXX)")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_create(a, with_ctx))
    sp = tsub.add_parser("list", help="list the tokens (never the tokens themselves)")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_list(a, with_ctx))
    sp = tsub.add_parser("revoke", help="refuse a token from now on")
    sp.add_argument("name")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_revoke(a, with_ctx))
