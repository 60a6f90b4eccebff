"""The soak, short form (ATRIUM_SOAK_SECONDS, default 30; the long form on demand:
`ATRIUM_SOAK_SECONDS=600 pytest tests/faults/test_soak.py` or `python -m tests.faults.soak`)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.faults.soak import soak

SECONDS = float(os.environ.get("ATRIUM_SOAK_SECONDS", "30"))


async def test_a_steady_stream_from_several_peers_is_stored_once_in_bounded_memory(
    tmp_path: Path, node_database: str | None
) -> None:
    # Given four peers signing Create(Note)s into one node's shared inbox at once, for a while
    result = await soak(tmp_path, SECONDS, peers=4, database_url=node_database)
    # Then every request was accepted, and what was accepted is what was stored, once
    assert result.answers == {202: result.sent}, result.summary()
    assert result.stored == result.accepted > 0, result.summary()
    assert result.duplicates == 0, result.summary()
    # And resident memory after warm-up grew by less than 10 %
    assert result.rss_growth < 0.10, result.summary()
