"""Alembic environment: always run with a connection handed in by `storage.migrate`."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy.exc import SAWarning

from storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by running the alembic CLI by hand
    raise RuntimeError("run migrations through `atrium migrate`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction(), warnings.catch_warnings():
    # SQLite cannot reflect expression indexes during batch rebuilds; migrations recreate them.
    warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
    context.run_migrations()
