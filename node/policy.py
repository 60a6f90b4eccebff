"""The trust policy: what may cross this node's boundary, both ways, and which rule said so.

`DATA_DIR/policy.toml` is parsed into a `Policy`; `PolicyStore` reloads it when the file
changes and keeps the previous policy in force when the new one is invalid. Every way out of
the node asks `Policy.outbound`, every way in `Policy.inbound`: one function each. Every
request the node itself makes to another host first asks `Policy.contact` (through the
outbound gate, `node.contact`).
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, partial
from pathlib import Path

from node import shared_settings
from node.audience import Audience
from node.domains import canonical_domain, is_address
from node.loops import Periodic
from node.organization import OrgDomains
from node.retention_rules import Retention, parse_retention
from node.toml_limits import nesting_problem
from node.toml_lines import KeyLines
from node.trust import Trust
from storage.db import Database, WhenChanged
from storage.errors import Invalid

log = logging.getLogger(__name__)

TRUST_LEVELS = tuple(Trust)  # the words the policy file may write, as its messages list them
RANK: dict[str, int] = {t.value: t.rank for t in Trust}  # by the word: a caller may hold a plain string
MODES = ("allowlist", "open")
PEER_KEYS = {"trust", "reject_media", "withhold_media", "accept_announcements"}
TOP_KEYS = {"mode", "default_trust", "peers", "rules", "retention"}
RULE_KEYS = {"name", "pattern", "below", "action"}
RULE_ACTIONS = ("refuse",)
SCANNED_CHARS = 100_000  # content rules look at this much of a post's text


@dataclass(frozen=True)
class PeerRule:
    pattern: str  # canonical domain (node/domains.py), `*.` wildcard, optional `:port`
    trust: Trust
    reject_media: bool = False  # inbound: the peer's attachments are dropped, its text kept
    withhold_media: bool = False  # outbound: our attachments do not go to the peer, the text does
    accept_announcements: bool = False  # inbound: the peer's organisation-wide announcements are shown here

    def __post_init__(self) -> None:
        object.__setattr__(self, "trust", Trust(self.trust))  # the policy file's word, typed

    def matches(self, domain: str) -> int:
        """0 when it does not match; else a specificity (higher wins)."""
        host, _, port = domain.rpartition(":") if _has_port(domain) else (domain, "", "")
        p_host, _, p_port = self.pattern.rpartition(":") if _has_port(self.pattern) else (self.pattern, "", "")
        if p_port and p_port != port:
            return 0
        bonus = 1 if p_port else 0
        if p_host.startswith("*."):
            suffix = p_host[1:]
            return (2 * len(suffix) + bonus) if host.endswith(suffix) and host != suffix[1:] else 0
        return (10_000 + bonus) if host == p_host else 0


def _has_port(domain: str) -> bool:
    return ":" in domain and not domain.endswith("]")


@dataclass(frozen=True)
class ContentRule:
    """Data-loss prevention: posts whose text matches `pattern` do not go to peers trusted
    below `below`."""

    name: str
    pattern: str
    below: Trust = Trust.ORGANIZATION
    action: str = "refuse"

    def __post_init__(self) -> None:
        object.__setattr__(self, "below", Trust(self.below))
        object.__setattr__(self, "_regex", re.compile(self.pattern))

    def holds(self, trust: str, text: str) -> bool:
        return RANK[trust] < RANK[self.below] and self._regex.search(text[:SCANNED_CHARS]) is not None  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    trust: Trust
    rule: str  # which rule decided, in words an operator can find in the file
    reason: str


@dataclass(frozen=True)
class Policy:
    mode: str = "allowlist"
    default_trust: Trust = Trust.PUBLIC
    peers: tuple[PeerRule, ...] = field(default_factory=tuple)
    rules: tuple[ContentRule, ...] = field(default_factory=tuple)
    retention: Retention = field(default_factory=Retention)  # how long posts are kept (node/retention_rules.py)

    def __post_init__(self) -> None:
        object.__setattr__(self, "default_trust", Trust(self.default_trust))

    def peer_rule(self, domain: str) -> PeerRule | None:
        best, score = None, 0
        for rule in self.peers:
            s = rule.matches(domain)
            if s > score:
                best, score = rule, s
        return best

    def trust_of(self, domain: str) -> tuple[Trust, str]:
        """(trust level, the rule that gave it) for a canonical domain."""
        rule = self.peer_rule(domain)
        if rule is not None:
            return rule.trust, f'peers."{rule.pattern}"'
        if self.mode == "open":
            return self.default_trust, "default_trust (open mode)"
        return _BLOCKED, "mode = allowlist (unknown domain)"

    def organization_domains(self) -> OrgDomains:
        """The organisation's peers: every domain `trust_of` gives `organization`, exact or by
        wildcard, as a check and as SQL (node/organization.py). Made once per policy."""
        return self._organization

    @cached_property
    def _organization(self) -> OrgDomains:
        return OrgDomains(self)

    def outbound(self, visibility: str, domain: str | None, text: str = "") -> Decision:
        """May a post of `visibility` (and `text`) go to `domain`? The one function every way
        out of the node asks: delivery, boosts, replies, fetches, pages, the API. `None` is an
        anonymous reader (an unsigned request): treated as the open web, trust `public`. Which
        trust levels may receive an audience is the audience's rule (`Audience.admits`)."""
        if domain is None:
            trust, rule = Trust.PUBLIC, "anonymous reader"
        else:
            trust, rule = self.trust_of(domain)
        audience = _AUDIENCES.get(visibility)
        if audience is None:  # never stored; refused rather than guessed at
            return Decision(False, trust, "visibility", f"{visibility[:40]!r} is not an audience")
        if not audience.admits(trust):  # admitted implies it federates and the peer is not blocked
            if not audience.federates:
                return Decision(False, trust, f"visibility {audience!s}", f"{audience!s} posts never leave the node")
            if trust is _BLOCKED:
                return Decision(False, trust, rule, f"{domain} is blocked")
            return Decision(False, trust, rule, f"{domain or 'an anonymous reader'} is not trusted as {audience.rules.least_trust!s}")
        for content_rule in self.rules:
            if text and content_rule.holds(trust, text):
                return Decision(
                    False, trust, f'rules."{content_rule.name}"',
                    f"the text matches {content_rule.name!r}, kept from peers trusted below {content_rule.below!s}",
                )
        return Decision(True, trust, rule, f"{domain or 'an anonymous reader'} is trusted as {trust!s}")

    def media_in(self, domain: str) -> Decision:
        """May `domain`'s attachments come in with its posts (`reject_media`)? Asked only of
        a post the inbound policy admitted; a refusal keeps the text and drops the media."""
        trust, rule = self.trust_of(domain)
        peer = self.peer_rule(domain)
        if peer is not None and peer.reject_media:
            return Decision(False, trust, f'peers."{peer.pattern}".reject_media', f"attachments from {domain} are dropped")
        return Decision(True, trust, rule, f"attachments from {domain} are kept")

    def media_out(self, domain: str) -> Decision:
        """May our attachments go to `domain` with a post `outbound` admitted (`withhold_media`)?
        A refusal sends the text without them."""
        peer = self.peer_rule(domain)
        if peer is not None and peer.withhold_media:
            return Decision(False, peer.trust, f'peers."{peer.pattern}".withhold_media', f"attachments are withheld from {domain}")
        trust, rule = (peer.trust, f'peers."{peer.pattern}"') if peer is not None else self.trust_of(domain)
        return Decision(True, trust, rule, f"attachments go to {domain} with the post")

    def announcements_in(self, domain: str) -> Decision:
        """May `domain` announce to this node's people (`accept_announcements`)? Only an
        organisation peer whose rule says so; every other peer's announcement is refused."""
        trust, rule = self.trust_of(domain)
        if trust != Trust.ORGANIZATION:
            return Decision(False, trust, rule, f"{domain} is not an organisation peer (trusted as {trust!s})")
        peer = self.peer_rule(domain)
        if peer is None or not peer.accept_announcements:
            where = f'peers."{peer.pattern}".accept_announcements' if peer is not None else rule
            return Decision(False, trust, where, f"{domain} may not announce here (accept_announcements is not true)")
        return Decision(True, trust, f'peers."{peer.pattern}".accept_announcements', f"{domain} may announce here")

    def contact(self, domain: str) -> Decision:
        """May this node contact `domain` at all — fetch from it, look someone up there,
        deliver to it? Asked by the outbound gate before every request (node.contact);
        whether a given post may go there stays `outbound`'s question."""
        trust, rule = self.trust_of(domain)
        if trust is _BLOCKED:
            return Decision(False, trust, rule, f"{domain} is blocked")
        return Decision(True, trust, rule, f"{domain} is trusted as {trust!s}")

    def inbound(self, domain: str) -> Decision:
        """May `domain` send us anything at all?"""
        trust, rule = self.trust_of(domain)
        if trust is _BLOCKED:
            return Decision(False, trust, rule, f"{domain} is blocked")
        return Decision(True, trust, rule, f"{domain} is trusted as {trust!s}")


@dataclass(frozen=True)
class PolicyProblem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def parse_policy(text: str) -> tuple[Policy | None, list[PolicyProblem]]:
    """The policy, or None and every problem found, each with the line of the key it is about
    (a missing key: the line of its table)."""
    if (deep := nesting_problem(text)) is not None:  # a TOML bomb, refused before any parser reads it
        return None, [PolicyProblem(deep[0], f"not accepted: {deep[1]}")]
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        return None, [PolicyProblem(int(match.group(1)) if match else None, f"not valid TOML: {exc}")]
    lines = KeyLines(text)
    problems: list[PolicyProblem] = []
    for key in raw:
        if key not in TOP_KEYS:
            problems.append(PolicyProblem(lines.line(key), f"unknown key {key!r}; known: {', '.join(sorted(TOP_KEYS))}"))
    mode = raw.get("mode", "allowlist")
    if mode not in MODES:
        problems.append(PolicyProblem(lines.line("mode"), f"mode must be one of {', '.join(MODES)}, not {mode!r}"))
    default_trust = raw.get("default_trust", Trust.PUBLIC)
    if default_trust not in TRUST_LEVELS:
        problems.append(PolicyProblem(lines.line("default_trust"), f"default_trust must be one of {', '.join(TRUST_LEVELS)}, not {default_trust!r}"))
    peers_raw = raw.get("peers", {})
    rules: list[PeerRule] = []
    if not isinstance(peers_raw, dict):
        problems.append(PolicyProblem(lines.line("peers"), "peers must be a table of domains"))
        peers_raw = {}
    seen: dict[str, str] = {}
    for name, table in peers_raw.items():
        line = lines.line("peers", name)
        if not isinstance(table, dict):
            problems.append(PolicyProblem(line, f"peers.{name} must be a table with a trust key"))
            continue
        for key in table:
            if key not in PEER_KEYS:
                problems.append(PolicyProblem(lines.line("peers", name, key), f"peers.{name}: unknown key {key!r}; known: {', '.join(sorted(PEER_KEYS))}"))
        trust = table.get("trust")
        if trust not in TRUST_LEVELS:
            problems.append(PolicyProblem(lines.line("peers", name, "trust"), f"peers.{name}: trust must be one of {', '.join(TRUST_LEVELS)}, not {trust!r}"))
            continue
        flags = {key: table.get(key, False) for key in ("reject_media", "withhold_media", "accept_announcements")}
        wrong = [key for key, value in flags.items() if not isinstance(value, bool)]
        for key in wrong:
            problems.append(PolicyProblem(lines.line("peers", name, key), f"peers.{name}: {key} must be true or false"))
        if wrong:
            continue
        wildcard = name.startswith("*.")
        try:
            canon = canonical_domain(name[2:] if wildcard else name)
        except Invalid as exc:
            problems.append(PolicyProblem(line, f"peers.{name}: {exc.reason}"))
            continue
        if wildcard and is_address(canon):
            problems.append(PolicyProblem(line, f"peers.{name}: a wildcard covers the subdomains of a name, not an IP address"))
            continue
        pattern = f"*.{canon}" if wildcard else canon
        if pattern in seen:
            problems.append(PolicyProblem(line, f"peers.{name} is the same domain as peers.{seen[pattern]}"))
            continue
        seen[pattern] = name
        rules.append(PeerRule(pattern, Trust(trust), flags["reject_media"], flags["withhold_media"],
                              flags["accept_announcements"]))
    content_rules = _parse_rules(lines, raw.get("rules", []), problems)
    retention_problems: list[tuple[int | None, str]] = []
    retention = parse_retention(lines, raw.get("retention"), retention_problems)
    problems += [PolicyProblem(line, message) for line, message in retention_problems]
    if problems:
        return None, problems
    return Policy(mode=mode, default_trust=Trust(default_trust), peers=tuple(rules), rules=tuple(content_rules),
                  retention=retention), []


def _parse_rules(lines: KeyLines, raw: object, problems: list[PolicyProblem]) -> list[ContentRule]:
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        problems.append(PolicyProblem(lines.line("rules"), "rules must be an array of tables: [[rules]]"))
        return []
    out: list[ContentRule] = []
    names: set[str] = set()
    for n, table in enumerate(raw, 1):
        line = partial(lines.line, "rules", n - 1)
        name = table.get("name")
        where = f"rules #{n}" + (f" ({name})" if isinstance(name, str) else "")
        for key in table:
            if key not in RULE_KEYS:
                problems.append(PolicyProblem(line(key), f"{where}: unknown key {key!r}; known: {', '.join(sorted(RULE_KEYS))}"))
        if not isinstance(name, str) or not name:
            problems.append(PolicyProblem(line("name"), f"{where}: name is required"))
            continue
        if name in names:
            problems.append(PolicyProblem(line("name"), f"{where}: another rule has the same name"))
        names.add(name)
        pattern = table.get("pattern")
        below = table.get("below", Trust.ORGANIZATION)
        action = table.get("action", "refuse")
        if not isinstance(pattern, str) or not pattern:
            problems.append(PolicyProblem(line("pattern"), f"{where}: pattern is required"))
            continue
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(PolicyProblem(line("pattern"), f"{where}: pattern is not a valid regular expression: {exc}"))
            continue
        if below not in TRUST_LEVELS:
            problems.append(PolicyProblem(line("below"), f"{where}: below must be one of {', '.join(TRUST_LEVELS)}"))
            continue
        if action not in RULE_ACTIONS:
            problems.append(PolicyProblem(line("action"), f"{where}: action must be one of {', '.join(RULE_ACTIONS)}"))
            continue
        out.append(ContentRule(name, pattern, Trust(below), action))
    return out


_AUDIENCES = {a.value: a for a in Audience}  # the stored word -> its audience, for the hot path
_BLOCKED = Trust.BLOCKED  # a module name: an enum class's attribute is slow to read (node.audience)


class PolicyStore:
    """The policy in force, reloaded when its file changes; an invalid file never replaces a
    valid policy (the problems are logged and kept in `problems`).

    Given the node's database (`atrium serve`), the policy in force is the one shared by every
    process of the node (`node_settings['policy']`): `start()` and then `sync()` every
    second or so (the `syncing` loop) publish a change of the local file there and adopt a
    change made by another process or by `atrium policy apply`. A local edit still takes
    effect in its own process at once; the others follow at their next `sync()`."""

    def __init__(self, path: Path, db: Database | None = None) -> None:
        self.path = path
        self.db = db
        self._stamp: tuple[int, int] | None = None
        self._policy = Policy(mode="allowlist")  # admits no one until a valid file is read
        self.problems: list[PolicyProblem] = []
        self.version = 0  # version of the shared policy in force; 0: none adopted from the database
        self._unpublished: str | None = None  # a local file's text in force here, not yet shared
        # On SQLite a sync with nothing committed since the last one costs a stat(), not a query.
        self._database_changed = WhenChanged(db) if db is not None else None
        self.reload()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def reload(self) -> bool:
        """Read the file if it changed; True when a new policy took effect."""
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        if stamp is None:
            self.problems = [PolicyProblem(None, f"{self.path} is missing; keeping the policy in force")]
            if self.db is None:  # with a database the shared policy is the one in force
                log.error("%s", self.problems[0])
            return False
        text = self.path.read_text(encoding="utf-8", errors="replace")
        policy, problems = parse_policy(text)
        if policy is None:
            self.problems = problems
            log.error("policy %s refused, the previous one stays in force: %s", self.path, "; ".join(map(str, problems)))
            return False
        self._policy, self.problems, self._unpublished = policy, [], text
        log.info("policy %s in force", self.path)
        return True

    @property
    def policy(self) -> Policy:
        self.reload()  # one stat() per use: a changed file takes effect without a restart
        return self._policy

    async def start(self) -> None:
        """Agree with the other processes before serving: the local file becomes the shared
        policy when none is shared yet or the file was saved after the shared one was set (an
        edit made while the node was stopped); otherwise the shared one is adopted (a file
        left stale on one machine does not undo a newer change)."""
        if self.db is None:
            return
        shared = await shared_settings.read(self.db, shared_settings.POLICY)
        stamp = self._stamp
        if self._unpublished is not None and shared is not None and stamp is not None:
            saved = datetime.fromtimestamp(stamp[0] / 1e9, UTC)
            if saved <= shared.updated_at and shared.value != self._unpublished:
                log.warning("%s is older than the shared policy (version %d): using the shared one", self.path, shared.version)
                self._unpublished = None
        await self.sync()

    async def sync(self) -> bool:
        """Publish a local change, adopt a shared one; True when the policy here changed."""
        if self.db is None:
            return self.reload()
        changed = self.reload()
        if self._unpublished is not None:
            shared, _ = await shared_settings.publish(
                self.db, shared_settings.POLICY, self._unpublished, source=str(self.path)
            )
            self._unpublished = None
            if shared.version != self.version:
                log.info("policy version %d in force (published from %s)", shared.version, self.path)
            self.version = shared.version
            return changed
        assert self._database_changed is not None
        return await self._database_changed(self._adopt, False) or changed

    async def _adopt(self) -> bool:
        """Adopt a newer shared policy; True when the policy here changed."""
        assert self.db is not None
        if await shared_settings.version(self.db, shared_settings.POLICY) <= self.version:
            return False
        shared = await shared_settings.read(self.db, shared_settings.POLICY)
        if shared is None:
            return False
        self.version = shared.version  # an invalid one is reported once, not at every poll
        policy, problems = parse_policy(shared.value)
        if policy is None:
            self.problems = problems
            log.error("shared policy version %d refused, the previous one stays in force: %s", shared.version, "; ".join(map(str, problems)))
            return False
        self._policy, self.problems = policy, []
        log.info("policy version %d in force", shared.version)
        return True

    def syncing(self, every: float = 1.0) -> Periodic:
        """The loop that `sync()`s every `every` seconds: the bound on how long a policy change
        takes to reach this process. A failed sync (the database restarting) keeps the policy
        in force and is tried again (node/loops.py)."""
        return Periodic("policy sync", self.sync, every)
