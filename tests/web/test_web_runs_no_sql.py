"""`web/` runs no SQL of its own: what it shows, it asks of `node/` (docs/architecture.md).

Checked over the syntax tree of every module under `web/`: no import of SQLAlchemy (any of it,
its errors included: `storage.errors` names the database errors the web tells apart), none of
storage's session and query API (`storage.db`, `storage.jobs`, `storage.migrate`,
`storage.copy`, `storage.pg_database`), and no database session opened on a context
(`ctx.db.reader()`, `ctx.db.session()`). The models (`storage.models`) stay importable: they are
the types node functions return; `storage.errors` and `storage.ids` hold no queries.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUERY_MODULES = ("sqlalchemy", "storage.db", "storage.jobs", "storage.migrate", "storage.copy", "storage.pg_database")
STORAGE_QUERY_NAMES = frozenset({"db", "jobs", "migrate", "copy", "pg_database"})
SESSION_METHODS = frozenset({"reader", "session"})


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    what: str


def _queries(module: str) -> bool:
    return any(module == q or module.startswith(q + ".") for q in QUERY_MODULES)


class _Finder(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module = module
        self.found: list[Violation] = []

    def _flag(self, node: ast.AST, what: str) -> None:
        self.found.append(Violation(self.module, getattr(node, "lineno", 0), what))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if _queries(alias.name):
                self._flag(node, f"import {alias.name}")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            if _queries(module) or (module == "storage" and alias.name in STORAGE_QUERY_NAMES):
                self._flag(node, f"from {module} import {alias.name}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        # `ctx.db.reader()`, `self.ctx.db.session()`: a session opened here would run SQL here.
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in SESSION_METHODS
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "db"
        ):
            self._flag(node, f"{ast.unparse(func)}()")
        self.generic_visit(node)


def violations(root: Path) -> list[Violation]:
    """Every place under `root/web` that imports SQLAlchemy or storage's query API, or opens a
    database session."""
    finders = [_Finder(path.relative_to(root).as_posix()) for path in sorted((root / "web").rglob("*.py"))]
    for finder in finders:
        finder.visit(ast.parse((root / finder.module).read_text(encoding="utf-8"), filename=finder.module))
    return [v for finder in finders for v in finder.found]


def test_no_module_of_web_runs_sql() -> None:
    # Given every module under web/, When their syntax trees are searched for SQLAlchemy,
    # storage's query API and sessions, Then there are none: every query is a node function
    assert [f"{v.module}:{v.line}: {v.what}" for v in violations(ROOT)] == []


SNEAKY = """
        import sqlalchemy
        import sqlalchemy.orm as orm
        from sqlalchemy import select
        from sqlalchemy.exc import IntegrityError
        from storage import jobs
        from storage.db import Database
        from storage.migrate import current_revision

        async def sneak(request, ctx):
            async with request.app[CTX].db.reader() as s:
                await s.scalar(select(1))
            async with ctx.db.session() as s:
                pass
"""
FINE = """
        from node import accounts, sessions
        from storage.errors import DATABASE_AWAY, NotFound
        from storage.ids import parse_id
        from storage.models import Account, Post

        async def fine(p, ctx, account):
            token, _ = await sessions.create(p.ctx, account, "ua")
            p.request.cookies.get("session")
            return await accounts.get_local(ctx, "alice"), token
"""


def test_the_checker_catches_planted_sql(tmp_path: Path) -> None:
    # Given a web/ with a module that imports SQLAlchemy and storage's query API and opens
    # sessions, and one that only uses node functions, models, errors and ids
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "sneaky.py").write_text(textwrap.dedent(SNEAKY), encoding="utf-8")
    (tmp_path / "web" / "fine.py").write_text(textwrap.dedent(FINE), encoding="utf-8")
    # When the checker reads it
    found = violations(tmp_path)
    # Then every import and session of the first is reported, at its line, and nothing of the second
    assert {v.module for v in found} == {"web/sneaky.py"}
    assert {(v.line, v.what) for v in found} == {
        (2, "import sqlalchemy"),
        (3, "import sqlalchemy.orm"),
        (4, "from sqlalchemy import select"),
        (5, "from sqlalchemy.exc import IntegrityError"),
        (6, "from storage import jobs"),
        (7, "from storage.db import Database"),
        (8, "from storage.migrate import current_revision"),
        (11, "request.app[CTX].db.reader()"),
        (13, "ctx.db.session()"),
    }
