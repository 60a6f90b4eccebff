"""The `[retention]` table of policy.toml: how long posts are kept, per audience for this
node's own posts, for copies of peers' posts, and for direct messages; absent, forever.

```toml
[retention]
remote = 90            # copies of peers' posts, any audience
direct = 30            # direct messages, this node's and peers' alike
[retention.posts]      # this node's posts, per audience
local = 365
organization = 1095
```

Which rule a post falls under (`Retention.rule_for`): a direct message under `direct` when it
is set; otherwise a peer's post under `remote`, and this node's own under `posts.AUDIENCE`.
No rule: kept forever. The retention worker (node/retention.py) removes what expired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from node.audience import Audience
from node.toml_lines import KeyLines

DIRECT_KEY = Audience.DIRECT.value  # `retention.direct`: the direct audience's own rule
RETENTION_KEYS = {"posts", "remote", DIRECT_KEY}
# `posts.direct` would say what `direct` says: direct messages have one rule, `direct`.
POST_AUDIENCES = tuple(a for a in Audience if a is not Audience.DIRECT)
MAX_DAYS = 36_500  # a hundred years: more is "forever", which is leaving the key out


@dataclass(frozen=True)
class RetentionRule:
    """One rule: its key as the policy file writes it, and how many days it keeps a post."""

    key: str  # "retention.posts.local", "retention.remote", "retention.direct"
    days: int

    def expires(self, created_at: datetime) -> datetime:
        return created_at + timedelta(days=self.days)


@dataclass(frozen=True)
class Retention:
    posts: tuple[tuple[Audience, int], ...] = field(default_factory=tuple)  # this node's posts
    remote: int | None = None  # days a peer's post is kept here
    direct: int | None = None  # days a direct message is kept (here and from peers)

    def rule_for(self, *, local: bool, visibility: str) -> RetentionRule | None:
        """The rule a post falls under, or None: kept forever."""
        if visibility == Audience.DIRECT and self.direct is not None:
            return RetentionRule("retention.direct", self.direct)
        if not local:
            return RetentionRule("retention.remote", self.remote) if self.remote is not None else None
        for audience, days in self.posts:
            if audience == visibility:
                return RetentionRule(f"retention.posts.{audience}", days)
        return None

    def rules(self) -> list[tuple[RetentionRule, bool | None, tuple[Audience, ...]]]:
        """Every rule with what it covers: (rule, local or remote or None for both, audiences);
        what the worker walks, one indexed query each."""
        out: list[tuple[RetentionRule, bool | None, tuple[Audience, ...]]] = []
        if self.direct is not None:
            out.append((RetentionRule("retention.direct", self.direct), None, (Audience.DIRECT,)))
        if self.remote is not None:
            covered = POST_AUDIENCES if self.direct is not None else tuple(Audience)
            out.append((RetentionRule("retention.remote", self.remote), False, covered))
        for audience, days in self.posts:
            out.append((RetentionRule(f"retention.posts.{audience}", days), True, (audience,)))
        return out

    def __bool__(self) -> bool:
        return bool(self.posts) or self.remote is not None or self.direct is not None


def _days(value: object, where: str) -> tuple[int | None, str | None]:
    """(days, None) or (None, the problem)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None, f"{where} must be a whole number of days, not {value!r}"
    if value < 1:
        return None, f"{where} must be at least 1 day (leave the key out to keep posts forever), not {value}"
    if value > MAX_DAYS:
        return None, f"{where} must be at most {MAX_DAYS} days (leave the key out to keep posts forever)"
    return value, None


def parse_retention(lines: KeyLines, raw: object, problems: list[tuple[int | None, str]]) -> Retention:
    """The `[retention]` table; each problem appended as (line, message)."""
    if raw is None:
        return Retention()
    if not isinstance(raw, dict):
        problems.append((lines.line("retention"), "retention must be a table: [retention]"))
        return Retention()
    for key in raw:
        if key not in RETENTION_KEYS:
            problems.append((lines.line("retention", key), f"retention: unknown key {key!r}; known: {', '.join(sorted(RETENTION_KEYS))}"))
    single: dict[str, int | None] = {}
    for key in ("remote", DIRECT_KEY):
        single[key] = None
        if key in raw:
            days, problem = _days(raw[key], f"retention.{key}")
            if problem:
                problems.append((lines.line("retention", key), problem))
            single[key] = days
    posts: list[tuple[Audience, int]] = []
    table = raw.get("posts", {})
    if not isinstance(table, dict):
        problems.append((lines.line("retention", "posts"), "retention.posts must be a table of audiences: [retention.posts]"))
        table = {}
    known = ", ".join(a.value for a in POST_AUDIENCES)
    for name, value in table.items():
        line = lines.line("retention", "posts", name)
        if name == Audience.DIRECT:
            problems.append((line, "retention.posts.direct: direct messages are kept by retention.direct"))
            continue
        if name not in {a.value for a in POST_AUDIENCES}:
            problems.append((line, f"retention.posts: unknown audience {name!r}; known: {known}"))
            continue
        days, problem = _days(value, f"retention.posts.{name}")
        if problem or days is None:
            problems.append((line, problem or ""))
            continue
        posts.append((Audience(name), days))
    return Retention(posts=tuple(posts), remote=single["remote"], direct=single[DIRECT_KEY])
