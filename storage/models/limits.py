"""What the node's limits share between its processes: the state of each database-held limit
(posting buckets, sign-in back-offs) and the serving processes alive, by which the inbox's
in-process buckets size their share of the node's rate (node/ratelimit.py, node/serving.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class LimitState(Base):
    """One limited key: a token bucket's tokens, or a back-off's failures, as of `stamp`
    (seconds on the node's wall clock, which every process shares). The key is a kind and a
    hash, so no login name or client address is kept in the clear."""

    __tablename__ = "limit_states"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    level: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float, index=True)


class ServingProcess(Base):
    """A process serving the node's HTTP (`atrium serve --role web` or `all`), seen alive at
    `seen_at`: it refreshes its row every few seconds and removes it when it stops."""

    __tablename__ = "serving_processes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(255), default="")  # host:port, for the operator
    pid: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
