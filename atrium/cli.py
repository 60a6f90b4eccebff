"""The `atrium` command line. User errors print one line and exit non-zero; never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import shutil
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from atrium import (
    assembly,
    cli_community,
    cli_db,
    cli_delete,
    cli_export,
    cli_hold,
    cli_keys,
    cli_maintenance,
    cli_media,
    cli_policy,
    cli_scim,
    cli_search,
    event_loop,
)
from atrium import demo as demo_cmd
from node import accounts, node_names, shared_settings
from node import settings as settings_mod
from node.context import NodeContext
from node.domains import served_domain
from node.instance import create_instance, get_instance
from node.settings import Settings
from node.version import VERSION
from storage import migrate, pg_database
from storage.db import Database, normalise_url
from storage.errors import AtriumError
from storage.models import ROLES
from web import logging_mw


class CliError(Exception):
    """A user error: printed as one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"atrium: {message} (see `{self.prog} --help`)\n")


T = TypeVar("T")


def _data_dir(args: argparse.Namespace) -> Path:
    return settings_mod.data_dir_from(getattr(args, "data_dir", None))


def _settings(args: argparse.Namespace) -> Settings:
    return settings_mod.load(_data_dir(args))


def _password(args: argparse.Namespace) -> str:
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise CliError("no password on standard input")
        return password
    if getattr(args, "password", None):
        return str(args.password)
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Again: "):
            raise CliError("the passwords differ")
        return first
    raise CliError("give a password with --password or --password-stdin")


# --- init -------------------------------------------------------------------------------------


async def _init_database(url: str, domain: str, name: str) -> tuple[str, bool]:
    """The setup token, and whether a PostgreSQL database had to be created for the node."""
    created = await pg_database.create_if_missing(url)
    try:
        db = Database(url)
        try:
            before = await migrate.current_revision(db)
            await migrate.upgrade(db)
            try:
                token = await create_instance(db, domain)
                if name:
                    await shared_settings.publish(db, shared_settings.NAME, name, source="atrium init")
                return token, created
            except BaseException:
                if before is None:  # we made the schema: take it away again
                    await migrate.downgrade(db, "base")
                raise
        finally:
            await db.dispose()
    except BaseException:
        if created:  # and the database, if we made that too
            await pg_database.drop(url)
        raise


def cmd_init(args: argparse.Namespace) -> int:
    data_dir = _data_dir(args)
    if (data_dir / settings_mod.SETTINGS_FILE).exists():
        raise CliError(f"a node already exists in {data_dir}; refusing to overwrite it")
    if data_dir.exists() and not data_dir.is_dir():
        raise CliError(f"{data_dir} exists and is not a directory")
    scheme = args.scheme
    domain = served_domain(args.domain, scheme)
    name = node_names.clean(args.name or "")
    database_url = args.database_url or settings_mod.DEFAULT_SQLITE_URL
    normalise_url(database_url)  # fail on a malformed URL before touching anything
    created_dir = not data_dir.exists()
    before = set(os.listdir(data_dir)) if not created_dir else set()
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir.resolve(), domain=domain, scheme=scheme, database_url=database_url)
    created = False  # a PostgreSQL database made for this node, to drop again on failure
    try:
        token, created = asyncio.run(_init_database(settings.resolved_database_url, domain, name))
        _write_atomic(data_dir / settings_mod.POLICY_FILE, settings_mod.DEFAULT_POLICY)
        # The settings file last: its presence is what marks the directory as a node.
        _write_atomic(data_dir / settings_mod.SETTINGS_FILE, settings_mod.render(settings))
    except BaseException:
        if created:
            asyncio.run(pg_database.drop(settings.resolved_database_url))
        if created_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            for name in set(os.listdir(data_dir)) - before:
                path = data_dir / name
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        raise
    print(f"Created Atrium node {domain}" + (f" ({name})" if name else "") + f" in {data_dir}")
    if created:
        url = make_url(settings.resolved_database_url)
        print(f"  database: created {url.database} on {url.host}:{url.port or 5432}")
    print(f"  settings: {data_dir / settings_mod.SETTINGS_FILE}")
    print(f"  policy:   {data_dir / settings_mod.POLICY_FILE} (admits no peer yet)")
    print("One-time setup token (shown once; the web UI's first-run page asks for it to make the first admin,"
          f" unless `atrium user create NAME --admin` makes one first): {token}")
    print(f"Next: atrium serve --data-dir {data_dir}")
    return 0


def _write_atomic(path: Path, content: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)


# --- serve / migrate --------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.listen_port
    logging_mw.configure(args.log_format or settings.log_format)
    from atrium import server  # the whole web application: loaded by `serve` only, not by every command

    event_loop.run(server.serve(settings, host, port, args.role))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def run() -> tuple[str | None, str | None]:
        db = Database(settings.resolved_database_url)
        try:
            before = await migrate.current_revision(db)
            await migrate.upgrade(db)
            return before, await migrate.current_revision(db)
        finally:
            await db.dispose()

    before, after = asyncio.run(run())
    print(f"database schema: {before or 'empty'} -> {after}" if before != after else f"database schema already at {after}")
    return 0


# --- user -------------------------------------------------------------------------------------


def _with_ctx(args: argparse.Namespace, fn: Callable[[NodeContext], Awaitable[T]]) -> T:
    settings = _settings(args)

    async def run() -> T:
        db = Database(settings.resolved_database_url)
        try:
            await assembly.check_schema(db)
            ctx = assembly.context_for(settings, db)
            try:
                return await fn(ctx)
            finally:
                if ctx.media is not None:
                    await ctx.media.close()
        finally:
            await db.dispose()

    return asyncio.run(run())


def cmd_user_create(args: argparse.Namespace) -> int:
    password = _password(args)

    async def run(ctx: NodeContext) -> None:
        token_pending = (await get_instance(ctx.db)).setup_token_hash is not None
        a = await accounts.create_user(
            ctx,
            args.username,
            password,
            role="admin" if args.admin else "user",
            display_name=args.display_name,
            email=args.email,
        )
        print(f"created {a.role} {a.username}@{ctx.domain}")
        if a.role == "admin" and token_pending:
            print("the setup token `atrium init` printed is no longer needed, and no longer works: sign in as this admin")

    _with_ctx(args, run)
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    async def run(ctx: NodeContext) -> None:
        rows = await accounts.list_users(ctx)
        print(f"{'username':<32} {'role':<10} {'status':<9} display name")
        for a in rows:
            status = "disabled" if a.disabled else "active"
            print(f"{a.username:<32} {a.role:<10} {status:<9} {a.display_name}")

    _with_ctx(args, run)
    return 0


def _change_user(args: argparse.Namespace, change: Callable[[NodeContext], Awaitable[object]], done: str) -> int:
    """Make one change to a user and say what was done once it is."""

    async def run(ctx: NodeContext) -> None:
        await change(ctx)
        print(done)

    _with_ctx(args, run)
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    return _change_user(
        args,
        lambda ctx: accounts.disable(ctx, args.username),
        f"disabled {args.username}; its sessions and tokens are revoked",
    )


def cmd_user_enable(args: argparse.Namespace) -> int:
    return _change_user(args, lambda ctx: accounts.enable(ctx, args.username), f"enabled {args.username}")


def cmd_user_set_password(args: argparse.Namespace) -> int:
    password = _password(args)
    return _change_user(
        args,
        lambda ctx: accounts.set_password(ctx, args.username, password),
        f"password changed for {args.username}; its other sessions are revoked",
    )


def cmd_user_set_role(args: argparse.Namespace) -> int:
    return _change_user(
        args, lambda ctx: accounts.set_role(ctx, args.username, args.role), f"{args.username} is now {args.role}"
    )


# --- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="atrium", description="Atrium: a federated social server for organisations.")
    p.add_argument("--version", action="version", version=f"atrium {VERSION}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def data_dir_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--data-dir", help="the node's directory (default: $ATRIUM_DATA_DIR)")

    sp = sub.add_parser("init", help="create a new node")
    data_dir_arg(sp)
    sp.add_argument("--domain", required=True, help="public host name, HOST[:PORT]")
    sp.add_argument("--scheme", choices=("https", "http"), default="https")
    sp.add_argument("--database-url", help="default: a SQLite file in the data directory")
    sp.add_argument("--name", help='the name people read for the node, e.g. "Acme Engineering" (default: its domain)')
    sp.set_defaults(func=cmd_init)

    sp = sub.add_parser("serve", help="serve the node and run its workers")
    data_dir_arg(sp)
    sp.add_argument("--host", help="address to listen on (default from atrium.toml)")
    sp.add_argument("--port", type=int, help="port (default: the domain's port, else 8000)")
    sp.add_argument("--role", choices=assembly.ROLES, default="all",
                    help="web: HTTP only; worker: queues only (serves /health/* and /metrics); all (default): both")
    sp.add_argument("--log-format", choices=logging_mw.LOG_FORMATS, help="text or json (default from atrium.toml log.format)")
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser("migrate", help="bring the database to the code's schema")
    data_dir_arg(sp)
    sp.set_defaults(func=cmd_migrate)

    user = sub.add_parser("user", help="manage local accounts")
    usub = user.add_subparsers(dest="user_command", required=True, parser_class=_Parser)

    def password_args(sp: argparse.ArgumentParser) -> None:
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--password", help="visible in process lists: prefer --password-stdin")
        g.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    sp = usub.add_parser("create", help="create a local account")
    sp.add_argument("username")
    password_args(sp)
    sp.add_argument("--admin", action="store_true", help="make the account an admin")
    sp.add_argument("--display-name")
    sp.add_argument("--email")
    data_dir_arg(sp)
    sp.set_defaults(func=cmd_user_create)

    sp = usub.add_parser("list", help="list local accounts")
    data_dir_arg(sp)
    sp.set_defaults(func=cmd_user_list)

    for name, func, text in (
        ("disable", cmd_user_disable, "disable an account and revoke its sessions and tokens"),
        ("enable", cmd_user_enable, "enable a disabled account"),
    ):
        sp = usub.add_parser(name, help=text)
        sp.add_argument("username")
        data_dir_arg(sp)
        sp.set_defaults(func=func)
    cli_delete.register(usub, data_dir_arg, _with_ctx)

    sp = usub.add_parser("set-password", help="set an account's password")
    sp.add_argument("username")
    password_args(sp)
    data_dir_arg(sp)
    sp.set_defaults(func=cmd_user_set_password)

    sp = usub.add_parser("set-role", help="set an account's role")
    sp.add_argument("username")
    sp.add_argument("role", choices=ROLES)
    data_dir_arg(sp)
    sp.set_defaults(func=cmd_user_set_role)

    cli_policy.add_commands(sub, data_dir_arg, _Parser, _data_dir)
    demo_cmd.register(sub)
    cli_db.register(sub)
    cli_keys.register(sub)
    cli_media.register(sub, data_dir_arg, _with_ctx)
    cli_scim.register(sub, data_dir_arg, _with_ctx)
    cli_maintenance.register(sub, data_dir_arg, _with_ctx)
    cli_hold.register(sub, data_dir_arg, _with_ctx)
    cli_export.register(sub, data_dir_arg, _with_ctx)
    cli_search.register(sub)
    cli_community.register(sub, data_dir_arg, _with_ctx)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except (CliError, AtriumError) as exc:
        reason = exc.reason if isinstance(exc, AtriumError) else str(exc)
        print(f"atrium: {reason}", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as exc:
        print(f"atrium: cannot use the database: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
