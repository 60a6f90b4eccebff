"""Query plan of the Organisation timeline under a policy with a wildcard organisation rule
and a more specific rule carved out of it: the author's domain is matched on the author's row,
read by its primary key; posts and moderated accounts are read through their indexes, as
before wildcards counted (node/organization.py)."""

from __future__ import annotations

from node.policy import PeerRule, Policy
from node.timelines import organization_posts
from storage.db import Database
from storage.models import Post
from tests.storage.test_plans import _plan


async def test_the_organisation_timeline_with_a_wildcard_keeps_its_index_scans(db: Database) -> None:
    # Given organisation peers by wildcard and by name, and a partner host under the wildcard
    org = Policy(peers=(
        PeerRule("*.acme.example", "organization"),
        PeerRule("x.acme.example", "partner"),
        PeerRule("sales.example", "organization"),
    )).organization_domains()
    # When the database plans the first page of the timeline
    plan = await _plan(db, organization_posts(org).order_by(Post.id.desc()).limit(20))
    # Then authors are read by their key, never by scanning accounts or posts
    assert "ix_accounts_unlisted" in plan, plan
    assert ("SEARCH accounts USING" in plan) or ("accounts_pkey" in plan), plan
    for table in ("accounts", "posts"):
        assert f"SCAN {table}\n" not in plan + "\n" and f"Seq Scan on {table}" not in plan, plan
