"""Single sign-on through the company's OpenID provider, over real HTTP (a fake provider that
answers like a real one: tests/sso/fake_idp.py; the real one is in test_oidc_provider.py):
the account made just in time from the claims, found again by its subject, roles from the
group claim re-read at each sign-in, a provisioned account linked, a password account never
taken over, and `next` kept on this node. docs/identity.md ("Single sign-on (OpenID Connect)")."""

from __future__ import annotations

from sqlalchemy import select, update

from node.signin import must_enrol
from storage.db import Database
from storage.models import Account, AuditEntry
from tests.factory import running_node
from tests.sso.browser import browser, links, local_accounts
from tests.sso.fake_idp import ADMINS, MODERATORS, fake_idp, use_provider


async def test_first_sign_in_makes_the_account_and_the_next_finds_it_by_subject(db: Database) -> None:
    # Given a node with single sign-on and nobody on it
    async with fake_idp() as idp, running_node(db, instance=True) as node, browser(node.url) as b:
        use_provider(node.ctx, idp.issuer)
        # When Alice signs in through the provider, on her way to her notifications
        landed = await b.sso("/notifications")
        # Then she is signed in there, and her account was made from the claims
        assert landed.status == 200 and landed.url == f"{node.url}/notifications", landed.text[:500]
        assert b.signed_in()
        [alice] = await local_accounts(node.ctx)
        assert (alice.username, alice.display_name, alice.email) == ("alice", "Alice Liddell", "alice@acme.example")
        assert alice.password_hash is None and alice.role == "user"
        # and her settings say where her password and second factors are, offering no password form
        settings = await b.get(f"{node.url}/settings")
        assert "You sign in with your company account" in settings.text and "Current password" not in settings.text
        # When the provider renames her and she signs in again from another browser
        idp.person["preferred_username"] = "alice.liddell"
        async with browser(node.url) as again:
            assert (await again.sso("/")).status == 200 and again.signed_in()
        # Then it is still her one account (found by `sub`), and the audit trail says it was made
        assert [a.id for a in await local_accounts(node.ctx)] == [alice.id]
        async with node.ctx.db.reader() as s:
            rules = list(await s.scalars(select(AuditEntry.rule)))
        assert rules.count("account:sso-created") == 1


async def test_roles_follow_the_group_claim_at_each_sign_in(db: Database) -> None:
    async with fake_idp() as idp, running_node(db, instance=True) as node:
        use_provider(node.ctx, idp.issuer)

        async def role_after_sign_in() -> str:
            async with browser(node.url) as b:
                assert (await b.sso()).status == 200
            [alice] = await local_accounts(node.ctx)
            return alice.role

        # Given Alice in the admins' group, then moved to the moderators', then in neither
        idp.person["groups"] = [ADMINS, "staff"]
        assert await role_after_sign_in() == "admin"
        idp.person["groups"] = [MODERATORS]
        assert await role_after_sign_in() == "moderator"
        idp.person["groups"] = []
        assert await role_after_sign_in() == "user"
        async with node.ctx.db.reader() as s:
            assert (await s.scalars(select(AuditEntry.rule).where(AuditEntry.rule == "account:sso-role"))).all()


async def test_a_node_that_maps_no_groups_leaves_roles_alone(db: Database) -> None:
    async with fake_idp() as idp, running_node(db, instance=True) as node, browser(node.url) as b:
        use_provider(node.ctx, idp.issuer, groups=False)
        idp.person["groups"] = [ADMINS]
        assert (await b.sso()).status == 200
        [alice] = await local_accounts(node.ctx)
        assert alice.role == "user"


async def test_a_password_account_of_the_same_name_is_never_taken_over(db: Database) -> None:
    # Given a password account named alice, made before single sign-on
    async with fake_idp() as idp, running_node(db, instance=True, users=("alice",)) as node, browser(node.url) as b:
        use_provider(node.ctx, idp.issuer)
        # When someone whose provider username is alice signs in
        landed = await b.sso()
        # Then the node refuses with a reason, links nothing and signs nobody in
        assert landed.status == 409, landed.text[:500]
        assert "already exists on this node" in landed.text
        assert await links(node.ctx) == 0 and not b.signed_in()
        [alice] = await local_accounts(node.ctx)
        assert alice.password_hash is not None


async def test_a_provisioned_account_without_password_is_linked(db: Database) -> None:
    # Given an account provisioned from the directory (no password, no link yet)
    async with fake_idp() as idp, running_node(db, instance=True, users=("alice",)) as node, browser(node.url) as b:
        use_provider(node.ctx, idp.issuer)
        async with node.ctx.db.session() as s:
            await s.execute(update(Account).where(Account.username == "alice").values(password_hash=None))
        [provisioned] = await local_accounts(node.ctx)
        # When Alice signs in through the provider
        assert (await b.sso()).status == 200 and b.signed_in()
        # Then she is that account, now linked
        assert [a.id for a in await local_accounts(node.ctx)] == [provisioned.id]
        assert await links(node.ctx) == 1


async def test_usernames_are_made_valid_and_a_bad_one_is_refused(db: Database) -> None:
    async with fake_idp() as idp, running_node(db, instance=True) as node:
        use_provider(node.ctx, idp.issuer)
        idp.person |= {"sub": "1", "preferred_username": "Zoë O'Brien-Smith@acme.example"}
        async with browser(node.url) as b:
            assert (await b.sso()).status == 200
        idp.person |= {"sub": "2", "preferred_username": "...@acme.example"}
        async with browser(node.url) as b:
            refused = await b.sso()
        assert refused.status == 400 and "gives no valid username" in refused.text
        assert [a.username for a in await local_accounts(node.ctx)] == ["Zoe_O_Brien-Smith"]


async def test_staff_second_factor_rule_is_for_password_accounts_only(db: Database) -> None:
    # Given a node requiring a second factor of admins, and Alice an admin by her groups
    async with fake_idp() as idp, running_node(db, instance=True, second_factor_roles=frozenset({"admin"})) as node, \
            browser(node.url) as b:
        use_provider(node.ctx, idp.issuer)
        idp.person["groups"] = [ADMINS]
        # When she signs in through the provider, whose own factors the company requires
        landed = await b.sso("/notifications")
        # Then she is not sent to enrol one here
        assert landed.url == f"{node.url}/notifications"
        [alice] = await local_accounts(node.ctx)
        assert alice.role == "admin" and not await must_enrol(node.ctx, alice)


async def test_next_never_leaves_the_node(db: Database) -> None:
    async with fake_idp() as idp, running_node(db, instance=True) as node:
        use_provider(node.ctx, idp.issuer)
        for hostile in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            async with browser(node.url) as b:
                landed = await b.sso(hostile)
            assert landed.status == 200 and landed.url == f"{node.url}/", (hostile, landed.url)


async def test_the_sign_in_page_offers_the_provider(db: Database) -> None:
    async with fake_idp() as idp, running_node(db, instance=True) as node, browser(node.url) as b:
        use_provider(node.ctx, idp.issuer)
        page = await b.get(f"{node.url}/signin?next=/notifications")
        assert "Sign in with Acme ID" in page.text and "/auth/oidc?next=/notifications" in page.text
        assert 'name="password"' in page.text

