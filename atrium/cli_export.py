"""`atrium export` (the eDiscovery archive of an account, a legal hold's case, or the posts
containing some text) and `atrium export verify` (its signature and every file, against a key
the verifier trusts). docs/compliance.md, "Export"."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from node import export_ediscovery as ediscovery
from node.context import NodeContext
from node.export_zip import load_public_key, verify_archive
from node.instance import get_instance
from storage.errors import Invalid

WithCtx = Callable[[argparse.Namespace, Callable[[NodeContext], Awaitable[Any]]], Any]


def parse_time(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time; one without a zone is UTC."""
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{option} is not an ISO 8601 date or time: {text!r}") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def cmd_export(args: argparse.Namespace, with_ctx: WithCtx) -> int:
    if args.out is None or not (args.account or args.hold or args.query is not None):
        raise Invalid("say what to export (--account USER, --hold CASE or --query TEXT) and where (--out FILE)")
    since, until = parse_time(args.since, "--since"), parse_time(args.until, "--until")
    if since is not None and until is not None and since >= until:
        raise Invalid("--since must be before --until")
    out = Path(args.out)
    if out.exists() or out.is_symlink():
        raise Invalid(f"{out} exists: choose another file name (an export never replaces a file)")

    async def run(ctx: NodeContext) -> ediscovery.Exported:
        if args.account:
            scope = await ediscovery.account_scope(ctx, args.account, since=since, until=until)
        elif args.hold:
            scope = await ediscovery.hold_scope(ctx, args.hold, since=since, until=until)
        else:
            scope = ediscovery.query_scope(args.query, since=since, until=until)
        return await ediscovery.export(ctx, scope, out)

    done: ediscovery.Exported = with_ctx(args, run)
    c = done.counts
    print(f"wrote {done.path}: {c['posts']} posts, {c['direct_messages']} direct messages, {c['sealed_posts']} sealed posts, "
          f"{c['reactions']} reactions, {c['decisions']} policy decisions, {c['media_files']} attachments, "
          f"signed with the instance key")
    if done.missing_media:
        print(f"warning: {len(done.missing_media)} attachments' bytes were no longer in the media store "
              f"(listed in the manifest's missing_media)")
    return 0


def cmd_verify(args: argparse.Namespace, with_ctx: WithCtx) -> int:
    if args.key:
        try:
            pem = Path(args.key).read_bytes()
        except OSError as exc:
            raise Invalid(f"cannot read the key {args.key}: {exc.strerror}") from None
    else:
        args.data_dir = args.verify_data_dir or args.data_dir  # given after `verify`, or before it
        if args.data_dir is None and not os.environ.get("ATRIUM_DATA_DIR"):
            raise Invalid("give the key to trust: --data-dir DIR (the node's instance key) or --key PUBLIC_KEY_PEM")

        async def read_key(ctx: NodeContext) -> bytes:
            return (await get_instance(ctx.db)).public_key_pem.encode()

        pem = with_ctx(args, read_key)
    verified = verify_archive(Path(args.file), load_public_key(pem))
    scope = verified.manifest.get("scope", {})
    print(f"verified {args.file}: the manifest's signature and all {verified.files} files match "
          f"(node {verified.manifest.get('node')}, {scope.get('kind')} {scope.get('value')!r}, "
          f"made {verified.manifest.get('created_at')})")
    return 0


def register(sub: Any, data_dir_arg: Callable[[argparse.ArgumentParser], None], with_ctx: WithCtx) -> None:
    """Add `atrium export` and `atrium export verify` to the command line."""
    sp = sub.add_parser("export", help="a signed eDiscovery archive of an account, a legal hold or a search; or verify one")
    which = sp.add_mutually_exclusive_group()
    which.add_argument("--account", metavar="USER", help="a local account's posts, messages and reactions")
    which.add_argument("--hold", metavar="CASE", help="the accounts a legal hold's case holds or held")
    which.add_argument("--query", metavar="TEXT", help="every post this node holds whose text contains TEXT")
    sp.add_argument("--since", metavar="ISO", help="only what was posted at or after this date or time (UTC unless said)")
    sp.add_argument("--until", metavar="ISO", help="only what was posted before this date or time")
    sp.add_argument("--out", metavar="FILE", help="the archive to write (a new file; never replaced)")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_export(a, with_ctx))
    vsub = sp.add_subparsers(dest="export_command", required=False, parser_class=type(sp))
    vp = vsub.add_parser("verify", help="check an archive's signature and files against a key you trust")
    vp.add_argument("file", metavar="FILE", help="the archive `atrium export` wrote")
    key = vp.add_mutually_exclusive_group()
    key.add_argument("--data-dir", dest="verify_data_dir", metavar="DIR", help="trust this node's instance key (default: $ATRIUM_DATA_DIR)")
    key.add_argument("--key", metavar="PUBLIC_KEY_PEM", help="trust this PEM public key")
    vp.set_defaults(func=lambda a: cmd_verify(a, with_ctx))
