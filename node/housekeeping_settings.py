"""The `housekeeping.*` keys of atrium.toml, checked: how long each table that grows with time
keeps its rows (node/housekeeping.py prunes them). node/settings.py reads the file; this is its
housekeeping part.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage.errors import Invalid


@dataclass(frozen=True)
class HousekeepingLimits:
    """Days each kind of row is kept (0: forever), and how many rows of a table one iteration
    of the worker removes at most."""

    remote_posts_days: int = 30
    inbox_log_days: int = 30
    tombstones_days: int = 90
    read_notifications_days: int = 90
    failed_jobs_days: int = 30
    batch: int = 1000


DEFAULTS = HousekeepingLimits()

# A replayed request is accepted only while its signature's date is fresh (12 hours old at
# most, 1 hour ahead: federation/sig_common.py), so the inbox log (the dedupe of replays) and
# tombstones (a Create replayed after its Delete) must outlive that window: a whole day, the
# least a value in days can say, does. A peer's own retries of a Create are signed afresh and
# may come days later, which is why tombstones are kept longer by default.

KEYS: dict[str, tuple[type, str]] = {
    "housekeeping.remote_posts_days": (int, f"Days a peer's post that nobody here follows, liked, boosted, bookmarked, replied to, is mentioned in or was told about is kept (default {DEFAULTS.remote_posts_days}; 0 keeps them forever)."),
    "housekeeping.inbox_log_days": (int, f"Days the inbox log keeps accepted activities, the dedupe of replays (default {DEFAULTS.inbox_log_days}; 0 keeps them forever)."),
    "housekeeping.tombstones_days": (int, f"Days a deleted post's tombstone is kept, so a late or replayed Create of it is refused (default {DEFAULTS.tombstones_days}; 0 keeps them forever)."),
    "housekeeping.read_notifications_days": (int, f"Days a read notification is kept (default {DEFAULTS.read_notifications_days}; unread ones stay; 0 keeps them forever)."),
    "housekeeping.failed_jobs_days": (int, f"Days a job that failed for good is kept for inspection (default {DEFAULTS.failed_jobs_days}; 0 keeps them forever)."),
    "housekeeping.batch": (int, f"Most rows of one table one housekeeping iteration removes (default {DEFAULTS.batch}); the worker goes on at once while a table has more."),
}


def housekeeping_limits(path: Path, flat: dict[str, object]) -> HousekeepingLimits:
    """The `housekeeping.*` settings, checked (node/settings.py has checked their types)."""
    values: dict[str, int] = {}
    for key in KEYS:
        name = key.removeprefix("housekeeping.")
        value = int(flat.get(key, getattr(DEFAULTS, name)))  # type: ignore[call-overload]
        if value < 0 or (name == "batch" and value < 1):
            raise Invalid(f"{path}: {key} must be {'a positive number' if name == 'batch' else '0 or more days'}")
        values[name] = value
    return HousekeepingLimits(**values)
