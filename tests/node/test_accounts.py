"""Accounts: creation rules, authentication, disabling, roles, the first admin, lazy keys."""

from __future__ import annotations

import pytest

from node import accounts
from node.actors import person_document
from node.context import NodeContext
from node.instance import create_instance, has_admin
from storage.errors import Conflict, Forbidden, Invalid, NotFound
from storage.models import Account
from tests.node.conftest import PASSWORD


async def test_create_user_and_sign_in_by_username_or_email(ctx: NodeContext) -> None:
    # Given a new user with an email
    await accounts.create_user(ctx, "Alice", "s3cret-pass", email="alice@acme.test", display_name="Alice A.")
    # When she signs in by username (any case) or by email
    by_name = await accounts.authenticate(ctx, "alice", "s3cret-pass", client="127.0.0.1")
    by_email = await accounts.authenticate(ctx, "ALICE@acme.test", "s3cret-pass", client="127.0.0.1")
    # Then both find her account, and the password is not stored in the clear
    assert by_name.id == by_email.id
    assert by_name.display_name == "Alice A."
    assert by_name.password_hash and "s3cret-pass" not in by_name.password_hash
    assert by_name.password_hash.startswith("$argon2id$")


async def test_wrong_password_and_unknown_user_get_the_same_answer(ctx: NodeContext, alice: Account) -> None:
    with pytest.raises(Forbidden) as wrong:
        await accounts.authenticate(ctx, "alice", "not her password", client="127.0.0.1")
    with pytest.raises(Forbidden) as unknown:
        await accounts.authenticate(ctx, "nobody", "whatever-else", client="127.0.0.1")
    assert wrong.value.status == unknown.value.status == 401
    assert wrong.value.reason == unknown.value.reason


async def test_usernames_are_unique_case_insensitively(ctx: NodeContext, alice: Account) -> None:
    with pytest.raises(Conflict):
        await accounts.create_user(ctx, "ALICE", "another-password")


async def test_a_remote_account_may_share_a_local_username(ctx: NodeContext, alice: Account, make_account) -> None:  # type: ignore[no-untyped-def]
    remote = await make_account("alice", domain="sales.acme.test")
    assert remote.id != alice.id and remote.acct() == "alice@sales.acme.test" and alice.acct() == "alice"


@pytest.mark.parametrize("bad", ["", "a b", "x" * 31, "bad/name", "-dash", "dot.", "émile", "a@b"])
async def test_invalid_usernames_are_refused(ctx: NodeContext, bad: str) -> None:
    with pytest.raises(Invalid):
        await accounts.create_user(ctx, bad, "long-enough-password")


async def test_short_password_is_refused(ctx: NodeContext) -> None:
    with pytest.raises(Invalid, match="too short"):
        await accounts.create_user(ctx, "dora", "short")


async def test_disable_blocks_sign_in_and_voids_credentials(ctx: NodeContext, alice: Account) -> None:
    # Given alice's credentials version before
    before = alice.credentials_version
    # When an operator disables her
    disabled = await accounts.disable(ctx, "alice")
    # Then she cannot sign in and her earlier sessions/tokens are void (version bumped)
    assert disabled.disabled and disabled.credentials_version == before + 1
    with pytest.raises(Forbidden, match="disabled"):
        await accounts.authenticate(ctx, "alice", PASSWORD, client="127.0.0.1")
    # And enabling her lets her in again
    await accounts.enable(ctx, "alice")
    assert (await accounts.authenticate(ctx, "alice", PASSWORD, client="127.0.0.1")).id == alice.id


async def test_set_password_and_role(ctx: NodeContext, alice: Account) -> None:
    await accounts.set_password(ctx, "alice", "a-brand-new-password")
    with pytest.raises(Forbidden):
        await accounts.authenticate(ctx, "alice", PASSWORD, client="127.0.0.1")
    assert (await accounts.authenticate(ctx, "alice", "a-brand-new-password", client="127.0.0.1")).id == alice.id
    assert (await accounts.set_role(ctx, "alice", "moderator")).role == "moderator"
    with pytest.raises(Invalid):
        await accounts.set_role(ctx, "alice", "overlord")
    with pytest.raises(NotFound):
        await accounts.set_role(ctx, "nobody", "admin")


async def test_first_admin_needs_the_one_time_token(ctx: NodeContext) -> None:
    # Given a fresh node with its setup token
    token = await create_instance(ctx.db, ctx.domain)
    assert not await has_admin(ctx.db)
    # When someone tries a wrong token, nothing is created
    with pytest.raises(Forbidden, match="wrong setup token"):
        await accounts.claim_first_admin(ctx, "guess", "mallory", "mallory-password")
    assert await accounts.list_users(ctx) == []
    # When the operator uses the right one, they become admin
    admin = await accounts.claim_first_admin(ctx, token, "root", "root-password")
    assert admin.role == "admin" and await has_admin(ctx.db)
    # Then the token is spent: it cannot make a second admin
    with pytest.raises(Forbidden, match="already been set up"):
        await accounts.claim_first_admin(ctx, token, "second", "second-password")


async def test_keys_are_made_on_first_need_only(ctx: NodeContext, alice: Account) -> None:
    # Given a new account: no key pair yet (bulk creation does not pay for RSA)
    assert alice.private_key_pem is None
    # When its keys are first needed
    first = await accounts.ensure_keys(ctx, alice.id)
    second = await accounts.ensure_keys(ctx, alice.id)
    # Then a pair exists and stays the same afterwards
    assert first.private_key_pem and "BEGIN PRIVATE KEY" in first.private_key_pem
    assert first.public_key_pem and "BEGIN PUBLIC KEY" in first.public_key_pem
    assert second.private_key_pem == first.private_key_pem


async def test_profile_update_limits(ctx: NodeContext, alice: Account) -> None:
    updated = await accounts.update_profile(ctx, alice.id, display_name="Alice", bio="Engineering", locked=True)
    assert (updated.display_name, updated.bio, updated.locked) == ("Alice", "Engineering", True)
    with pytest.raises(Invalid):
        await accounts.update_profile(ctx, alice.id, bio="x" * 5000)


async def test_a_bio_reaches_other_servers_as_escaped_text(ctx: NodeContext, alice: Account) -> None:
    # Given a bio typed with markup in it
    await accounts.update_profile(ctx, alice.id, bio='<script>x()</script> I work on #infra <b>hard</b>')
    # When the actor document other servers fetch is built
    doc = await person_document(ctx, await accounts.get_account(ctx, alice.id))
    # Then the markup arrives as text, and the hashtag as a link
    summary = str(doc["summary"])
    assert "<script>" not in summary and "<b>" not in summary
    assert "&lt;script&gt;" in summary and f'href="{ctx.tag_url("infra")}"' in summary
