"""An audience is a type, not a string: no module of the application writes one of the six
audience names as a bare string literal outside the few files that define what the names
mean (node/audience.py) or write them on a wire or in a table. Everywhere else asks
`node.audience.Audience` — a member, or one of the rules it carries — so a new rule about who
a post reaches cannot be written a second time, in a second spelling, beside the first.

Checked over the syntax tree of every module (storage's migrations excepted: they are
history, frozen as they ran). Two of the names are also trust levels (`public`,
`organization`); trust levels are a type too (node/trust.py), so in code a bare word is never
either and is always reported. A word that means something else in a file (the `followers`
collection, the `public` stream) is an exception listed with its file, its count and why.
"""

from __future__ import annotations

import ast
import textwrap
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("atrium", "node", "federation", "web", "storage")
SKIPPED = ("storage/migrations/",)  # history: each migration stays as it ran
WORDS = frozenset({"public", "unlisted", "followers", "direct", "organization", "local"})
# The files that may write the names, each for one reason.
ALLOWED_FILES = {
    "node/audience.py": "the definition: the six audiences, their rules and Mastodon's words for them",
    "node/trust.py": "the trust levels, a different type two of whose names are the same words",
    "storage/models/base.py": "the storage column's enumeration (storage cannot import the node)",
    "storage/models/social.py": "the storage column's definition: its default, and an index on the `local` column",
    "storage/models/compliance.py": "a profile field's scope column, public or organisation-only (storage cannot import the node)",
    "federation/addressing.py": "the ActivityPub wire format of each audience in to/cc and audience_scope (read and written)",
    "federation/builders.py": "an actor document's `followers` property (ActivityPub's word)",
    "federation/parsing.py": "an actor document's `followers` property, read (ActivityPub's word)",
}
# (file, word) -> (how many times, why): the word names something other than an audience there.
OTHER_MEANINGS = {
    ("web/activitypub.py", "followers"): (2, "the followers collection's route, not an audience"),
    ("web/api/accounts.py", "followers"): (2, "which list of accounts the client API returns"),
    ("web/ui/pages_people.py", "followers"): (3, "which list of people a page shows"),
    ("web/ui/pages_timelines.py", "organization"): (2, "the Organisation timeline's name in its page's table"),
    ("web/ui/pages_timelines.py", "local"): (2, "the local timeline's name in its page's table"),
    ("web/api/streaming.py", "public"): (2, "Mastodon's `public` streaming path and stream"),
    ("web/api/stream_hub.py", "public"): (1, "Mastodon's `public` stream"),
    ("node/filters_match.py", "public"): (1, "Mastodon's `public` filter context (the shared timelines)"),
    ("web/api/timelines.py", "local"): (1, "Mastodon's `local` query parameter of the public timeline"),
    ("web/api/directory.py", "local"): (1, "Mastodon's `local` query parameter of the profile directory"),
    ("node/profile_fields.py", "organization"): (1, "the Account column the company directory fills (`organization`)"),
    ("storage/media_store.py", "local"): (1, "the media store in the data directory, as `media.storage` names it"),
    ("node/scim_schema.py", "local"): (2, "the `.local` mail domain email-validator refuses, accepted for directories"),
    ("node/scim_users.py", "direct"): (1, "SCIM's `direct` group membership (RFC 7643 §4.1.2), not an audience"),
}


@dataclass(frozen=True)
class Literal:
    module: str
    line: int
    word: str


def literals(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[Literal]:
    """Every string literal that is one of the audience names, in `packages` under `root`,
    outside the allowed files and beyond each file's listed other meanings."""
    found: list[Literal] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            module = path.relative_to(root).as_posix()
            if module in ALLOWED_FILES or module.startswith(SKIPPED):
                continue
            by_word: dict[str, list[Literal]] = defaultdict(list)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=module)):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in WORDS:
                    by_word[node.value].append(Literal(module, node.lineno, node.value))
            for word, sites in by_word.items():
                allowed, _ = OTHER_MEANINGS.get((module, word), (0, ""))
                if len(sites) > allowed:
                    found.extend(sorted(sites, key=lambda s: s.line))
    return found


def test_no_audience_is_written_as_a_string_outside_its_definition() -> None:
    # Given every module of the application packages
    # When their syntax trees are searched for the six audience names as string literals
    found = literals(ROOT)
    # Then there are none outside the definition, the storage column and the wire formats
    assert found == [], "use node.audience.Audience (or node.trust.Trust) instead:\n" + "\n".join(
        f"{v.module}:{v.line}: {v.word!r}" for v in found
    )


def test_every_exception_is_still_needed() -> None:
    # Given the allowed files and the listed other meanings
    # Then each still exists and still holds the word as often as listed: an exception no
    # longer needed is removed rather than left open for a new literal to use
    for module in ALLOWED_FILES:
        assert (ROOT / module).is_file(), module
    for (module, word), (count, _) in OTHER_MEANINGS.items():
        tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
        seen = sum(isinstance(n, ast.Constant) and n.value == word for n in ast.walk(tree))
        assert seen == count, f"{module}: {word!r} {seen} times, listed {count}"


PLANTED = {
    "node/sneaky.py": """
        from node.audience import Audience

        NARROW = ("organization", "local")

        def federates(post, policy, domain):
            if post.visibility == "local":
                return False
            return policy.outbound("direct", domain).allowed and post.visibility in NARROW

        def trusted(trust):
            return trust == "public"
    """,
    "web/ui/pages_people.py": """
        def page(which):
            # the listed other meaning, three times: fine
            a = which == "followers"
            b = "followers"
            c = f"{'Followers of' if which == 'followers' else 'x'}"
            return a, b, c
    """,
    "web/api/accounts.py": """
        def people(which, post):
            # two listed (collection names) and one more: the file goes over its count
            a = which == "followers"
            b = "followers"
            return post.visibility == "followers"
    """,
    "web/fine.py": '''
        """Public posts, local timelines and followers, in words: fine."""
        from node.audience import Audience

        def fine(post):
            words = "public and local"
            return post.visibility == Audience.LOCAL and Audience(post.visibility).boostable, words
    ''',
}


def test_the_checker_catches_a_planted_literal(tmp_path: Path) -> None:
    # Given a tree with a module that spells audiences and a trust level as strings, a module
    # within its listed other meanings, one over them, and one that only uses the type
    for name, source in PLANTED.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(source), encoding="utf-8")
    # When the checker reads it
    found = literals(tmp_path, ("node", "web"))
    # Then every bare audience (and the trust level) is reported at its line, the file over
    # its count is reported whole, and nothing else is
    assert {(v.module, v.word) for v in found} == {
        ("node/sneaky.py", "organization"),
        ("node/sneaky.py", "local"),
        ("node/sneaky.py", "direct"),
        ("node/sneaky.py", "public"),
        ("web/api/accounts.py", "followers"),
    }
    assert sum(v.module == "node/sneaky.py" for v in found) == 5
    assert sum(v.module == "web/api/accounts.py" for v in found) == 3
    assert all(v.line > 1 for v in found)
