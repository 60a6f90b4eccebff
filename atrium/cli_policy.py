"""`atrium policy check|explain|apply` and `atrium audit export|verify|anchor`."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from federation.announcement_ap import is_announcement
from federation.parsing import InvalidActivity, ap_to_post, parse_activity
from node import audit, policy_edit
from node import settings as settings_mod
from node.audience import Audience
from node.domains import canonical_domain
from node.holds import is_held
from node.media_out import Outgoing, judged_text, outgoing
from node.outbox import post_text
from node.policy import Decision, Policy, parse_policy
from node.retention import Expiry, describe
from storage.db import Database
from storage.errors import AtriumError, Invalid, NotFound
from storage.models import Post


class PolicyInvalid(AtriumError):
    status = 422


def _load_policy(data_dir: Path) -> Policy:
    path = data_dir / settings_mod.POLICY_FILE
    if not path.is_file():
        raise Invalid(f"no policy file at {path}")
    policy, problems = parse_policy(path.read_text(encoding="utf-8", errors="replace"))
    if policy is None:
        raise PolicyInvalid(f"{path}:{problems[0].line or 1}: {problems[0].message} (run `atrium policy check`)")
    return policy


def cmd_check(args: argparse.Namespace, data_dir: Callable[[argparse.Namespace], Path]) -> int:
    path = data_dir(args) / settings_mod.POLICY_FILE
    if not path.is_file():
        raise Invalid(f"no policy file at {path}")
    policy, problems = policy_edit.check(path.read_text(encoding="utf-8", errors="replace"))
    if policy is None:
        for line in policy_edit.problem_lines(problems, str(path)):
            print(line, file=sys.stderr)
        print(f"atrium: {len(problems)} problem(s) in {path}; the node keeps the last valid policy", file=sys.stderr)
        return 1
    print(f"{path}: valid — {policy_edit.summary(policy)}")
    return 0


def cmd_apply(args: argparse.Namespace, data_dir: Callable[[argparse.Namespace], Path]) -> int:
    """Make a policy file the one every process of the node enforces (they poll the database
    for it, so a multi-process node changes policy everywhere without a restart): the node's
    one way, node/policy_edit.py `apply`, which the admin's editor in the web UI calls too."""
    ddir = data_dir(args)
    settings = settings_mod.load(ddir)
    path = Path(args.file) if args.file else ddir / settings_mod.POLICY_FILE
    if not path.is_file():
        raise Invalid(f"no policy file at {path}")
    text = path.read_text(encoding="utf-8", errors="replace")

    async def run() -> policy_edit.Applied:
        db = Database(settings.resolved_database_url)
        try:
            return await policy_edit.apply(db, text, source=f"atrium policy apply {path}")
        finally:
            await db.dispose()

    try:
        applied = asyncio.run(run())
    except policy_edit.PolicyProblems as exc:
        for line in policy_edit.problem_lines(exc.problems, str(path)):
            print(line, file=sys.stderr)
        print(f"atrium: {len(exc.problems)} problem(s) in {path}; nothing applied", file=sys.stderr)
        return 1
    if applied.changed:
        print(f"policy version {applied.version} applied from {path}: every process of the node enforces it within seconds")
    else:
        print(f"policy unchanged: {path} is already version {applied.version}")
    return 0


def _print_decision(args: argparse.Namespace, direction: str, peer: str, obj: str, verdict: str, d: Decision,
                    media: dict[str, object] | None = None) -> None:
    if args.json:
        print(json.dumps({"direction": direction, "peer": peer, "object": obj, "decision": verdict,
                          "trust": d.trust, "rule": d.rule, "reason": d.reason, "media": media}))
    else:
        print(f"{verdict}: {d.reason}")
        print(f"  peer {peer} is trusted as {d.trust}; decided by {d.rule}")
        if media is not None:
            print(f"  media: {media['attachments']} attachment(s) {media['decision']}; {media['reason']} ({media['rule']})")


def _media(count: int, d: Decision, *, allowed: str, refused: str) -> dict[str, object]:
    """What happens to a post's attachments at the boundary (`withhold_media`, `reject_media`)."""
    return {"attachments": count, "decision": allowed if d.allowed else refused, "rule": d.rule, "reason": d.reason}


async def _find_post(db: Database, ref: str) -> Post:
    async with db.reader() as s:
        stmt = select(Post).where(or_(Post.uri == ref, Post.url == ref))
        if ref.isdigit() and len(ref) < 20:
            stmt = select(Post).where(Post.id == int(ref))
        post = await s.scalar(stmt)
    if post is None:
        raise NotFound(f"no post {ref!r} on this node")
    return post


def _explain_retention(args: argparse.Namespace, settings: settings_mod.Settings, policy: Policy) -> int:
    """`policy explain --post POST` without a peer: how long the post is kept, by which rule."""
    async def load() -> tuple[Post, bool]:
        db = Database(settings.resolved_database_url)
        try:
            post = await _find_post(db, args.post)
            async with db.reader() as s:
                return post, await is_held(s, post.account_id)
        finally:
            await db.dispose()

    post, held = asyncio.run(load())
    rule = policy.retention.rule_for(local=post.local, visibility=post.visibility)
    expiry = Expiry(rule, rule.expires(post.created_at) if rule is not None else None, held)
    now = datetime.now(UTC)
    if args.json:
        print(json.dumps({"object": post.uri or str(post.id), "retention": rule.key if rule else None,
                          "days": rule.days if rule else None,
                          "expires_at": expiry.expires_at.isoformat() if expiry.expires_at else None,
                          "held": held, "explanation": describe(expiry, now)}))
    else:
        print(f"{post.visibility} post {post.uri or post.id}, {'of this node' if post.local else 'a copy of a peer' + chr(39) + 's'}")
        print(f"  {describe(expiry, now)}")
    return 0


def cmd_explain(args: argparse.Namespace, data_dir: Callable[[argparse.Namespace], Path]) -> int:
    ddir = data_dir(args)
    settings = settings_mod.load(ddir)
    policy = _load_policy(ddir)
    if (args.post is None) == (args.inbound is None):
        raise Invalid("give either --post POST or --inbound ACTIVITY_JSON_FILE")
    if args.peer is None:
        if args.post is None:
            raise Invalid("--inbound needs --peer DOMAIN: the peer it arrives from")
        return _explain_retention(args, settings, policy)
    peer = canonical_domain(args.peer)
    if args.post is not None:
        async def load() -> tuple[Post, Outgoing]:
            db = Database(settings.resolved_database_url)
            try:
                post = await _find_post(db, args.post)
                async with db.reader() as s:
                    return post, await outgoing(settings.base_url, s, post.id)
            finally:
                await db.dispose()

        post, attached = asyncio.run(load())
        d = policy.outbound(post.visibility, peer, judged_text(post_text(post), attached))
        media = None
        if d.allowed and attached.attachments:
            media = _media(len(attached.attachments), policy.media_out(peer), allowed="go with it", refused="withheld")
        _print_decision(args, "out", peer, post.uri or str(post.id), "allowed" if d.allowed else "refused", d, media)
        return 0
    try:
        doc = json.loads(Path(args.inbound).read_text(encoding="utf-8"))
        activity = parse_activity(doc)
    except OSError as exc:
        raise Invalid(f"cannot read {args.inbound}: {exc.strerror}") from exc
    except (ValueError, InvalidActivity) as exc:
        raise Invalid(f"{args.inbound} is not a usable activity: {getattr(exc, 'reason', exc)}") from exc
    d = policy.inbound(peer)
    verdict = "accepted" if d.allowed else "refused"
    if d.allowed and activity.type in ("Create", "Update") and is_announcement(activity.object):
        # An organisation-wide announcement: shown here only if the peer may announce.
        d = policy.announcements_in(peer)
        _print_decision(args, "in", peer, activity.id, "accepted" if d.allowed else "refused", d)
        return 0
    media = None
    if d.allowed and activity.type in ("Create", "Update") and activity.object is not None:
        try:
            note = ap_to_post(activity.object)
        except InvalidActivity:
            note = None
        media_in = policy.media_in(peer)
        if note is not None and note.attachments:
            media = _media(len(note.attachments), media_in, allowed="kept", refused="dropped")
        if note is not None and note.scope == Audience.ORGANIZATION and not Audience.ORGANIZATION.admits(d.trust):
            verdict, d = "rewritten", Decision(True, d.trust, d.rule, "an organization post from a peer not trusted as organization is kept to followers")
        elif media is not None and not media_in.allowed:
            verdict, d = "rewritten", Decision(True, d.trust, media_in.rule, "attachments are dropped")
    _print_decision(args, "in", peer, activity.id, verdict, d, media)
    return 0


def cmd_audit_export(args: argparse.Namespace, data_dir: Callable[[argparse.Namespace], Path]) -> int:
    settings = settings_mod.load(data_dir(args))
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since.replace("Z", "+00:00"))
        except ValueError as exc:
            raise Invalid(f"--since is not an ISO-8601 time: {args.since!r}") from exc
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)

    async def run() -> int:
        db = Database(settings.resolved_database_url)
        n = 0
        try:
            async for entry in audit.entries(db, since=since, peer=args.peer, decision=args.decision):
                sys.stdout.write(json.dumps(audit.as_dict(entry)) + "\n")
                n += 1
        finally:
            await db.dispose()
        return n

    n = asyncio.run(run())
    print(f"exported {n} entries", file=sys.stderr)
    return 0


def cmd_audit_verify(args: argparse.Namespace, data_dir: Callable[[argparse.Namespace], Path]) -> int:
    anchor = args.anchor.strip().lower() if args.anchor is not None else None
    if anchor is not None and not _SHA256.fullmatch(anchor):
        raise Invalid("--anchor must be a head hash as `atrium audit anchor` prints it: 64 hexadecimal digits")
    settings = settings_mod.load(data_dir(args))

    async def run() -> audit.ChainCheck:
        db = Database(settings.resolved_database_url)
        try:
            return await audit.verify(db, anchor=anchor)
        finally:
            await db.dispose()

    check = asyncio.run(run())
    if not check.ok:
        where = f" at entry {check.broken_at}" if check.broken_at is not None else ""
        print(f"atrium: the audit trail is broken{where}: {check.reason}", file=sys.stderr)
        return 1
    held = ""
    if check.anchored_at == 0:
        held = "; the anchor is the empty trail's, which proves nothing about the entries"
    elif check.anchored_at is not None:
        held = f"; the anchor is entry {check.anchored_at}'s hash"
    print(f"audit trail intact: {check.checked} entries chain correctly{held}")
    return 0


_SHA256 = re.compile(r"[0-9a-f]{64}")


def cmd_audit_anchor(args: argparse.Namespace, data_dir: Callable[[argparse.Namespace], Path]) -> int:
    """Print the chain's head: keep the line somewhere the node cannot write, and later give its
    hash to `atrium audit verify --anchor` (docs/compliance.md, "The audit trail")."""
    settings = settings_mod.load(data_dir(args))

    async def run() -> audit.Anchor:
        db = Database(settings.resolved_database_url)
        try:
            return await audit.anchor(db)
        finally:
            await db.dispose()

    head = asyncio.run(run())
    at = head.at.isoformat(timespec="microseconds") if head.at is not None else "-"
    print(f"{head.hash} entry {head.entry} at {at}")
    return 0


def add_commands(sub: argparse._SubParsersAction[Any], data_dir_arg: Callable[[argparse.ArgumentParser], None],
                 parser_class: type[argparse.ArgumentParser], data_dir: Callable[[argparse.Namespace], Path]) -> None:
    policy = sub.add_parser("policy", help="check and explain the trust policy")
    psub = policy.add_subparsers(dest="policy_command", required=True, parser_class=parser_class)
    sp = psub.add_parser("check", help="validate policy.toml: every mistake with its line")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_check(a, data_dir))
    sp = psub.add_parser("explain", help="the decision for a post or an inbound activity, and the rule that made it")
    data_dir_arg(sp)
    sp.add_argument("--peer", help="the peer domain, HOST[:PORT]; without it, --post explains the post's retention")
    sp.add_argument("--post", help="a post: the id the client API shows, or its URL")
    sp.add_argument("--inbound", metavar="ACTIVITY_JSON_FILE", help="an activity as a peer would send it")
    sp.add_argument("--json", action="store_true", help="one JSON object instead of text")
    sp.set_defaults(func=lambda a: cmd_explain(a, data_dir))

    sp = psub.add_parser("apply", help="make policy.toml (or FILE) the policy every process of the node enforces")
    data_dir_arg(sp)
    sp.add_argument("--file", help="the policy to apply (default: the data directory's policy.toml)")
    sp.set_defaults(func=lambda a: cmd_apply(a, data_dir))

    aud = sub.add_parser("audit", help="the audit trail of boundary decisions")
    asub = aud.add_subparsers(dest="audit_command", required=True, parser_class=parser_class)
    sp = asub.add_parser("export", help="write the trail as JSON lines to standard output")
    data_dir_arg(sp)
    sp.add_argument("--since", help="only entries at or after this ISO-8601 time")
    sp.add_argument("--peer", help="only entries about this peer domain")
    sp.add_argument("--decision", choices=audit.DECISIONS, help="only entries with this decision")
    sp.set_defaults(func=lambda a: cmd_audit_export(a, data_dir))
    sp = asub.add_parser("verify", help="check that no entry was altered or removed")
    data_dir_arg(sp)
    sp.add_argument("--anchor", metavar="HASH", help="a head hash `atrium audit anchor` printed: it must still be in the chain")
    sp.set_defaults(func=lambda a: cmd_audit_verify(a, data_dir))
    sp = asub.add_parser("anchor", help="print the chain's head hash with its entry number and time, to keep elsewhere")
    data_dir_arg(sp)
    sp.set_defaults(func=lambda a: cmd_audit_anchor(a, data_dir))
